"""Reclaiming background jobs whose worker died (``kill -9``, OOM, a lost machine).

django-tasks-db marks a claimed job ``RUNNING`` and only its own worker ever finishes it, so a
worker that dies mid-job left it ``running`` forever. Here every job renews a lease while it
runs (a heartbeat thread in the worker, started by ``task_started``), and ``jobs_reclaim`` puts
the running jobs whose lease expired back in the queue: jobs are idempotent and resumable (an
import resumes after its last committed batch). A job whose workers died ``JOB_MAX_ATTEMPTS``
times fails instead, visibly, with ``WorkerLost``, and ``task_finished`` tells its app.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.tasks import TaskResultStatus
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from whatshybrid.scheduling.models import JobLease

logger = logging.getLogger(__name__)

_beats: dict[str, threading.Event] = {}


class WorkerLost(Exception):
    """The job's worker stopped renewing its lease (it died) too many times."""


def _renew(result_id: str, worker_id: str, stop: threading.Event) -> None:
    try:
        while True:
            JobLease.objects.update_or_create(
                result_id=result_id, defaults={"worker_id": worker_id[:64], "beat_at": timezone.now()}
            )
            close_old_connections()
            if stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                break
        JobLease.objects.filter(result_id=result_id).delete()
    except Exception:  # a missed beat only risks a needless reclaim, which the job survives
        logger.exception("Heartbeat of job %s failed", result_id)
    finally:
        close_old_connections()


def _start_heartbeat(sender: Any, task_result: Any, **kwargs: Any) -> None:
    # The worker sends the backend instance, the backend itself its class.
    backend = sender if isinstance(sender, type) else type(sender)
    if not issubclass(backend, DatabaseBackend) or settings.JOB_HEARTBEAT_SECONDS <= 0:
        return
    stop = _beats[task_result.id] = threading.Event()
    worker_id = (task_result.worker_ids or [""])[-1]
    threading.Thread(
        target=_renew, args=(task_result.id, worker_id, stop), name=f"heartbeat-{task_result.id}", daemon=True
    ).start()


def _stop_heartbeat(sender: Any, task_result: Any, **kwargs: Any) -> None:
    stop = _beats.pop(task_result.id, None)
    if stop is not None:
        stop.set()


def leases_connect() -> None:
    """Hooks the heartbeat to every job a worker of this process runs."""
    task_started.connect(_start_heartbeat, dispatch_uid="whl-job-heartbeat-start")
    task_finished.connect(_stop_heartbeat, dispatch_uid="whl-job-heartbeat-stop")


def jobs_reclaim(*, now: datetime | None = None) -> dict[str, int]:
    """Requeues (or, past ``JOB_MAX_ATTEMPTS`` workers, fails) running jobs whose lease expired.

    A job started less than one lease ago counts as alive even before its first beat. Rows are
    taken with ``SKIP LOCKED`` so concurrent reclaims never handle one job twice.
    """
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(seconds=settings.JOB_LEASE_SECONDS)
    alive = JobLease.objects.filter(beat_at__gte=cutoff).values("result_id")
    counts = {"requeued": 0, "failed": 0}
    with transaction.atomic():
        stale = list(
            DBTaskResult.objects.running()
            .filter(started_at__lt=cutoff)
            .exclude(id__in=alive)
            .select_for_update(skip_locked=True)
        )
        for result in stale:
            if len(result.worker_ids) < settings.JOB_MAX_ATTEMPTS:
                result.status = TaskResultStatus.READY
                result.save(update_fields=["status"])
                counts["requeued"] += 1
                logger.warning("Requeued job %s (%s): its worker died", result.id, result.task_path)
                continue
            result.set_failed(WorkerLost(f"The workers of this job died {len(result.worker_ids)} times."))
            counts["failed"] += 1
            logger.error("Failed job %s (%s): its workers kept dying", result.id, result.task_path)
            finished = result.task_result
            transaction.on_commit(lambda finished=finished: task_finished.send(DatabaseBackend, task_result=finished))
        JobLease.objects.filter(beat_at__lt=cutoff).delete()
    return counts
