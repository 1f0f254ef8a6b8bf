from __future__ import annotations

import json

import pytest

from webhooks import delivery
from webhooks.models import Webhook
from webhooks.services import inbound_config_update, inbound_secret_rotate
from webhooks.tests.factories import webhook_factory
from whatshybrid.realtime.models import EventSequence

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/webhooks/webhook/",
    "/admin/webhooks/webhookdelivery/",
    "/admin/webhooks/webhooklog/",
    "/admin/webhooks/inboundconfig/",
    "/admin/webhooks/inboundlog/",
]


def test_every_screen_loads_and_no_secret_is_ever_shown(admin_client, workspace, receiver) -> None:
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    delivery.webhook_test(webhook=hook)
    inbound_config_update(
        workspace=workspace, data={"cloud_verify_token": "tok-123456", "cloud_app_secret": "app-sec-999"}
    )
    config, inbound_secret = inbound_secret_rotate(workspace=workspace)
    secrets = [hook.secret, inbound_secret, "tok-123456", "app-sec-999"]
    pages = [*PAGES, f"/admin/webhooks/webhook/{hook.pk}/change/", f"/admin/webhooks/inboundconfig/{config.pk}/change/"]
    for page in pages:
        response = admin_client.get(page, {"q": "a"} if page.endswith("/") and "change" not in page else {})
        assert response.status_code == 200, page
        text = response.content.decode()
        assert not any(secret in text for secret in secrets), page


def test_admin_writes_go_through_the_services(admin_client, workspace, receiver) -> None:
    form = {
        "workspace": str(workspace.pk),
        "name": "ERP",
        "url": receiver.url,
        "events": json.dumps(["*"]),
        "headers": "{}",
        "active": "on",
    }
    response = admin_client.post("/admin/webhooks/webhook/add/", form)
    assert response.status_code == 302, response.content[:2000]
    hook = Webhook.objects.get()
    assert hook.secret.startswith("whsec_")
    refused = admin_client.post("/admin/webhooks/webhook/add/", {**form, "url": "http://169.254.169.254/"})
    assert refused.status_code == 200 and b"blocked_address" in refused.content
    assert Webhook.objects.count() == 1


def test_the_admin_bulk_delete_goes_through_the_service(admin_client, workspace, receiver) -> None:
    hooks = [webhook_factory(workspace=workspace, url=receiver.url) for _ in range(2)]
    response = admin_client.post(
        "/admin/webhooks/webhook/",
        {"action": "delete_selected", "_selected_action": [str(h.pk) for h in hooks], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Webhook.objects.exists()
    assert EventSequence.objects.get(workspace=workspace).opted_in == []  # the outbox stops reading webhooks
