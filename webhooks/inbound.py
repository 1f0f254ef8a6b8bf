"""Webhooks this workspace receives: the generic Standard Webhooks events and the WhatsApp Cloud
API notifications, verified, deduplicated, mapped onto the contacts and messaging services (so
their events fire as for any other write) and logged with their outcome.

Generic body: ``{"type": "<event>", "data": {...}}``. The Cloud API sends no message id, so its
deduplication key is the body's SHA-256: Meta's redelivery of one notification is the same body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Workspace
from contacts.services import contact_get_or_create_by_phone, contact_update
from messaging.models import Message
from messaging.services import conversation_open_by_phone, message_create, message_status_update
from webhooks.models import InboundConfig, InboundLog
from whatshybrid.api.errors import ApplicationError, FieldInvalid

STATUSES = frozenset({"sent", "delivered", "read", "failed"})
CONTACT_FIELDS = ("name", "email", "notes", "tags")
CLOUD_TYPES = {"text", "image", "audio", "video", "document", "location"}


class Unauthenticated(Exception):
    """No valid signature: answered 401, nothing stored."""


def _text(data: dict[str, Any], key: str, *, required: bool = True, limit: int = 10_000) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise FieldInvalid(key, "Must be a non-empty string." if required else "Must be a string.")
    return value[:limit]


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value), tz=UTC)
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except (ValueError, OverflowError, OSError):
        raise FieldInvalid("timestamp", "Must be epoch seconds or an ISO 8601 date-time.") from None


def message_received(workspace: Workspace, data: dict[str, Any]) -> str:
    message_type = data.get("message_type") or Message.Type.TEXT
    if message_type not in Message.Type.values or message_type == Message.Type.NOTE:
        raise FieldInvalid("message_type", f"Unknown message type {message_type!r}.")
    conversation, _opened = conversation_open_by_phone(
        workspace=workspace, phone=_text(data, "phone", limit=64), name=_text(data, "name", required=False, limit=200)
    )
    message, created = message_create(
        conversation=conversation,
        content=_text(data, "content", required=False),
        message_type=message_type,
        direction=Message.Direction.INCOMING,
        external_id=_text(data, "external_id", limit=128),
        sent_at=_moment(data.get("timestamp")),
    )
    return f"message {message.pk} {'created' if created else 'already stored'}"


def message_status(workspace: Workspace, data: dict[str, Any]) -> str:
    external_id, status = _text(data, "external_id", limit=128), _text(data, "status", limit=20)
    if status not in STATUSES:
        raise FieldInvalid("status", f"Must be one of {', '.join(sorted(STATUSES))}.")
    message = Message.objects.filter(workspace=workspace, external_id=external_id).order_by("sent_at").first()
    if message is None:
        raise LookupError(f"No message has external_id {external_id!r}.")
    message = message_status_update(message=message, status=status, error=str(data.get("error") or ""))
    return f"message {message.pk} is {message.status}"


def contact_upsert(workspace: Workspace, data: dict[str, Any]) -> str:
    contact, created = contact_get_or_create_by_phone(
        workspace=workspace, phone=_text(data, "phone", limit=64), source="webhook"
    )
    changes = {field: data[field] for field in CONTACT_FIELDS if field in data}
    if "tags" in changes and not (
        isinstance(changes["tags"], list) and all(isinstance(t, str) for t in changes["tags"])
    ):
        raise FieldInvalid("tags", "Must be a list of strings.")
    for field in ("name", "email", "notes"):
        if field in changes:
            changes[field] = _text(changes, field, required=False, limit=200 if field != "notes" else 10_000)
    if changes:
        contact = contact_update(contact=contact, data=changes)
    return f"contact {contact.pk} {'created' if created else 'updated'}"


HANDLERS: dict[str, Callable[[Workspace, dict[str, Any]], str]] = {
    "message.received": message_received,
    "message.status": message_status,
    "contact.upsert": contact_upsert,
}


def config_for(workspace_id: Any) -> InboundConfig:
    config = InboundConfig.objects.select_related("workspace").filter(workspace_id=workspace_id).first()
    if config is None:
        raise Unauthenticated("This workspace receives no webhooks (no inbound secret is set).")
    return config


def cloud_signature_check(config: InboundConfig, *, body: bytes, header: str) -> None:
    """``X-Hub-Signature-256: sha256=<hex HMAC of the raw body under the app secret>``."""
    if not config.cloud_app_secret:
        raise Unauthenticated("No WhatsApp app secret is set for this workspace.")
    expected = "sha256=" + hmac.new(config.cloud_app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header.strip().encode(errors="replace")):
        raise Unauthenticated("Invalid X-Hub-Signature-256.")


def cloud_verify_token_check(config: InboundConfig, *, mode: str, token: str) -> None:
    if mode != "subscribe" or not config.cloud_verify_token:
        raise PermissionError("Verification refused.")
    if not hmac.compare_digest(config.cloud_verify_token.encode(), token.encode(errors="replace")):
        raise PermissionError("Verification refused.")


def _run(workspace: Workspace, event_type: str, data: Any) -> tuple[str, str]:
    """(outcome, detail) of one event; its writes are undone when it fails."""
    handler = HANDLERS.get(event_type)
    if handler is None:
        return InboundLog.Outcome.IGNORED, f"Unknown event type {event_type!r}."
    if not isinstance(data, dict):
        return InboundLog.Outcome.FAILED, "data: Must be an object."
    try:
        with transaction.atomic():
            return InboundLog.Outcome.PROCESSED, handler(workspace, data)
    except (ApplicationError, LookupError) as exc:
        return InboundLog.Outcome.FAILED, str(getattr(exc, "message", exc))[:500]


def inbound_receive(
    *, workspace: Workspace, source: str, message_id: str, payload: Any, events: list[tuple[str, Any]]
) -> tuple[InboundLog, bool]:
    """Processes ``events`` once per ``message_id`` and logs the payload; (log, processed_now)."""
    first_type = events[0][0] if events else ""
    try:
        with transaction.atomic():
            log = InboundLog.objects.create(
                workspace=workspace,
                source=source,
                message_id=message_id,
                event_type=first_type[:64],
                payload=payload,
                outcome=InboundLog.Outcome.IGNORED,
            )
    except IntegrityError:
        return InboundLog.objects.get(workspace=workspace, message_id=message_id), False
    results = [_run(workspace, event_type, data) for event_type, data in events]
    outcomes = {outcome for outcome, _detail in results}
    log.outcome = (
        InboundLog.Outcome.FAILED
        if InboundLog.Outcome.FAILED in outcomes
        else InboundLog.Outcome.PROCESSED
        if InboundLog.Outcome.PROCESSED in outcomes
        else InboundLog.Outcome.IGNORED
    )
    log.detail = "; ".join(detail for _outcome, detail in results)[:500] or "No events."
    log.save(update_fields=["outcome", "detail", "updated_at"])
    return log, True


def generic_events(payload: Any) -> list[tuple[str, Any]]:
    if not isinstance(payload, dict):
        raise FieldInvalid("body", "Must be a JSON object {type, data}.")
    event_type = payload.get("type", payload.get("event"))
    if not isinstance(event_type, str) or not event_type:
        raise FieldInvalid("type", "Name the event type.")
    return [(event_type[:64], payload.get("data", {}))]


def _cloud_content(message: dict[str, Any]) -> tuple[str, str]:
    kind = message.get("type") or "text"
    part = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        return Message.Type.TEXT, str(part.get("body") or "")
    if kind == "location":
        return Message.Type.LOCATION, f"{part.get('latitude')},{part.get('longitude')} {part.get('name') or ''}".strip()
    if kind in CLOUD_TYPES:
        return kind, str(part.get("caption") or part.get("filename") or "")
    return Message.Type.TEXT, f"[{kind}]"


def _items(value: dict[str, Any], key: str) -> list[Any]:
    items = value.get(key)
    return items if isinstance(items, list) else []


def cloud_events(payload: Any) -> list[tuple[str, Any]]:
    """A Cloud API notification as generic events: its inbound messages and delivery statuses."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise FieldInvalid("entry", "Not a WhatsApp Cloud API notification.")
    events: list[tuple[str, Any]] = []
    for entry in payload["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            names = {
                c.get("wa_id"): (c.get("profile") or {}).get("name", "")
                for c in _items(value, "contacts")
                if isinstance(c, dict)
            }
            for message in _items(value, "messages"):
                if not isinstance(message, dict):
                    continue
                message_type, content = _cloud_content(message)
                sender = str(message.get("from") or "")
                events.append(
                    (
                        "message.received",
                        {
                            "phone": "+" + sender.lstrip("+") if sender else "",
                            "name": str(names.get(sender) or ""),
                            "content": content,
                            "message_type": message_type,
                            "external_id": message.get("id"),
                            "timestamp": message.get("timestamp"),
                        },
                    )
                )
            for status in _items(value, "statuses"):
                if isinstance(status, dict):
                    errors = status.get("errors") or [{}]
                    error = (errors[0] or {}).get("title", "") if isinstance(errors, list) else ""
                    events.append(
                        (
                            "message.status",
                            {"external_id": status.get("id"), "status": status.get("status"), "error": error},
                        )
                    )
    return events


def cloud_message_id(body: bytes) -> str:
    return "wa_" + hashlib.sha256(body).hexdigest()
