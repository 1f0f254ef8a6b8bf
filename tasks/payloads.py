"""The task as every endpoint and event shows it (below the API layer: services and the API
serializers both build it here)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from tasks.models import Task
from tasks.selectors import local_today, task_is_overdue, task_row
from whatshybrid.api.serializers import instant_text


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


def _day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def task_representation(row: Any, *, now: datetime.datetime, today: datetime.date) -> dict[str, Any]:
    """The task object from a ``selectors.task_rows`` row (or ``task_row`` of one task).

    Written out by hand: DRF's field walk and model instances were most of the list's time.
    """
    contact_id, deal_id, assignee_id = _id(row.contact_id), _id(row.deal_id), _id(row.assigned_to_id)
    return {
        "id": str(row.id),
        "title": row.title,
        "description": row.description,
        "type": row.type,
        "priority": row.priority,
        "status": row.status,
        "due_date": instant_text(row.due_at) if row.due_at is not None else _day(row.due_day),
        "due_all_day": row.due_day is not None,
        "is_overdue": task_is_overdue(row, now=now, today=today),
        "reminder_at": instant_text(row.reminder_at),
        "reminder_sent_at": instant_text(row.reminder_sent_at),
        "completed_at": instant_text(row.completed_at),
        "contact_id": contact_id,
        "contact": {"id": contact_id, "name": row.contact_name, "phone": row.contact_phone} if contact_id else None,
        "deal_id": deal_id,
        "deal": {"id": deal_id, "title": row.deal_title} if deal_id else None,
        "assigned_to": assignee_id,
        "assignee": {"id": assignee_id, "name": row.assignee_name, "email": row.assignee_email}
        if assignee_id
        else None,
        "created_by": _id(row.created_by_id),
        "created_at": instant_text(row.created_at),
        "updated_at": instant_text(row.updated_at),
    }


def task_clock(workspace: Any) -> tuple[datetime.datetime, datetime.date]:
    """One "now" (and the workspace's local date then) for a whole answer, so every row of a
    list is judged against the same instant."""
    now = timezone.now()
    return now, local_today(workspace, now)


def task_payloads(rows: Iterable[Any], *, workspace: Any) -> list[dict[str, Any]]:
    """The objects of these ``task_rows`` rows (or ``Task`` instances), judged at one instant."""
    now, today = task_clock(workspace)
    return [task_representation(task_row(row) if isinstance(row, Task) else row, now=now, today=today) for row in rows]


def task_payload(task: Task) -> dict[str, Any]:
    """The task's object, read through its relations."""
    (payload,) = task_payloads([task], workspace=task.workspace)
    return payload
