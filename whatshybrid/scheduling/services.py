"""The scheduler: enqueues due periodic jobs, once per interval across every process running it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from whatshybrid.jobs import PeriodicJob, periodic_jobs
from whatshybrid.scheduling.models import ScheduleEntry

logger = logging.getLogger(__name__)


def schedule_entries(*, jobs: Sequence[PeriodicJob]) -> dict[str, ScheduleEntry]:
    """The jobs' rows, created (never-run) on first sight; concurrent creators all succeed."""
    names = [job.name for job in jobs]
    entries = {entry.name: entry for entry in ScheduleEntry.objects.filter(name__in=names)}
    missing = [name for name in names if name not in entries]
    if missing:
        ScheduleEntry.objects.bulk_create([ScheduleEntry(name=name) for name in missing], ignore_conflicts=True)
        entries.update((entry.name, entry) for entry in ScheduleEntry.objects.filter(name__in=missing))
    return entries


@transaction.atomic
def schedule_claim_and_enqueue(*, job: PeriodicJob, seen: ScheduleEntry, now: datetime) -> bool:
    """Enqueues ``job`` if its row still holds what this scheduler read; True for the one winner.

    The UPDATE is a compare-and-set on ``last_enqueued_at``: when several schedulers read the
    same row, the first UPDATE to commit changes it and the others' WHERE no longer matches
    (PostgreSQL re-checks it after the row lock is released; SQLite serializes writers). The
    task row is written in the same transaction, so a crash between claim and enqueue loses
    neither: both commit or neither does.
    """
    claimed = ScheduleEntry.objects.filter(name=job.name, last_enqueued_at=seen.last_enqueued_at).update(
        last_enqueued_at=now
    )
    if not claimed:
        return False
    result = job.task.enqueue()
    ScheduleEntry.objects.filter(name=job.name).update(last_result_id=result.id)
    return True


def schedule_enqueue_due(*, now: datetime | None = None, jobs: Sequence[PeriodicJob] | None = None) -> list[str]:
    """Enqueues every enabled job whose interval has passed since it was last enqueued.

    A job whose previous run still waits for a worker is left alone: that run will do the same
    work, and a stopped worker must not come back to a pile of identical jobs. Returns the names
    this call enqueued. ``jobs`` defaults to every registered periodic job.
    """
    now = now or timezone.now()
    jobs = periodic_jobs() if jobs is None else jobs
    enabled = [(job, interval) for job in jobs if (interval := job.interval()) is not None]
    if not enabled:
        return []
    entries = schedule_entries(jobs=[job for job, _ in enabled])
    waiting = set(
        DBTaskResult.objects.filter(
            id__in=[entry.last_result_id for entry in entries.values() if entry.last_result_id],
            status=TaskResultStatus.READY,
        ).values_list("id", flat=True)
    )
    enqueued = []
    for job, interval in enabled:
        seen = entries[job.name]
        if seen.last_enqueued_at is not None and now < seen.last_enqueued_at + interval:
            continue
        if seen.last_result_id in waiting:
            continue
        if schedule_claim_and_enqueue(job=job, seen=seen, now=now):
            enqueued.append(job.name)
    return enqueued


def _reclaim_at_start() -> None:
    """Jobs left running by a worker that died before this start go back to the queue now."""
    from whatshybrid.scheduling.leases import jobs_reclaim

    try:
        jobs_reclaim()
    except Exception:
        logger.exception("reclaim at start failed")
    finally:
        close_old_connections()


def scheduler_run(*, stop: threading.Event, tick_seconds: float | None = None) -> None:
    """Runs ``schedule_enqueue_due`` every tick until ``stop`` is set."""
    tick = settings.SCHEDULER_TICK_SECONDS if tick_seconds is None else tick_seconds
    logger.info("scheduler started (tick %ss)", tick)
    _reclaim_at_start()
    while not stop.is_set():
        try:
            enqueued = schedule_enqueue_due()
            if enqueued:
                logger.info("scheduler enqueued: %s", ", ".join(enqueued))
        except Exception:
            # A database that is down or still migrating must not end the loop: the next tick retries.
            logger.exception("scheduler tick failed")
        finally:
            close_old_connections()
        stop.wait(tick)


def task_results_prune() -> int:
    """Deletes background-job results that finished more than ``TASK_RESULT_RETENTION`` ago."""
    cutoff = timezone.now() - settings.TASK_RESULT_RETENTION
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted
