"""``manage.py prune_events``: drops event-log rows older than ``EVENT_RETENTION_DAYS`` (run it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from whatshybrid.realtime.models import Event
from whatshybrid.realtime.services import event_retention_cutoff, events_prune


class Command(BaseCommand):
    help = "Delete event-log rows older than the retention window."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workspace", default=None, help="Only this workspace id.")

    def handle(self, *args: Any, workspace: str | None, **options: Any) -> None:
        old = Event.objects.filter(created_at__lt=event_retention_cutoff())
        if workspace:
            old = old.filter(workspace_id=workspace)
        with tqdm(total=old.count(), unit="event", desc="pruning", file=self.stderr._out) as bar:
            deleted = events_prune(workspace_id=workspace or None, on_batch=bar.update)
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} events."))
