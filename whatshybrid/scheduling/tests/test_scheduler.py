"""The scheduler enqueues each periodic job once per interval, and the worker's runs do the work."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from accounts.models import AuthSession
from accounts.services import session_revoke, session_start
from tasks.models import Task
from tasks.tests.factories import task_factory
from whatshybrid.api.models import IdempotencyRecord
from whatshybrid.api.pruning import prune_all
from whatshybrid.jobs import periodic_jobs
from whatshybrid.realtime.models import Event
from whatshybrid.realtime.publisher import publish
from whatshybrid.scheduling.models import ScheduleEntry
from whatshybrid.scheduling.services import (
    schedule_claim_and_enqueue,
    schedule_enqueue_due,
    schedule_entries,
    scheduler_run,
)

pytestmark = pytest.mark.django_db

ALL_JOBS = ["prune", "prune_events", "send_task_reminders"]
TASK_PATHS = {job.name: job.task.module_path for job in periodic_jobs()}


@pytest.fixture
def intervals(settings):
    """Distinct intervals, so each step of a test shows which jobs came due."""
    settings.SCHEDULE_PRUNE_SECONDS = 100
    settings.SCHEDULE_PRUNE_EVENTS_SECONDS = 200
    settings.SCHEDULE_TASK_REMINDERS_SECONDS = 50
    return settings


@pytest.fixture(autouse=True)
def _without_the_reclaim_job(settings):
    # These tests follow the three jobs above; the job reclaim has its own tests (test_reclaim.py),
    # the webhook delivery sweep its own (webhooks/tests).
    settings.SCHEDULE_RECLAIM_JOBS_SECONDS = 0
    settings.SCHEDULE_WEBHOOK_DELIVERIES_SECONDS = 0
    settings.JOB_HEARTBEAT_SECONDS = 0  # the in-process worker's jobs need no lease here


@pytest.fixture(autouse=True)
def _worker_keeps_the_test_connection(monkeypatch):
    # The worker loop closes "old" connections between jobs; inside a test's transaction that
    # would close the test's own connection and lose everything it set up.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def run_worker() -> None:
    """django-tasks-db's own worker loop, in batch mode: runs every ready job, then returns."""
    db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="scheduler-test",
        excluded_queue_names=[],
    ).run()


def queued_jobs() -> list[str]:
    names = {path: name for name, path in TASK_PATHS.items()}
    return sorted(names[path] for path in DBTaskResult.objects.values_list("task_path", flat=True))


def test_due_jobs_run_on_the_worker_and_do_their_work(user, workspace, other_workspace):
    long_ago = timezone.now() - timedelta(days=30)
    expired_key = IdempotencyRecord.objects.create(
        workspace=workspace, key="k1", method="POST", path="/x", request_hash="h"
    )
    IdempotencyRecord.objects.filter(pk=expired_key.pk).update(created_at=long_ago)
    session = session_start(user=user, workspace=workspace).session
    session_revoke(session=session, reason="logout")
    old_event = publish(other_workspace, "contact:created", {"id": "old"})
    Event.objects.filter(pk=old_event.pk).update(created_at=long_ago)
    # Created outside on_commit capture: the reminder's own job is never enqueued (a lost job).
    task = task_factory(workspace=workspace, reminder_at=timezone.now() - timedelta(minutes=5))
    assert Task.objects.get(pk=task.pk).reminder_sent_at is None

    assert schedule_enqueue_due() == ALL_JOBS
    assert queued_jobs() == ALL_JOBS
    run_worker()

    results = {row.task_path: row for row in DBTaskResult.objects.all()}
    assert {row.status for row in results.values()} == {TaskResultStatus.SUCCESSFUL}
    assert results[TASK_PATHS["prune"]].return_value["idempotency_keys"] == 1
    assert results[TASK_PATHS["prune_events"]].return_value == 1
    assert results[TASK_PATHS["send_task_reminders"]].return_value == 1
    assert not IdempotencyRecord.objects.exists()
    assert not AuthSession.objects.filter(pk=session.pk).exists()
    assert not Event.objects.filter(pk=old_event.pk).exists()
    assert Event.objects.filter(workspace=workspace, name="task:created").exists()  # within retention: kept
    assert Task.objects.get(pk=task.pk).reminder_sent_at is not None
    reminder = Event.objects.get(workspace=workspace, name="task:reminder")
    assert reminder.payload["id"] == str(task.pk)


def test_each_job_comes_due_once_per_its_own_interval(intervals):
    start = timezone.now()
    assert schedule_enqueue_due(now=start) == ALL_JOBS
    run_worker()
    assert schedule_enqueue_due(now=start + timedelta(seconds=49)) == []
    assert schedule_enqueue_due(now=start + timedelta(seconds=50)) == ["send_task_reminders"]
    assert schedule_enqueue_due(now=start + timedelta(seconds=60)) == []
    run_worker()
    assert schedule_enqueue_due(now=start + timedelta(seconds=100)) == ["prune", "send_task_reminders"]
    run_worker()
    assert schedule_enqueue_due(now=start + timedelta(seconds=200)) == ALL_JOBS
    assert DBTaskResult.objects.filter(task_path=TASK_PATHS["send_task_reminders"]).count() == 4
    assert DBTaskResult.objects.filter(task_path=TASK_PATHS["prune"]).count() == 3
    assert DBTaskResult.objects.filter(task_path=TASK_PATHS["prune_events"]).count() == 2
    assert ScheduleEntry.objects.get(name="prune").last_enqueued_at == start + timedelta(seconds=200)


