"""Writes on the event log other than ``publish()``: retention pruning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from whatshybrid.realtime.models import Event

PRUNE_BATCH_SIZE = 2000


def event_retention_cutoff() -> datetime:
    return timezone.now() - settings.EVENT_RETENTION


def events_prune(
    *, workspace_id: Any = None, before: datetime | None = None, on_batch: Callable[[int], None] | None = None
) -> int:
    """Deletes events older than ``before`` (default: the retention setting) in small batches.

    Batches keep each transaction short so publishers are never blocked for long; the
    ``EventSequence`` counters are untouched, so numbering continues without reuse.
    """
    cutoff = before or event_retention_cutoff()
    old = Event.objects.filter(created_at__lt=cutoff)
    if workspace_id is not None:
        old = old.filter(workspace_id=workspace_id)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by("id").values_list("id", flat=True)[:PRUNE_BATCH_SIZE])
            if not ids:
                return deleted
            count, _ = Event.objects.filter(id__in=ids).delete()
        deleted += count
        if on_batch is not None:
            on_batch(count)
