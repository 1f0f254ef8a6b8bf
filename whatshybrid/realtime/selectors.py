"""Reads of the event log: the changes feed, resume replays and gap filling."""

from __future__ import annotations

from typing import Any

from whatshybrid.realtime.models import Event, EventSequence


def workspace_last_seq(*, workspace_id: Any) -> int:
    """The newest sequence number handed out in the workspace (0 before its first event)."""
    return EventSequence.objects.filter(workspace_id=workspace_id).values_list("last_seq", flat=True).first() or 0


def event_list_after(*, workspace_id: Any, after: int, limit: int, until: int | None = None) -> list[Event]:
    """Up to ``limit`` events with ``after < seq [<= until]``, oldest first."""
    events = Event.objects.filter(workspace_id=workspace_id, seq__gt=after)
    if until is not None:
        events = events.filter(seq__lte=until)
    return list(events.order_by("seq")[:limit])
