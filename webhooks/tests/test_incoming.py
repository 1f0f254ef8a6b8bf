"""Incoming webhooks: Standard Webhooks signatures over the raw body, replays, the generic
events through the contacts/messaging services, and the WhatsApp Cloud API format."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from contacts.models import Contact
from messaging.models import Conversation, Message
from webhooks.models import InboundLog
from whatshybrid.api.testing import assert_json_error
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

APP_SECRET = "meta-app-secret"


@pytest.fixture
def inbound_secret(api_client) -> str:
    answer = api_client.post("/api/v1/webhooks/inbound-settings/rotate-secret", format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()["secret"]


def signed(secret: str, payload: Any, *, msg_id: str | None = None, at: datetime | None = None) -> tuple[bytes, dict]:
    body = json.dumps(payload)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(tz=UTC)
    headers = {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": StandardWebhook(secret).sign(msg_id, at, body),
    }
    return body.encode(), headers


def post(anon_client, workspace, body: bytes, headers: dict, suffix: str = "") -> Any:
    return anon_client.generic(
        "POST", f"/api/v1/webhooks/incoming/{workspace.pk}{suffix}", body, content_type="application/json", **headers
    )


RECEIVED = {
    "type": "message.received",
    "data": {"phone": "+55 11 98888-7777", "name": "Ana", "content": "Oi!", "external_id": "ext-1"},
}


def test_settings_show_which_secrets_are_set_never_their_values(api_client, other_client, inbound_secret) -> None:
    shown = api_client.get("/api/v1/webhooks/inbound-settings").json()["inbound"]
    assert shown["secret_set"] and not shown["cloud_app_secret_set"]
    assert shown["url"].endswith("/whatsapp") is False and "/api/v1/webhooks/incoming/" in shown["url"]
    updated = api_client.put(
        "/api/v1/webhooks/inbound-settings",
        {"cloud_verify_token": "verify-me", "cloud_app_secret": APP_SECRET},
        format="json",
    )
    assert updated.json()["inbound"]["cloud_app_secret_set"] is True
    assert inbound_secret not in api_client.get("/api/v1/webhooks/inbound-settings").content.decode()
    assert APP_SECRET not in updated.content.decode()
    assert other_client.get("/api/v1/webhooks/inbound-settings").json()["inbound"]["secret_set"] is False


def test_a_signed_message_goes_through_the_services_and_a_replay_is_processed_once(
    anon_client, workspace, inbound_secret
) -> None:
    body, headers = signed(inbound_secret, RECEIVED)
    first = post(anon_client, workspace, body, headers)
    assert first.status_code == 202, first.content
    assert first.json()["outcome"] == "processed" and first.json()["duplicate"] is False
    message = Message.objects.get(external_id="ext-1")
    assert (message.direction, message.content, message.workspace_id) == ("in", "Oi!", workspace.pk)
    assert Contact.objects.get(workspace=workspace).name == "Ana"
    names = set(Event.objects.filter(workspace=workspace).values_list("name", flat=True))
    assert {"contact:created", "conversation:created", "message:created"} <= names

    replay = post(anon_client, workspace, body, headers)
    assert replay.status_code == 202 and replay.json()["duplicate"] is True
    assert Message.objects.count() == 1 and InboundLog.objects.count() == 1
    assert Event.objects.filter(name="message:created").count() == 1


def test_status_and_contact_upsert_and_unknown_types(anon_client, workspace, inbound_secret) -> None:
    post(anon_client, workspace, *signed(inbound_secret, RECEIVED))
    message = Message.objects.get()
    message_created_at = Message.objects.get().delivered_at
    answer = post(
        anon_client,
        workspace,
        *signed(inbound_secret, {"type": "message.status", "data": {"external_id": "ext-1", "status": "read"}}),
    )
    assert answer.status_code == 202 and answer.json()["outcome"] == "processed"
    message.refresh_from_db()
    assert message.status == "read" and message.delivered_at == message_created_at
    assert Event.objects.filter(name="message:updated").exists()

    upsert = {"type": "contact.upsert", "data": {"phone": "+5511977776666", "name": "Bruno", "tags": ["vip"]}}
    assert post(anon_client, workspace, *signed(inbound_secret, upsert)).json()["outcome"] == "processed"
    assert Contact.objects.get(phone__endswith="977776666").tags == ["vip"]

    unknown = post(anon_client, workspace, *signed(inbound_secret, {"type": "order.paid", "data": {}}))
    assert unknown.status_code == 202 and unknown.json()["outcome"] == "ignored"
    bad = post(anon_client, workspace, *signed(inbound_secret, {"type": "message.received", "data": {"phone": "x"}}))
    assert bad.status_code == 202 and bad.json()["outcome"] == "failed"
    assert list(InboundLog.objects.order_by("created_at").values_list("event_type", "outcome")) == [
        ("message.received", "processed"),
        ("message.status", "processed"),
        ("contact.upsert", "processed"),
        ("order.paid", "ignored"),
        ("message.received", "failed"),
    ]


def test_bad_old_or_missing_signatures_are_401_and_store_nothing(
    anon_client, workspace, other_workspace, inbound_secret
) -> None:
    body, headers = signed(inbound_secret, RECEIVED)
    tampered = body.replace(b"Oi!", b"Oi?")
    old_body, old_headers = signed(inbound_secret, RECEIVED, at=datetime.now(tz=UTC) - timedelta(minutes=6))
    future_body, future_headers = signed(inbound_secret, RECEIVED, at=datetime.now(tz=UTC) + timedelta(minutes=6))
    wrong_body, wrong_headers = signed("whsec_" + "A" * 43, RECEIVED)
    garbage = {**headers, "HTTP_WEBHOOK_SIGNATURE": "v1,%%%notbase64 nocomma"}
    cases = [
        (tampered, headers),
        (old_body, old_headers),
        (future_body, future_headers),
        (wrong_body, wrong_headers),
        (body, {}),
        (body, garbage),
    ]
    for case_body, case_headers in cases:
        assert_json_error(post(anon_client, workspace, case_body, case_headers), 401, "NOT_AUTHENTICATED")
    # Another workspace (no inbound secret) and an unknown one: the same 401.
    assert_json_error(post(anon_client, other_workspace, body, headers), 401)
    assert_json_error(
        anon_client.generic(
            "POST", f"/api/v1/webhooks/incoming/{uuid.uuid4()}", body, content_type="application/json", **headers
        ),
        401,
    )
    assert not InboundLog.objects.exists() and not Message.objects.exists() and not Contact.objects.exists()


def test_the_body_is_capped(anon_client, workspace, inbound_secret, settings) -> None:
    settings.WEBHOOK_INCOMING_MAX_BYTES = 1000
    body, headers = signed(inbound_secret, {**RECEIVED, "padding": "x" * 2000})
    assert_json_error(post(anon_client, workspace, body, headers), 413)
    assert not InboundLog.objects.exists()


def test_rotating_the_inbound_secret_retires_the_old_one(api_client, anon_client, workspace, inbound_secret) -> None:
    api_client.post("/api/v1/webhooks/inbound-settings/rotate-secret", format="json")
    assert_json_error(post(anon_client, workspace, *signed(inbound_secret, RECEIVED)), 401)


# --- WhatsApp Cloud API ----------------------------------------------------------------------


@pytest.fixture
def cloud(api_client) -> None:
    api_client.put(
        "/api/v1/webhooks/inbound-settings",
        {"cloud_verify_token": "verify-me", "cloud_app_secret": APP_SECRET},
        format="json",
    )


def cloud_notification(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1234", "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp", **value}}]}
        ],
    }


CLOUD_MESSAGES = cloud_notification(
    {
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1111"},
        "contacts": [{"profile": {"name": "Carla"}, "wa_id": "5511966665555"}],
        "messages": [
            {
                "from": "5511966665555",
                "id": "wamid.A1",
                "timestamp": "1760000000",
                "type": "text",
                "text": {"body": "Olá"},
            },
            {
                "from": "5511966665555",
                "id": "wamid.A2",
                "timestamp": "1760000005",
                "type": "image",
                "image": {"caption": "foto", "id": "m1"},
            },
        ],
    }
)


def hub_signed(payload: Any, secret: str = APP_SECRET) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_the_cloud_api_handshake(anon_client, workspace, cloud) -> None:
    for suffix in ("", "/whatsapp"):
        url = f"/api/v1/webhooks/incoming/{workspace.pk}{suffix}"
        ok = anon_client.get(
            url, {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
        )
        assert ok.status_code == 200 and ok.content == b"1158201444"
        wrong = anon_client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
        assert_json_error(wrong, 403)


@pytest.mark.parametrize("suffix", ["", "/whatsapp"])
def test_cloud_api_messages_and_statuses(anon_client, workspace, cloud, suffix) -> None:
    answer = post(anon_client, workspace, *hub_signed(CLOUD_MESSAGES), suffix=suffix)
    assert answer.status_code == 200, answer.content
    assert answer.json()["outcome"] == "processed"
    messages = list(Message.objects.order_by("sent_at"))
    assert [(m.external_id, m.message_type, m.content, m.direction) for m in messages] == [
        ("wamid.A1", "text", "Olá", "in"),
        ("wamid.A2", "image", "foto", "in"),
    ]
    assert messages[0].sent_at == datetime.fromtimestamp(1760000000, tz=UTC)
    contact = Contact.objects.get()
    assert contact.name == "Carla" and contact.phone.endswith("5511966665555")
    assert Conversation.objects.count() == 1
    assert Event.objects.filter(name="message:created").count() == 2

    # Our outgoing message, then the statuses Meta reports for it.
    Message.objects.filter(external_id="wamid.A1").update(direction="out", status="sent", delivered_at=None)
    statuses = cloud_notification(
        {
            "statuses": [
                {"id": "wamid.A1", "status": "delivered", "timestamp": "1760000100", "recipient_id": "5511966665555"},
                {"id": "wamid.A1", "status": "read", "timestamp": "1760000200", "recipient_id": "5511966665555"},
                {"id": "wamid.UNKNOWN", "status": "read", "timestamp": "1760000200", "recipient_id": "5511966665555"},
            ]
        }
    )
    answer = post(anon_client, workspace, *hub_signed(statuses), suffix=suffix)
    assert answer.status_code == 200
    message = Message.objects.get(external_id="wamid.A1")
    assert message.status == "read" and message.read_at and message.delivered_at
    updates = Event.objects.filter(name="message:updated").order_by("seq")
    assert [e.payload["status"] for e in updates] == ["delivered", "read"]

    replay = post(anon_client, workspace, *hub_signed(statuses), suffix=suffix)
    assert replay.json()["duplicate"] is True
    assert Event.objects.filter(name="message:updated").count() == 2


def test_cloud_api_bad_signatures_are_401_and_store_nothing(anon_client, workspace, cloud) -> None:
    body, _headers = hub_signed(CLOUD_MESSAGES)
    for header in [
        "sha256=" + "0" * 64,
        "",
        "sha1=abc",
        hub_signed(CLOUD_MESSAGES, secret="other")[1]["HTTP_X_HUB_SIGNATURE_256"],
    ]:
        assert_json_error(
            post(anon_client, workspace, body, {"HTTP_X_HUB_SIGNATURE_256": header}, suffix="/whatsapp"), 401
        )
    assert_json_error(post(anon_client, workspace, body, {"HTTP_X_HUB_SIGNATURE_256": "sha256=00"}), 401)
    assert not InboundLog.objects.exists() and not Message.objects.exists()


def test_incoming_is_rate_limited(anon_client, workspace, inbound_secret, settings) -> None:
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_WEBHOOKS = "2/m"
    statuses = [post(anon_client, workspace, *signed(inbound_secret, RECEIVED)).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
