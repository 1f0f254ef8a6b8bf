from __future__ import annotations

from webhooks.models import WebhookDelivery
from whatshybrid.api import filters


class DeliveryFilterSet(filters.WorkspaceFilterSet):
    status = filters.choices_filter(
        "Comma-separated for several.", allowed=WebhookDelivery.Status.values, field_name="status"
    )
    event = filters.text_filter(
        "An event name (`contact:created`, `webhook.test`).", field_name="event_type", max_length=64
    )
