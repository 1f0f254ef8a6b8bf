"""``publish()``: every service announces its changes here, inside its own transaction.

The event row commits or rolls back with the change it describes; the live fan-out to the
workspace's channel group runs only after commit, and a failing fan-out never fails the write.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F

from whatshybrid.realtime.models import Event, EventSequence

logger = logging.getLogger(__name__)


def workspace_group(workspace_id: Any) -> str:
    return f"workspace.{workspace_id}"


def event_message(event: Event) -> dict[str, Any]:
    """The wire frame shared by every transport: ``{seq, event, data, ts}``."""
    return {"seq": event.seq, "event": event.name, "data": event.payload, "ts": event.created_at.isoformat()}


def _fan_out(event: Event) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            workspace_group(event.workspace_id), {"type": "event.dispatch", **event_message(event)}
        )
    except Exception:  # the write is committed; sockets catch up from the log on resume
        logger.exception("Fan-out of %s #%s failed", event.name, event.seq)


def publish(workspace: Any, event_name: str, payload: dict[str, Any]) -> Event:
    """Appends ``event_name`` to the workspace's log in the caller's transaction."""
    workspace_id = getattr(workspace, "pk", workspace)
    with transaction.atomic():
        EventSequence.objects.bulk_create([EventSequence(workspace_id=workspace_id)], ignore_conflicts=True)
        EventSequence.objects.filter(workspace_id=workspace_id).update(last_seq=F("last_seq") + 1)
        # The UPDATE above holds the row lock until commit, so this read sees our own increment.
        seq = EventSequence.objects.filter(workspace_id=workspace_id).values_list("last_seq", flat=True).get()
        event = Event.objects.create(workspace_id=workspace_id, seq=seq, name=event_name, payload=payload)
    transaction.on_commit(lambda: _fan_out(event))
    return event
