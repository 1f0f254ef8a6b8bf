"""Task reminders (``django.tasks``; the worker is ``manage.py db_worker``)."""

from __future__ import annotations

from django.tasks import task

from tasks import services


@task()
def task_reminder_job(*, workspace_id: str, task_id: str) -> bool:
    """Sends one task's reminder if it is due and unsent; enqueued to run at ``reminder_at``.

    Idempotent: a retried or duplicate run, or one for a reminder that was moved, sent already
    or belongs to a finished task, changes nothing. Returns whether this run sent it.
    """
    return services.task_send_reminder_if_due(workspace_id=workspace_id, task_id=task_id)


@task()
def task_reminders_sweep_job() -> int:
    """Sends every due, unsent reminder (a safety net for jobs lost before they ran); idempotent."""
    return services.task_reminders_send_due()
