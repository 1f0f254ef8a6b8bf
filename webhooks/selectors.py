"""Webhook reads."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Workspace
from webhooks.models import InboundConfig, WebhookDelivery, WebhookLog
from whatshybrid.events import EVENTS

ALL_EVENTS = "*"


def event_catalog() -> list[dict[str, str]]:
    """What a webhook may subscribe to: every event the log carries, and ``*``."""
    return [{"name": ALL_EVENTS, "description": "every event"}] + [
        {"name": event.name, "description": event.description} for event in EVENTS.values()
    ]


def delivery_rows(queryset: QuerySet) -> QuerySet:
    return queryset.prefetch_related(Prefetch("logs", queryset=WebhookLog.objects.order_by("-attempt")))


def delivery_list(*, webhook_id: str, queryset: QuerySet | None = None) -> QuerySet:
    queryset = WebhookDelivery.objects.all() if queryset is None else queryset
    return delivery_rows(queryset.filter(webhook_id=webhook_id))


def inbound_config_get(*, workspace: Workspace) -> InboundConfig | None:
    return InboundConfig.objects.filter(workspace=workspace).first()
