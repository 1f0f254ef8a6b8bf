"""Outgoing deliveries against a real receiver on 127.0.0.1 that verifies every signature with
the Standard Webhooks reference library. Retries and disabling run on an explicit clock."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from contacts.services import contact_create
from tasks.services import task_create
from webhooks import delivery
from webhooks.models import Webhook, WebhookDelivery, WebhookLog
from webhooks.services import webhook_rotate_secret
from webhooks.tests.factories import webhook_factory
from whatshybrid.api.testing import assert_json_error
from whatshybrid.api.tests.listeners import Listener
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


def later(seconds: float = 1) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def test_an_event_writes_one_delivery_per_matching_active_webhook_in_its_transaction(
    workspace, other_workspace, receiver
) -> None:
    wants = webhook_factory(workspace=workspace, url=receiver.url, events=["contact:created"])
    everything = webhook_factory(workspace=workspace, url=receiver.url, events=["*"])
    webhook_factory(workspace=workspace, url=receiver.url, events=["task:created"])
    webhook_factory(workspace=workspace, url=receiver.url, active=False)
    webhook_factory(workspace=other_workspace, url=receiver.url)

    contact = contact_create(workspace=workspace, phone="+5511988887777", name="Ana")
    rows = WebhookDelivery.objects.filter(event_type="contact:created")
    assert {row.webhook_id for row in rows} == {wants.pk, everything.pk}
    body = json.loads(rows.first().body)
    assert body["type"] == "contact:created" and body["workspace_id"] == str(workspace.pk)
    assert body["data"]["id"] == str(contact.pk) and body["timestamp"]

    with pytest.raises(RuntimeError), transaction.atomic():
        contact_create(workspace=workspace, phone="+5511977776666")
        raise RuntimeError("the write fails")
    assert WebhookDelivery.objects.filter(event_type="contact:created").count() == 2  # rolled back with it


def test_a_delivery_is_signed_per_the_standard_and_verified_by_the_reference_library(workspace, receiver) -> None:
    hook = webhook_factory(workspace=workspace, url=receiver.url, headers={"X-Tenant": "ana"})
    receiver.secrets = [hook.secret]
    task_create(workspace=workspace, title="Ligar")
    assert delivery.deliveries_send(now=later()) == 1

    (received,) = receiver.requests
    assert received.verified_with == [0]
    row = WebhookDelivery.objects.get()
    assert received.headers["webhook-id"] == f"msg_{row.pk.hex}"
    assert received.headers["x-tenant"] == "ana" and received.headers["content-type"] == "application/json"
    assert received.body.decode() == row.body
    assert set(json.loads(received.body)) == {"type", "timestamp", "workspace_id", "data"}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == ("succeeded", 1, 200)
    (log,) = WebhookLog.objects.all()
    assert (log.success, log.status_code, log.response_excerpt, log.error_class) == (True, 200, '{"ok": true}', "")
    assert delivery.deliveries_send(now=later()) == 0  # done: never sent twice


def test_retries_back_off_with_jitter_keep_the_webhook_id_and_never_follow_redirects(
    workspace, receiver, settings
) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800]
    receiver.check_timestamp = False
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    receiver.secrets = [hook.secret]
    receiver.statuses = [500, 503, 302, 200]
    task_create(workspace=workspace, title="Ligar")
    row = WebhookDelivery.objects.get()
    clock = later()
    waits = []
    for expected in (5, 300, 1800):
        assert delivery.deliveries_send(now=clock) == 1
        row.refresh_from_db()
        wait = (row.next_attempt_at - clock).total_seconds()
        assert expected * 0.8 <= wait <= expected * 1.2 and row.status == "pending"
        hook.refresh_from_db()
        assert hook.failing_since is not None
        assert delivery.deliveries_send(now=clock + timedelta(seconds=wait - 1)) == 0  # not due yet
        waits.append(wait)
        clock += timedelta(seconds=wait)
    assert delivery.deliveries_send(now=clock) == 1
    row.refresh_from_db()
    hook.refresh_from_db()
    assert (row.status, row.attempts, hook.failing_since) == ("succeeded", 4, None)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [f"msg_{row.pk.hex}"] * 4
    assert all(r.verified_with == [0] and r.body.decode() == row.body for r in receiver.requests)
    logs = list(WebhookLog.objects.order_by("attempt"))
    assert [(log.status_code, log.success, log.error_class) for log in logs] == [
        (500, False, "HTTPStatus"),
        (503, False, "HTTPStatus"),
        (302, False, "Redirect"),
        (200, True, ""),
    ]
    assert [log.next_attempt_at is not None for log in logs] == [True, True, True, False]


def test_a_delivery_gives_up_after_the_schedule_without_disabling(workspace, receiver, settings) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [5]
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    receiver.statuses = [500, 500]
    task_create(workspace=workspace, title="Ligar")
    delivery.deliveries_send(now=later())
    delivery.deliveries_send(now=later(10))
    row = WebhookDelivery.objects.get()
    hook.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at, hook.active) == ("failed", 2, None, True)


def test_410_gone_disables_at_once_and_announces_it(workspace, receiver) -> None:
    hook = webhook_factory(workspace=workspace, url=receiver.url, events=["task:created"])
    watcher = webhook_factory(workspace=workspace, url=receiver.url, events=["webhook:disabled"])
    receiver.statuses = [410]
    task_create(workspace=workspace, title="A")
    task_create(workspace=workspace, title="B")
    first = WebhookDelivery.objects.filter(webhook=hook).order_by("created_at").first()
    assert delivery.deliveries_send(ids=[str(first.pk)], now=later()) == 1
    hook.refresh_from_db()
    assert not hook.active and "410" in hook.disabled_reason
    assert set(WebhookDelivery.objects.filter(webhook=hook).values_list("status", flat=True)) == {"failed"}
    event = Event.objects.get(name="webhook:disabled")
    assert event.payload["id"] == str(hook.pk) and event.payload["active"] is False
    announced = WebhookDelivery.objects.get(webhook=watcher)
    assert json.loads(announced.body)["data"]["id"] == str(hook.pk)
    task_create(workspace=workspace, title="C")
    assert not WebhookDelivery.objects.filter(webhook=hook, status="pending").exists()


def test_failing_longer_than_the_setting_disables(workspace, receiver, settings) -> None:
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 5 * 24 * 3600
    settings.WEBHOOK_RETRY_SCHEDULE = [3600] * 200
    settings.WEBHOOK_RETRY_JITTER = 0
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    receiver.statuses = [500] * 200
    task_create(workspace=workspace, title="Ligar")
    clock = later()
    for _hour in range(5 * 24):
        assert delivery.deliveries_send(now=clock) == 1
        clock += timedelta(hours=1)
    hook.refresh_from_db()
    assert hook.active  # just under five days of failures
    assert delivery.deliveries_send(now=clock) == 1
    hook.refresh_from_db()
    assert not hook.active and "5 days" in hook.disabled_reason
    assert Event.objects.filter(name="webhook:disabled").count() == 1


def test_a_rotation_window_signs_with_both_secrets(workspace, receiver, settings) -> None:
    settings.WEBHOOK_SECRET_ROTATION_SECONDS = 3600
    receiver.check_timestamp = False
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    old = hook.secret
    now = later()
    hook = webhook_rotate_secret(webhook=hook, now=now)
    receiver.secrets = [old, hook.secret]
    task_create(workspace=workspace, title="A")
    delivery.deliveries_send(now=now)
    task_create(workspace=workspace, title="B")
    delivery.deliveries_send(now=now + timedelta(hours=2))
    assert [r.verified_with for r in receiver.requests] == [[0, 1], [1]]


def test_a_url_refused_at_delivery_is_never_dialed(workspace, settings, listeners: dict[str, Listener]) -> None:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = ["127.0.0.1/32"]
    hook = webhook_factory(workspace=workspace, url=f"http://127.0.0.1:{listeners['v4'].port}/hook")
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = []  # what DNS now answers is no longer allowed
    task_create(workspace=workspace, title="A")
    delivery.deliveries_send(now=later())
    (log,) = WebhookLog.objects.all()
    assert (log.success, log.status_code, log.error_class) == (False, None, "OutgoingURLRefused")
    assert "blocked_address" in log.error
    assert listeners["v4"].accepted() == 0
    assert WebhookDelivery.objects.get().status == "pending"  # retried: the DNS may change back
    assert hook.pk


def test_a_silent_receiver_ends_at_the_total_timeout(workspace, settings, listeners: dict[str, Listener]) -> None:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT = 1
    webhook_factory(workspace=workspace, url=f"http://127.0.0.1:{listeners['v4'].port}/hook")
    task_create(workspace=workspace, title="A")
    started = time.monotonic()
    delivery.deliveries_send(now=later())
    assert time.monotonic() - started < 5
    assert WebhookLog.objects.get().error_class == "OutgoingTimeout"


def test_the_test_endpoint(api_client, workspace, receiver, settings) -> None:
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    receiver.secrets = [hook.secret]
    answer = api_client.post(f"/api/v1/webhooks/{hook.pk}/test", format="json")
    assert answer.status_code == 200, answer.content
    result = answer.json()
    assert result["success"] is True and result["status_code"] == 200 and result["error"] is None
    assert isinstance(result["duration_ms"], int)
    (received,) = receiver.requests
    assert received.verified_with == [0] and json.loads(received.body)["type"] == "webhook.test"

    receiver.statuses = [500]
    assert api_client.post(f"/api/v1/webhooks/{hook.pk}/test", format="json").json()["status_code"] == 500
    closed = Webhook.objects.filter(pk=hook.pk)
    closed.update(url="http://127.0.0.1:9/hook")  # the discard port: nothing listens
    unreachable = api_client.post(f"/api/v1/webhooks/{hook.pk}/test", format="json")
    assert unreachable.status_code == 200
    assert unreachable.json()["success"] is False and unreachable.json()["status_code"] is None
    assert unreachable.json()["error"]
    hook.refresh_from_db()
    assert hook.active and hook.failing_since is None  # a test never counts against the webhook


def test_the_deliveries_log_filters_and_redelivery(api_client, workspace, other_client, receiver) -> None:
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    receiver.statuses = [500]
    task_create(workspace=workspace, title="A")
    contact_create(workspace=workspace, phone="+5511988887777")
    delivery.deliveries_send(now=later())
    url = f"/api/v1/webhooks/{hook.pk}/deliveries"
    rows = api_client.get(url).json()["deliveries"]
    assert {row["event"] for row in rows} == {"task:created", "contact:created"}
    failed = api_client.get(f"{url}?status=pending").json()["deliveries"]
    assert len(failed) == 1 and failed[0]["logs"][0]["status_code"] == 500 and failed[0]["next_attempt_at"]
    only = api_client.get(f"{url}?event=contact:created").json()["deliveries"]
    assert [row["event"] for row in only] == ["contact:created"]
    assert_json_error(api_client.get(f"{url}?status=bogus"), 400)
    assert_json_error(other_client.get(url), 404)

    succeeded = WebhookDelivery.objects.get(status="succeeded")
    redo = api_client.post(f"{url}/{succeeded.pk}/redeliver", format="json")
    assert redo.status_code == 202 and redo.json()["delivery"]["status"] == "pending"
    assert_json_error(other_client.post(f"{url}/{succeeded.pk}/redeliver", format="json"), 404)
    delivery.deliveries_send(ids=[str(succeeded.pk)], now=later(2))
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids.count(f"msg_{succeeded.pk.hex}") == 2


def test_a_claimed_delivery_is_left_alone_until_its_claim_expires(workspace, receiver, settings) -> None:
    settings.WEBHOOK_CLAIM_SECONDS = 60
    webhook_factory(workspace=workspace, url=receiver.url)
    task_create(workspace=workspace, title="A")
    now = later()
    (claimed,) = delivery.deliveries_claim(now=now)  # a worker took it, then died
    assert delivery.deliveries_claim(now=now + timedelta(seconds=30)) == []
    assert delivery.deliveries_send(now=now + timedelta(seconds=61)) == 1
    assert WebhookDelivery.objects.get().status == "succeeded"
    # The first worker's late report must not overwrite the attempt that took its place.
    failure = delivery.Outcome(False, 500, 3, error_class="HTTPStatus", error="late")
    delivery.deliveries_finish(results=[(claimed, failure)], now=now + timedelta(seconds=62))
    claimed.refresh_from_db()
    assert (claimed.status, claimed.attempts) == ("succeeded", 1)
    assert WebhookLog.objects.count() == 2
