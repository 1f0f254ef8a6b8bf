"""Webhook writes: endpoints, secrets, the outbox subscriber and disabling.

The outbox row of an event is written by ``deliveries_record`` inside the publishing
transaction (an in-transaction subscriber of the event log), so an event and its deliveries
commit or roll back together; ``webhooks.delivery`` sends them. It runs only in workspaces with an
active webhook: every write that can change that ends with ``_outbox_opt_in_update``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from webhooks.models import InboundConfig, Webhook, WebhookDelivery
from webhooks.payloads import webhook_payload
from webhooks.selectors import ALL_EVENTS
from webhooks.signing import secret_generate
from whatshybrid import http
from whatshybrid.api.errors import FieldInvalid
from whatshybrid.events import EVENTS
from whatshybrid.jobs import enqueue_on_commit
from whatshybrid.realtime.publisher import opt_in_update, publish

if TYPE_CHECKING:
    from whatshybrid.realtime.models import Event


# Set by the delivery itself; a user header of the same name would break the signature contract.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "transfer-encoding", "user-agent", "connection"}
)
MAX_HEADERS = 20
# The name deliveries_record subscribes under (webhooks/apps.py).
OUTBOX = "webhooks"


def webhook_url_check(url: str) -> str:
    """The URL to store, or a 400 on ``url`` naming the guard's rule. Checked again at every
    delivery: the host's DNS may change after saving."""
    try:
        return http.vet_url(url).url
    except http.OutgoingURLRefused as exc:
        raise FieldInvalid("url", exc.message, code="URL_REFUSED") from None
    except http.OutgoingConnectionFailed:
        # A host that does not resolve yet is no danger (every delivery vets it again).
        return url.strip()


def webhook_events_check(events: list[str]) -> list[str]:
    unknown = [name for name in events if name != ALL_EVENTS and name not in EVENTS]
    if unknown:
        raise FieldInvalid("events", f"Unknown event(s): {', '.join(unknown)}. See GET /api/v1/webhooks/events.")
    if not events:
        raise FieldInvalid("events", "Name at least one event, or * for all.")
    return list(dict.fromkeys(events))


def webhook_headers_check(headers: dict[str, str]) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise FieldInvalid("headers", f"At most {MAX_HEADERS} headers.")
    for name in headers:
        lowered = name.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith("webhook-"):
            raise FieldInvalid("headers", f"{name!r} is set by the delivery itself.")
    return headers


@transaction.atomic
def webhook_create(
    *,
    workspace: Workspace,
    name: str,
    url: str,
    events: list[str],
    headers: dict[str, str] | None = None,
    active: bool = True,
    created_by: User | None = None,
) -> Webhook:
    """The new webhook with its secret (``webhook.secret``: show it to the caller once)."""
    webhook = Webhook.objects.create(
        workspace=workspace,
        name=name,
        url=webhook_url_check(url),
        events=webhook_events_check(events),
        headers=webhook_headers_check(headers or {}),
        active=active,
        secret=secret_generate(),
        created_by=created_by,
    )
    _outbox_opt_in_update(webhook.workspace_id)
    return webhook


@transaction.atomic
def webhook_update(*, webhook: Webhook, data: dict[str, Any]) -> Webhook:
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if "url" in data:
        webhook.url = webhook_url_check(data["url"])
    if "events" in data:
        webhook.events = webhook_events_check(data["events"])
    if "headers" in data:
        webhook.headers = webhook_headers_check(data["headers"] or {})
    if "name" in data:
        webhook.name = data["name"]
    if "active" in data:
        if data["active"] and not webhook.active:  # switched back on: a fresh start
            webhook.disabled_at, webhook.disabled_reason, webhook.failing_since = None, "", None
        webhook.active = data["active"]
    webhook.save()
    _outbox_opt_in_update(webhook.workspace_id)
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()
    _outbox_opt_in_update(webhook.workspace_id)


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook, now: datetime | None = None) -> Webhook:
    """A new secret; the old one keeps signing too for ``WEBHOOK_SECRET_ROTATION_SECONDS``."""
    now = now or timezone.now()
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    webhook.previous_secret = webhook.secret
    webhook.previous_secret_expires_at = now + timedelta(seconds=settings.WEBHOOK_SECRET_ROTATION_SECONDS)
    webhook.secret = secret_generate()
    webhook.save()
    return webhook


