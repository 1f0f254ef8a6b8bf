"""Reads of the event log: the changes feed, resume replays and gap filling."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import TextField
from django.db.models.functions import Cast, Length

from whatshybrid.api.pagination import rows_within_budget
from whatshybrid.realtime.models import Event, EventSequence


def workspace_last_seq(*, workspace_id: Any) -> int:
    """The newest sequence number handed out in the workspace (0 before its first event)."""
    return EventSequence.objects.filter(workspace_id=workspace_id).values_list("last_seq", flat=True).first() or 0


def event_page_after(
    *, workspace_id: Any, after: int, limit: int, until: int | None = None
) -> tuple[list[Event], bool]:
    """Up to ``limit`` events with ``after < seq [<= until]``, oldest first, and whether more
    follow. The page also stops before its payloads pass ``PAGE_MAX_CHARS`` (an event larger than
    that comes alone): their sizes are read first, so a page never loads more than that."""
    events = Event.objects.filter(workspace_id=workspace_id, seq__gt=after)
    if until is not None:
        events = events.filter(seq__lte=until)
    sizes = list(
        events.order_by("seq")
        .annotate(chars=Length(Cast("payload", TextField())))
        .values_list("seq", "chars")[: limit + 1]
    )
    count = min(limit, rows_within_budget([chars for _, chars in sizes], settings.PAGE_MAX_CHARS))
    if not count:
        return [], False
    return list(events.filter(seq__lte=sizes[count - 1][0]).order_by("seq")), len(sizes) > count
