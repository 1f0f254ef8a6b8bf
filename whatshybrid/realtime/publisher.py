"""``publish()``: every service announces its changes here, inside its own transaction.

The event row commits or rolls back with the change it describes; the live fan-out to the
workspace's channel group runs only after commit, and a failing fan-out never fails the write.

Sequence numbers come from the workspace's ``EventSequence`` row: the increment is an UPDATE,
whose row lock (PostgreSQL) or write lock (SQLite, IMMEDIATE transactions) is held until the
surrounding transaction ends. Writers therefore take numbers one at a time, in commit order,
and a rolled-back writer gives its number back: the sequence has no gaps and no reorderings.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F

from whatshybrid.realtime.frames import dispatch_message, event_message, workspace_group
from whatshybrid.realtime.hub import embedded_mode, relay
from whatshybrid.realtime.models import Event, EventSequence

__all__ = ["event_message", "publish", "workspace_group"]

logger = logging.getLogger(__name__)


def _fan_out(event: Event) -> None:
    if embedded_mode():
        # The in-memory layer only reaches this process; the relay of the web process delivers
        # every committed row (ours included), so here we only wake it up.
        relay.notify()
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(workspace_group(event.workspace_id), dispatch_message(event))
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
