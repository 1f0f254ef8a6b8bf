"""The job registry: apps register by name at startup, services enqueue by name after commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from whatshybrid import jobs
from whatshybrid.api.jobs import prune_expired
from whatshybrid.realtime.jobs import events_prune_job


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch):
    """Registrations made by a test stay in that test."""
    monkeypatch.setattr(jobs, "_JOBS", dict(jobs._JOBS))
    monkeypatch.setattr(jobs, "_PERIODIC", dict(jobs._PERIODIC))


def test_every_app_registers_its_jobs_and_periodic_jobs_at_startup():
    assert set(jobs._JOBS) == {
        "api.prune",
        "contacts.import",
        "messaging.conversation_wake",
        "realtime.prune_events",
        "scheduling.reclaim_jobs",
        "tasks.reminder",
        "tasks.reminders_sweep",
        "webhooks.deliver",
        "webhooks.deliver_due",
    }
    assert [(job.name, job.interval_setting, job.job_name) for job in jobs.periodic_jobs()] == [
        ("deliver_webhooks", "SCHEDULE_WEBHOOK_DELIVERIES_SECONDS", "webhooks.deliver_due"),
        ("prune", "SCHEDULE_PRUNE_SECONDS", "api.prune"),
        ("prune_events", "SCHEDULE_PRUNE_EVENTS_SECONDS", "realtime.prune_events"),
        ("reclaim_jobs", "SCHEDULE_RECLAIM_JOBS_SECONDS", "scheduling.reclaim_jobs"),
        ("send_task_reminders", "SCHEDULE_TASK_REMINDERS_SECONDS", "tasks.reminders_sweep"),
    ]


def test_a_name_registered_twice_for_different_jobs_stops_startup():
    jobs.register_job("api.prune", prune_expired)  # the same registration again (ready() run twice)
    with pytest.raises(ImproperlyConfigured, match="'api.prune' is registered twice"):
        jobs.register_job("api.prune", events_prune_job)
    with pytest.raises(ImproperlyConfigured, match="'prune' is registered twice"):
        jobs.register_periodic("prune", interval_setting="SCHEDULE_PRUNE_EVENTS_SECONDS", job_name="api.prune")
    with pytest.raises(ImproperlyConfigured, match="missing setting 'NO_SUCH_SECONDS'"):
        jobs.register_periodic("other", interval_setting="NO_SUCH_SECONDS", job_name="api.prune")


@pytest.mark.django_db
def test_an_unknown_name_fails_at_the_enqueue_call():
    with pytest.raises(jobs.UnknownJob, match="'contacts.imprt'.*contacts.import"):
        jobs.enqueue("contacts.imprt", workspace_id="w", import_id="i")
    with transaction.atomic(), pytest.raises(jobs.UnknownJob):
        jobs.enqueue_on_commit("contacts.imprt", workspace_id="w", import_id="i")
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_a_periodic_job_naming_an_unknown_job_is_refused_when_listed():
    jobs.register_periodic("orphan", interval_setting="SCHEDULE_PRUNE_SECONDS", job_name="gone.job")
    with pytest.raises(jobs.UnknownJob, match="'gone.job'"):
        jobs.periodic_jobs()


@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit_enqueues_after_commit_and_never_after_a_rollback():
    later = timezone.now() + timedelta(hours=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        jobs.enqueue_on_commit("realtime.prune_events", workspace_id=None)
        raise RuntimeError("the write fails")
    assert not DBTaskResult.objects.exists()

    with transaction.atomic():
        jobs.enqueue_on_commit("realtime.prune_events", run_after=later, workspace_id=None)
        assert not DBTaskResult.objects.exists()  # not before the commit
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "whatshybrid.realtime.jobs.events_prune_job"
    assert queued.run_after == later
    assert queued.status == TaskResultStatus.READY
    assert queued.args_kwargs["kwargs"] == {"workspace_id": None}