def test_a_run_still_waiting_for_a_worker_is_not_queued_again(intervals):
    start = timezone.now()
    assert schedule_enqueue_due(now=start) == ALL_JOBS
    # The worker is down for a long time: nothing piles up behind the runs already queued.
    assert schedule_enqueue_due(now=start + timedelta(days=3)) == []
    assert queued_jobs() == ALL_JOBS
    run_worker()
    assert schedule_enqueue_due(now=start + timedelta(days=3)) == ALL_JOBS


def test_an_interval_of_zero_switches_a_job_off(intervals):
    intervals.SCHEDULE_PRUNE_EVENTS_SECONDS = 0
    assert schedule_enqueue_due() == ["prune", "send_task_reminders"]
    assert queued_jobs() == ["prune", "send_task_reminders"]
    assert not ScheduleEntry.objects.filter(name="prune_events").exists()
    out = StringIO()
    call_command("scheduler", "--list", stdout=out)
    assert out.getvalue().splitlines() == [
        "deliver_webhooks: off (SCHEDULE_WEBHOOK_DELIVERIES_SECONDS)",
        "prune: every 100s (SCHEDULE_PRUNE_SECONDS)",
        "prune_events: off (SCHEDULE_PRUNE_EVENTS_SECONDS)",
        "reclaim_jobs: off (SCHEDULE_RECLAIM_JOBS_SECONDS)",
        "send_task_reminders: every 50s (SCHEDULE_TASK_REMINDERS_SECONDS)",
    ]
    intervals.SCHEDULE_PRUNE_SECONDS = intervals.SCHEDULE_TASK_REMINDERS_SECONDS = 0
    assert schedule_enqueue_due(now=timezone.now() + timedelta(days=1)) == []


def test_two_schedulers_that_read_the_same_row_enqueue_once():
    job = periodic_jobs()[0]
    seen_by_a = schedule_entries(jobs=[job])[job.name]
    seen_by_b = schedule_entries(jobs=[job])[job.name]
    now = timezone.now()
    assert schedule_claim_and_enqueue(job=job, seen=seen_by_a, now=now) is True
    assert schedule_claim_and_enqueue(job=job, seen=seen_by_b, now=now + timedelta(seconds=1)) is False
    assert queued_jobs() == [job.name]
    entry = ScheduleEntry.objects.get(name=job.name)
    assert entry.last_enqueued_at == now
    assert str(entry.last_result_id) == str(DBTaskResult.objects.get().id)


@pytest.mark.django_db(transaction=True)
def test_schedulers_racing_in_threads_enqueue_each_job_once_per_interval(intervals):
    start = timezone.now()
    racers = 6
    for step in range(3):
        now = start + timedelta(seconds=200 * step)  # every job is due at each step
        barrier = threading.Barrier(racers)
        won: list[list[str]] = []
        errors: list[BaseException] = []

        def race(now=now, barrier=barrier, won=won, errors=errors) -> None:
            try:
                barrier.wait(timeout=10)
                won.append(schedule_enqueue_due(now=now))
            except BaseException as exc:  # reported below: a thread's exception would vanish
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=race) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert sorted(name for names in won for name in names) == ALL_JOBS, won
        run_worker()
    assert DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).count() == 3 * len(ALL_JOBS)


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_loop_enqueues_and_stops_when_told():
    stop = threading.Event()
    loop = threading.Thread(target=scheduler_run, kwargs={"stop": stop, "tick_seconds": 0.05})
    loop.start()
    try:
        deadline = timezone.now() + timedelta(seconds=20)
        while DBTaskResult.objects.count() < len(ALL_JOBS) and timezone.now() < deadline:
            stop.wait(0.05)
        # Several ticks later, still once each: the intervals (a day, an hour, 5 minutes) have not passed.
        stop.wait(0.3)
        assert queued_jobs() == ALL_JOBS
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()


def test_scheduler_once_enqueues_what_is_due():
    out = StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert out.getvalue().strip() == "enqueued: prune, prune_events, send_task_reminders"
    out = StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert out.getvalue().strip() == "enqueued: nothing due"


def test_finished_job_results_are_pruned_after_retention(settings):
    settings.TASK_RESULT_RETENTION = timedelta(days=7)
    schedule_enqueue_due()
    run_worker()
    finished = list(DBTaskResult.objects.values_list("id", flat=True))
    old, recent = finished[0], finished[1]
    DBTaskResult.objects.filter(pk=old).update(finished_at=timezone.now() - timedelta(days=8))
    waiting = periodic_jobs()[0].task.enqueue()  # no worker has picked it up
    DBTaskResult.objects.filter(pk=waiting.id).update(enqueued_at=timezone.now() - timedelta(days=30))

    assert prune_all(only=["task_results"]) == {"task_results": 1}
    assert not DBTaskResult.objects.filter(pk=old).exists()
    assert DBTaskResult.objects.filter(pk=recent).exists()
    assert DBTaskResult.objects.get(pk=waiting.id).status == TaskResultStatus.READY  # never ran: kept