def webhook_signing_secrets(webhook: Webhook, *, now: datetime) -> list[str]:
    secrets_ = [webhook.secret]
    if webhook.previous_secret and webhook.previous_secret_expires_at and webhook.previous_secret_expires_at > now:
        secrets_.append(webhook.previous_secret)
    return secrets_


@transaction.atomic
def webhook_disable(*, webhook: Webhook, reason: str, now: datetime | None = None) -> Webhook:
    """Stops deliveries (the pending ones fail) and announces it as ``webhook:disabled``."""
    now = now or timezone.now()
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if not webhook.active:
        return webhook
    webhook.active, webhook.disabled_at, webhook.disabled_reason = False, now, reason[:200]
    webhook.save(update_fields=["active", "disabled_at", "disabled_reason", "updated_at"])
    _outbox_opt_in_update(webhook.workspace_id)
    WebhookDelivery.objects.filter(webhook=webhook, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, last_error="The webhook was disabled.", claimed_until=None
    )
    publish(webhook.workspace_id, "webhook:disabled", webhook_payload(webhook))
    return webhook


def event_body(*, event_type: str, workspace_id: Any, data: Any, timestamp: datetime) -> str:
    """The delivery body, ``{type, timestamp, workspace_id, data}``: the exact text signed."""
    return json.dumps(
        {"type": event_type, "timestamp": timestamp.isoformat(), "workspace_id": str(workspace_id), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _outbox_opt_in_update(workspace_id: Any) -> None:
    opt_in_update(
        workspace_id, OUTBOX, wanted=lambda: Webhook.objects.filter(workspace_id=workspace_id, active=True).exists()
    )


def deliveries_record(events: Sequence[Event]) -> None:
    """The outbox subscriber: one delivery per (event, active webhook that wants it), written in
    the publishing transaction of a workspace opted in to ``OUTBOX``."""
    workspace_id = events[0].workspace_id
    hooks = list(Webhook.objects.filter(workspace_id=workspace_id, active=True).values_list("id", "events"))
    if not hooks:
        return
    now = timezone.now()
    rows = [
        WebhookDelivery(
            workspace_id=workspace_id,
            webhook_id=hook_id,
            event_type=event.name,
            body=event_body(
                event_type=event.name, workspace_id=workspace_id, data=event.payload, timestamp=event.created_at or now
            ),
            next_attempt_at=now,
        )
        for event in events
        for hook_id, names in hooks
        if ALL_EVENTS in names or event.name in names
    ]
    if rows:
        WebhookDelivery.objects.bulk_create(rows)
        enqueue_on_commit("webhooks.deliver", delivery_ids=[str(row.id) for row in rows])


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Sends the same message (same ``webhook-id`` and body) again, with a fresh retry schedule."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=now, claimed_until=None, updated_at=now
    )
    enqueue_on_commit("webhooks.deliver", delivery_ids=[str(delivery.pk)])
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def inbound_config_update(*, workspace: Workspace, data: dict[str, str]) -> InboundConfig:
    """Sets the Cloud API verify token / app secret (an empty value clears one)."""
    config, _created = InboundConfig.objects.select_for_update().get_or_create(workspace=workspace)
    for field in ("cloud_verify_token", "cloud_app_secret"):
        if field in data:
            setattr(config, field, data[field] or "")
    config.save()
    return config


@transaction.atomic
def inbound_secret_rotate(*, workspace: Workspace) -> tuple[InboundConfig, str]:
    """A new inbound signing secret (the old one stops working at once); returns it to show once."""
    config, _created = InboundConfig.objects.select_for_update().get_or_create(workspace=workspace)
    config.secret = secret_generate()
    config.save()
    return config, config.secret
