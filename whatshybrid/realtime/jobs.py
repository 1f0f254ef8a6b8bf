"""Background jobs of the event log."""

from __future__ import annotations

from django.tasks import task

from whatshybrid.realtime.services import events_prune


@task()
def events_prune_job(workspace_id: str | None = None) -> int:
    """Idempotent: deletes whatever is past retention now, for one workspace or (None) all."""
    return events_prune(workspace_id=workspace_id)
