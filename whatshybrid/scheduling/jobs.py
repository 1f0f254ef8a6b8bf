"""Background jobs of the scheduler."""

from __future__ import annotations

from django.tasks import task

from whatshybrid.scheduling.leases import jobs_reclaim


@task()
def jobs_reclaim_job() -> dict[str, int]:
    """Idempotent: requeues or fails the running jobs whose worker died."""
    return jobs_reclaim()
