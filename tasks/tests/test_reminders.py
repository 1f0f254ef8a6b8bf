from __future__ import annotations

import datetime
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tasks import jobs, services
from tasks.models import Task
from tasks.tests.factories import task_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


def reminders(workspace) -> list[dict]:
    return list(Event.objects.filter(workspace=workspace, name="task:reminder").values_list("payload", flat=True))


def make_due(task: Task) -> None:
    Task.objects.filter(pk=task.pk).update(reminder_at=timezone.now() - datetime.timedelta(seconds=1))


def test_a_reminder_is_scheduled_for_its_time_and_sent_once(workspace, django_capture_on_commit_callbacks):
    at = timezone.now() + datetime.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        task = task_factory(workspace=workspace, reminder_at=at)
    queued = DBTaskResult.objects.get(task_path="tasks.jobs.task_reminder_job")
    assert queued.run_after == at
    kwargs = queued.args_kwargs["kwargs"]
    assert kwargs == {"workspace_id": str(workspace.pk), "task_id": str(task.pk)}

    assert jobs.task_reminder_job.call(**kwargs) is False  # not due yet
    make_due(task)
    assert jobs.task_reminder_job.call(**kwargs) is True
    assert jobs.task_reminder_job.call(**kwargs) is False  # a retried job sends nothing more
    sent = reminders(workspace)
    assert [payload["id"] for payload in sent] == [str(task.pk)]
    task.refresh_from_db()
    assert task.reminder_sent_at is not None and sent[0]["reminder_sent_at"] is not None


def test_moving_the_reminder_rearms_it(workspace, django_capture_on_commit_callbacks):
    task = task_factory(workspace=workspace, reminder_at=timezone.now() - datetime.timedelta(minutes=1))
    assert services.task_send_reminder_if_due(workspace_id=workspace.pk, task_id=task.pk)
    later = timezone.now() + datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_update(task=task, data={"reminder_at": later})
    assert task.reminder_sent_at is None
    assert DBTaskResult.objects.filter(run_after=later).count() == 1
    make_due(task)
    assert services.task_send_reminder_if_due(workspace_id=workspace.pk, task_id=task.pk)
    assert len(reminders(workspace)) == 2
    # Saving the same time again is not a new reminder.
    services.task_update(task=task, data={"reminder_at": Task.objects.get(pk=task.pk).reminder_at, "title": "x"})
    assert not services.task_send_reminder_if_due(workspace_id=workspace.pk, task_id=task.pk)


def test_finished_tasks_and_other_workspaces_get_no_reminder(workspace, other_workspace):
    past = timezone.now() - datetime.timedelta(minutes=1)
    done = task_factory(workspace=workspace, reminder_at=past)
    services.task_complete(task=done)
    cancelled = task_factory(workspace=workspace, reminder_at=past, status="cancelled")
    mine = task_factory(workspace=workspace, reminder_at=past)
    for task in (done, cancelled):
        assert not jobs.task_reminder_job.call(workspace_id=str(workspace.pk), task_id=str(task.pk))
    assert not jobs.task_reminder_job.call(workspace_id=str(other_workspace.pk), task_id=str(mine.pk))
    assert reminders(workspace) == [] and reminders(other_workspace) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_a_reminder_exactly_once(workspace):
    tasks = [task_factory(workspace=workspace, reminder_at=timezone.now()) for _ in range(3)]
    count = 6
    barrier = threading.Barrier(count)
    sent: list[int] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            if index % 2:
                sent.append(services.task_reminders_send_due(batch_size=2))
            else:
                sent.append(
                    sum(jobs.task_reminder_job.call(workspace_id=str(workspace.pk), task_id=str(t.pk)) for t in tasks)
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(sent) == 3
    assert sorted(payload["id"] for payload in reminders(workspace)) == sorted(str(t.pk) for t in tasks)


def test_sweep_command_sends_what_is_due_with_progress(workspace, other_workspace):
    past = timezone.now() - datetime.timedelta(minutes=5)
    due = [task_factory(workspace=ws, reminder_at=past) for ws in (workspace, workspace, other_workspace)]
    task_factory(workspace=workspace, reminder_at=timezone.now() + datetime.timedelta(hours=1))
    out, err = io.StringIO(), io.StringIO()
    call_command("send_task_reminders", "--batch-size=2", stdout=out, stderr=err)
    assert "Sent 3 reminder(s)." in out.getvalue()
    assert "3/3" in err.getvalue()
    assert Task.objects.filter(pk__in=[t.pk for t in due], reminder_sent_at__isnull=False).count() == 3
    out = io.StringIO()
    call_command("send_task_reminders", "--no-progress", stdout=out)
    assert "Sent 0 reminder(s)." in out.getvalue()
    assert jobs.task_reminders_sweep_job.call() == 0
