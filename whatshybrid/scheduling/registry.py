"""The periodic jobs: name, the setting holding its interval in seconds (0 = off), the task.

Every task here must be idempotent and take no arguments: a run may repeat or overlap another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.tasks import Task

from tasks.jobs import task_reminders_sweep_job
from whatshybrid.api.jobs import prune_expired
from whatshybrid.realtime.jobs import events_prune_job
from whatshybrid.scheduling.jobs import jobs_reclaim_job


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_setting: str
    task: Task

    def interval(self) -> timedelta | None:
        """The interval now configured, or None when the job is switched off."""
        seconds = getattr(settings, self.interval_setting)
        return timedelta(seconds=seconds) if seconds > 0 else None


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("prune", "SCHEDULE_PRUNE_SECONDS", prune_expired),
    PeriodicJob("prune_events", "SCHEDULE_PRUNE_EVENTS_SECONDS", events_prune_job),
    PeriodicJob("send_task_reminders", "SCHEDULE_TASK_REMINDERS_SECONDS", task_reminders_sweep_job),
    # Reclaims jobs whose worker died (whatshybrid/scheduling/leases.py).
    PeriodicJob("reclaim_jobs", "SCHEDULE_RECLAIM_JOBS_SECONDS", jobs_reclaim_job),
)
