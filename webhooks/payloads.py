"""The API representation of webhooks, their deliveries and attempts (secrets never included)."""

from __future__ import annotations

from typing import Any

from webhooks.models import Webhook, WebhookDelivery, WebhookLog


def webhook_payload(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": str(webhook.id),
        "name": webhook.name,
        "url": webhook.url,
        "events": list(webhook.events),
        "headers": dict(webhook.headers),
        "active": webhook.active,
        "disabled_at": webhook.disabled_at.isoformat() if webhook.disabled_at else None,
        "disabled_reason": webhook.disabled_reason,
        "failing_since": webhook.failing_since.isoformat() if webhook.failing_since else None,
        "created_at": webhook.created_at.isoformat(),
        "updated_at": webhook.updated_at.isoformat(),
    }


def log_payload(log: WebhookLog) -> dict[str, Any]:
    return {
        "attempt": log.attempt,
        "success": log.success,
        "status_code": log.status_code,
        "duration_ms": log.duration_ms,
        "response_excerpt": log.response_excerpt,
        "error_class": log.error_class or None,
        "error": log.error or None,
        "next_attempt_at": log.next_attempt_at.isoformat() if log.next_attempt_at else None,
        "created_at": log.created_at.isoformat(),
    }


def delivery_payload(delivery: WebhookDelivery) -> dict[str, Any]:
    """With its attempts, newest first (prefetched as ``logs``)."""
    return {
        "id": str(delivery.id),
        "webhook_id": str(delivery.webhook_id),
        "event": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error or None,
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        "created_at": delivery.created_at.isoformat(),
        "logs": [log_payload(log) for log in delivery.logs.all()],
    }
