"""The job registry: every background job has a name, and callers reach it by that name.

Apps register their ``django.tasks`` tasks in ``AppConfig.ready`` (``register_job``) and, for work
that repeats, a periodic entry naming one of them (``register_periodic``). Services enqueue by
name after their transaction commits (``enqueue_on_commit``), so a service never imports its own
``jobs.py`` (which imports the service) and the scheduler knows names, not apps.

A name registered twice for different tasks stops startup; an unknown name fails at the enqueue
call itself, inside the caller's transaction, not later on the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.tasks import Task, TaskResult

__all__ = [
    "PeriodicJob",
    "UnknownJob",
    "enqueue",
    "enqueue_on_commit",
    "job_task",
    "periodic_jobs",
    "register_job",
    "register_periodic",
]

_JOBS: dict[str, Task] = {}
_PERIODIC: dict[str, PeriodicJob] = {}


class UnknownJob(LookupError):
    """No job is registered under this name."""


@dataclass(frozen=True)
class PeriodicJob:
    """A job the scheduler enqueues every ``interval_setting`` seconds (0 = off), by job name.

    The job must be idempotent and take no arguments: a run may repeat or overlap another.
    """

    name: str
    interval_setting: str
    job_name: str

    @property
    def task(self) -> Task:
        return job_task(self.job_name)

    def interval(self) -> timedelta | None:
        """The interval now configured, or None when the job is switched off."""
        seconds = getattr(settings, self.interval_setting)
        return timedelta(seconds=seconds) if seconds > 0 else None


def _register(registry: dict[str, Any], kind: str, name: str, entry: Any) -> None:
    # The very same entry again is not a conflict: Django may run an app's ready() twice.
    if name in registry and registry[name] != entry:
        raise ImproperlyConfigured(f"The {kind} {name!r} is registered twice ({registry[name]!r} and {entry!r}).")
    registry[name] = entry


def register_job(name: str, task: Task) -> None:
    """Makes ``task`` reachable as ``name`` (``"<app>.<job>"``); call it from ``AppConfig.ready``."""
    _register(_JOBS, "job", name, task)


def register_periodic(name: str, interval_setting: str, job_name: str) -> None:
    """Has the scheduler enqueue the job ``job_name`` every ``settings.<interval_setting>`` seconds.

    ``name`` is the schedule's own name (its ``ScheduleEntry`` row and ``scheduler --list``)."""
    if not hasattr(settings, interval_setting):
        raise ImproperlyConfigured(f"The periodic job {name!r} names a missing setting {interval_setting!r}.")
    _register(_PERIODIC, "periodic job", name, PeriodicJob(name, interval_setting, job_name))


def job_task(name: str) -> Task:
    try:
        return _JOBS[name]
    except KeyError:
        raise UnknownJob(f"No job is registered as {name!r} (known: {', '.join(sorted(_JOBS)) or 'none'}).") from None


def enqueue(name: str, *, run_after: datetime | None = None, **kwargs: Any) -> TaskResult:
    """Enqueues the job now. Prefer ``enqueue_on_commit`` inside a transaction."""
    task = job_task(name)
    if run_after is not None:
        task = task.using(run_after=run_after)
    return task.enqueue(**kwargs)


def enqueue_on_commit(name: str, *, run_after: datetime | None = None, **kwargs: Any) -> None:
    """Enqueues the job once the current transaction commits (never, if it rolls back).

    The name is checked now, so a typo fails the write that made it rather than vanishing."""
    job_task(name)
    transaction.on_commit(lambda: enqueue(name, run_after=run_after, **kwargs))


def periodic_jobs() -> tuple[PeriodicJob, ...]:
    """Every registered periodic job, by name; each must name a registered job."""
    jobs = tuple(sorted(_PERIODIC.values(), key=lambda job: job.name))
    for job in jobs:
        job_task(job.job_name)
    return jobs
