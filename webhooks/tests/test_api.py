"""The webhooks REST API: CRUD, secrets, the catalog, roles, isolation and the URL guard."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Membership
from webhooks.models import Webhook
from webhooks.tests.factories import webhook_factory
from webhooks.tests.receiver import Receiver
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint
from whatshybrid.api.tests.listeners import REFUSED_HOSTS, Listener

pytestmark = pytest.mark.django_db


def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace, receiver: Receiver) -> None:
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url="/api/v1/webhooks",
        detail_url=lambda hook: f"/api/v1/webhooks/{hook.pk}",
        resource_name="webhooks",
        make=lambda ws: webhook_factory(workspace=ws, url=receiver.url),
    )


def test_create_shows_the_secret_once_and_reads_never(api_client, receiver: Receiver) -> None:
    body = {"name": "ERP", "url": receiver.url, "events": ["contact:created"], "headers": {"X-Token": "abc"}}
    created = api_client.post("/api/v1/webhooks", body, format="json")
    assert created.status_code == 201, created.content
    webhook = created.json()["webhook"]
    assert webhook["secret"].startswith("whsec_") and len(webhook["secret"]) >= 6 + 32
    assert {k: webhook[k] for k in ("name", "url", "events", "headers", "active")} == {**body, "active": True}
    stored = Webhook.objects.get(pk=webhook["id"])
    assert stored.secret == webhook["secret"]
    shown = api_client.get(f"/api/v1/webhooks/{webhook['id']}").json()["webhook"]
    listed = api_client.get("/api/v1/webhooks").json()["webhooks"]
    assert "secret" not in shown and all("secret" not in row for row in listed)
    assert webhook["secret"] not in api_client.get("/api/v1/webhooks").content.decode()

    rotated = api_client.post(f"/api/v1/webhooks/{webhook['id']}/rotate-secret", format="json").json()["webhook"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != webhook["secret"]
    stored.refresh_from_db()
    assert (stored.secret, stored.previous_secret) == (rotated["secret"], webhook["secret"])


def test_update_is_partial_and_validated(api_client, workspace, receiver: Receiver) -> None:
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    url = f"/api/v1/webhooks/{hook.pk}"
    response = api_client.put(url, {"active": False, "events": ["task:created", "task:created"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["webhook"]["events"] == ["task:created"] and response.json()["webhook"]["active"] is False
    assert response.json()["webhook"]["name"] == hook.name
    body = assert_json_error(api_client.put(url, {"events": ["nope:never"]}, format="json"), 400)
    assert "nope:never" in body["errors"]["events"][0]
    assert_json_error(api_client.put(url, {"events": []}, format="json"), 400)
    assert_json_error(api_client.put(url, {"headers": {"webhook-signature": "x"}}, format="json"), 400)
    assert_json_error(api_client.put(url, {"headers": {"Bad Name": "x"}}, format="json"), 400)
    assert_json_error(api_client.put(url, {"headers": {"X-A": "a\r\nInjected: 1"}}, format="json"), 400)
    assert_json_error(api_client.put(url, {"surprise": 1}, format="json"), 400)
    deleted = api_client.delete(url)
    assert deleted.status_code == 200 and deleted.json()["id"] == str(hook.pk)
    assert not Webhook.objects.filter(pk=hook.pk).exists()


def test_the_event_catalog(api_client) -> None:
    events = api_client.get("/api/v1/webhooks/events").json()["events"]
    names = [event["name"] for event in events]
    assert names[0] == "*"
    assert {"contact:created", "message:created", "message:updated", "task:created", "webhook:disabled"} <= set(names)


@pytest.mark.parametrize("role", [Membership.Role.AGENT, Membership.Role.VIEWER])
def test_only_owners_and_admins(role, workspace, make_member, client_for, receiver: Receiver) -> None:
    hook = webhook_factory(workspace=workspace, url=receiver.url)
    client = client_for(make_member(workspace, role=role), workspace)
    for method, url in [
        ("get", "/api/v1/webhooks"),
        ("get", "/api/v1/webhooks/events"),
        ("get", f"/api/v1/webhooks/{hook.pk}"),
        ("post", "/api/v1/webhooks"),
        ("post", f"/api/v1/webhooks/{hook.pk}/test"),
        ("get", "/api/v1/webhooks/inbound-settings"),
    ]:
        assert_json_error(getattr(client, method)(url, {}, format="json"), 403)
    admin = client_for(make_member(workspace, role=Membership.Role.ADMIN), workspace)
    assert admin.get("/api/v1/webhooks").status_code == 200
    assert receiver.requests == []


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_a_refused_url_is_a_400_naming_the_rule_and_never_dialed(
    api_client, listeners: dict[str, Listener], host
) -> None:
    for listener in listeners.values():
        body = {"name": "x", "url": f"http://{host}:{listener.port}/hook", "events": ["*"]}
        error = assert_json_error(api_client.post("/api/v1/webhooks", body, format="json"), 400)
        assert error["code"] == "URL_REFUSED" or error["errors"]["url"], error
        assert "blocked_address" in error["message"] or "invalid_url" in error["message"], error
    assert {name: listener.accepted() for name, listener in listeners.items()} == dict.fromkeys(listeners, 0)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("url", "rule"),
    [("ftp://example.com/x", "scheme"), ("http://user:pw@example.com/", "credentials"), ("not a url", "invalid_url")],
)
def test_other_url_rules(api_client, url: str, rule: str) -> None:
    error = assert_json_error(
        api_client.post("/api/v1/webhooks", {"name": "x", "url": url, "events": ["*"]}, format="json"), 400
    )
    assert f"({rule})" in error["message"]


def test_rate_limited_at_100_a_minute(api_client, settings: Any) -> None:
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_GENERAL = "1000/m"
    settings.RATELIMIT_WEBHOOKS = "3/m"
    statuses = [api_client.get("/api/v1/webhooks").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
