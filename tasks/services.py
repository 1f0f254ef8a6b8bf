"""Task writes. Every write publishes its event inside the same transaction."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from tasks.models import Task
from tasks.payloads import task_payload
from whatshybrid.api.errors import ApplicationError
from whatshybrid.jobs import enqueue_on_commit
from whatshybrid.locking import hold_references, lock_for_delete, lock_to_change
from whatshybrid.realtime.publisher import publish

WRITABLE_FIELDS = (
    "title",
    "description",
    "type",
    "priority",
    "status",
    "due_date",
    "reminder_at",
    "contact",
    "deal",
    "assigned_to",
)


def _set_due(task: Task, due: datetime.date | datetime.datetime | None) -> None:
    # datetime is a subclass of date: test for it first.
    if isinstance(due, datetime.datetime):
        task.due_at, task.due_day = due, None
    else:
        task.due_at, task.due_day = None, due


def _apply(task: Task, data: dict[str, Any], now: datetime.datetime) -> list[str]:
    unknown = set(data) - set(WRITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown task fields: {sorted(unknown)}")
    changed: list[str] = []
    for name, value in data.items():
        if name == "due_date":
            _set_due(task, value)
            changed += ["due_at", "due_day"]
        elif name == "reminder_at":
            if value != task.reminder_at:
                task.reminder_at, task.reminder_sent_at = value, None  # a new time is a new reminder
                changed += ["reminder_at", "reminder_sent_at"]
        else:
            if name in ("contact", "deal") and value is not None and value.workspace_id != task.workspace_id:
                raise ApplicationError(
                    f"{name}_id: Not found in this workspace.",
                    code="VALIDATION_ERROR",
                    errors={f"{name}_id": ["Not found in this workspace."]},
                )
            setattr(task, name, value)
            changed.append(name)
    if "status" in data:
        if task.status == Task.Status.COMPLETED and task.completed_at is None:
            task.completed_at = now
        elif task.status != Task.Status.COMPLETED:
            task.completed_at = None
        changed.append("completed_at")
    return changed


def _hold_links(data: dict[str, Any]) -> None:
    """Locks the contact and deal a write links before anything else (``whatshybrid.locking``)."""
    from contacts.models import Contact
    from crm.models import Deal

    hold_references(Contact, [data.get("contact")], field="contact_id")
    hold_references(Deal, [data.get("deal")], field="deal_id")


def task_reminder_schedule(*, task: Task) -> None:
    """Enqueues the reminder job (after commit) for a task with an unsent reminder time."""
    if task.reminder_at is None or task.reminder_sent_at is not None:
        return
    enqueue_on_commit(
        "tasks.reminder", run_after=task.reminder_at, workspace_id=str(task.workspace_id), task_id=str(task.pk)
    )


@transaction.atomic
def task_create(*, workspace: Workspace, created_by: Any = None, **fields: Any) -> Task:
    """Creates a task. ``due_date`` is a date (a whole local day) or an aware datetime.

    A contact or deal of another workspace is refused here too; ``assigned_to`` must already be
    checked as a member (the API's and the admin's forms do it).
    """
    _hold_links(fields)
    task = Task(workspace=workspace, created_by=created_by)
    _apply(task, fields, timezone.now())
    task.save(force_insert=True)
    task_reminder_schedule(task=task)
    publish(workspace, "task:created", task_payload(task))
    if task.status == Task.Status.COMPLETED:
        publish(workspace, "task:completed", task_payload(task))
    return task


@transaction.atomic
def task_update(*, task: Task, data: dict[str, Any]) -> Task:
    """Partial update; moving to completed stamps ``completed_at`` and also emits task:completed."""
    _hold_links(data)
    task = lock_to_change(Task.objects.select_for_update(of=("self",)).select_related("workspace"), task.pk)
    was_completed = task.status == Task.Status.COMPLETED
    changed = _apply(task, data, timezone.now())
    task.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    if "reminder_at" in changed:
        task_reminder_schedule(task=task)
    payload = task_payload(task)
    publish(task.workspace, "task:updated", payload)
    if task.status == Task.Status.COMPLETED and not was_completed:
        publish(task.workspace, "task:completed", payload)
    return task


@transaction.atomic
def task_complete(*, task: Task) -> Task:
    """Marks the task completed. Idempotent: the row lock makes concurrent calls take turns, and
    only the first stamps ``completed_at`` and emits task:completed."""
    task = lock_to_change(Task.objects.select_for_update(of=("self",)).select_related("workspace"), task.pk)
    if task.status == Task.Status.COMPLETED:
        return task
    task.status, task.completed_at = Task.Status.COMPLETED, timezone.now()
    task.save(update_fields=["status", "completed_at", "updated_at"])
    publish(task.workspace, "task:completed", task_payload(task))
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """Deletes the task; ``task:deleted`` carries ``{id}`` so clients can drop their copy."""
    if not lock_for_delete(task):
        return  # a concurrent delete won and announced it
    workspace_id, task_id = task.workspace_id, str(task.pk)
    task.delete()
    publish(workspace_id, "task:deleted", {"id": task_id})


@transaction.atomic
def task_send_reminder_if_due(*, workspace_id: Any, task_id: Any) -> bool:
    """Emits task:reminder once the reminder time has passed; True only for the call that sends it.

    The claim is one conditional UPDATE: concurrent runs (two workers, the sweep and the
    scheduled job) serialize on the row and the WHERE is re-checked after the first commits, so
    exactly one of them matches. A completed or cancelled task is never reminded.
    """
    now = timezone.now()
    claimed = Task.objects.filter(
        workspace_id=workspace_id,
        pk=task_id,
        status__in=Task.OPEN_STATUSES,
        reminder_at__lte=now,
        reminder_sent_at__isnull=True,
    ).update(reminder_sent_at=now, updated_at=now)
    if not claimed:
        return False
    task = Task.objects.select_related("workspace").get(pk=task_id)
    publish(task.workspace, "task:reminder", task_payload(task))
    return True


def task_reminders_send_due(*, batch_size: int = 500, progress: Callable[[int], Any] | None = None) -> int:
    """Sends every due, unsent reminder across workspaces; returns how many this call sent.

    Each reminder is claimed on its own, so this may run beside the scheduled jobs and other
    sweeps: whatever one of them sends, the others skip.
    """
    from tasks.selectors import task_reminders_due

    sent = 0
    while batch := task_reminders_due(limit=batch_size):
        for workspace_id, task_id in batch:
            sent += task_send_reminder_if_due(workspace_id=workspace_id, task_id=task_id)
            if progress is not None:
                progress(1)
        if len(batch) < batch_size:
            break
    return sent
