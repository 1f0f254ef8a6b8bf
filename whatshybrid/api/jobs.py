"""Background jobs of the shared plumbing."""

from __future__ import annotations

from django.tasks import task

from whatshybrid.api.pruning import prune_all


@task()
def prune_expired() -> dict[str, int]:
    """Deletes expired rows everywhere; idempotent, so a scheduler may enqueue it freely."""
    return prune_all()
