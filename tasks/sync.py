"""``POST /tasks/sync`` and ``GET /tasks/data``: the extension's task list.

A client task is the task row with its client key (or the row's own id once the client adopted
it); its ``contactId`` is the contact's phone, resolved to the workspace's contact of that phone
identity. Newer copies win on ``updatedAt``; unchanged ones write and publish nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Workspace
from contacts.models import Contact
from contacts.phones import normalize_phone
from contacts.services import workspace_region
from contacts.sync import as_uuid, chunks, read_tags, row_key
from tasks.models import Task
from tasks.payloads import task_payloads as task_representations
from tasks.selectors import task_rows
from tasks.services import task_reminder_schedule
from whatshybrid.api.bodies import read_choice, read_id, read_list, read_moment, read_object, read_text
from whatshybrid.api.serializers import instant_text
from whatshybrid.realtime.publisher import publish_many

MAX_TASKS = 20_000
EVENT_BATCH = 500
FIELDS = ("title", "description", "type", "priority", "status", "due_at", "due_day", "reminder_at", "completed_at")


@dataclass
class TaskIn:
    key: str
    phone: str  # as the client sent it (digits)
    identity: str | None  # its E.164 identity, when it is a phone
    values: dict[str, Any]
    tags: list[str]
    updated_at: datetime.datetime | None


def read_tasks(body: Any, *, workspace: Workspace) -> list[TaskIn]:
    body = read_object(body, "body")
    region = workspace_region(workspace)
    items = []
    for index, value in enumerate(read_list(body.get("tasks"), "tasks", max_items=MAX_TASKS)):
        path = f"tasks[{index}]"
        item = read_object(value, path)
        phone = read_text(item, "contactId", path, max_length=64)
        try:
            identity = normalize_phone(phone, default_region=region) if phone else None
        except ValueError:
            identity = None  # not a phone: kept as the client's text, linked to no contact
        due = read_moment(item, "dueDate", path, day_allowed=True)
        status = read_choice(item, "status", path, choices=Task.Status.values, default=Task.Status.PENDING)
        completed_at = read_moment(item, "completedAt", path)
        values = {
            "title": read_text(item, "title", path, max_length=300),
            "description": read_text(item, "description", path, max_length=20_000),
            "type": read_choice(item, "type", path, choices=Task.Type.values, default=Task.Type.FOLLOW_UP),
            "priority": read_choice(item, "priority", path, choices=Task.Priority.values, default=Task.Priority.MEDIUM),
            "status": status,
            "due_at": due if isinstance(due, datetime.datetime) else None,
            "due_day": due if due is not None and not isinstance(due, datetime.datetime) else None,
            "reminder_at": read_moment(item, "reminderDate", path),
            # The database holds completed_at exactly when the status is completed.
            "completed_at": (completed_at or timezone.now()) if status == Task.Status.COMPLETED else None,
        }
        items.append(
            TaskIn(
                key=read_id(item, "id", path),
                phone=phone,
                identity=identity,
                values=values,
                tags=read_tags(item, path),
                updated_at=read_moment(item, "updatedAt", path),
            )
        )
    return items


def _contacts_by_phone(workspace: Workspace, phones: set[str]) -> dict[str, Any]:
    found = {}
    for part in chunks(sorted(phones)):
        # Unordered: ordered, SQLite walks the workspace's created_at index (tests/test_query_plans.py).
        found.update(Contact.objects.filter(workspace=workspace, phone__in=part).order_by().values_list("phone", "pk"))
    return found


@transaction.atomic
def tasks_sync(*, workspace: Workspace, body: Any, user: Any = None) -> dict[str, Any]:
    """Merges the client's tasks into the workspace's and returns ``{synced, data}``."""
    items = read_tasks(body, workspace=workspace)
    now = timezone.now()
    contacts = _contacts_by_phone(workspace, {item.identity for item in items if item.identity})
    existing: dict[Any, Task] = {}
    for part in chunks(items):
        keys = [item.key for item in part]
        pks = [pk for pk in map(as_uuid, keys) if pk is not None]
        # Unordered: ordered, SQLite walks the workspace's created_at index (tests/test_query_plans.py).
        existing.update(
            (row.pk, row)
            for row in Task.objects.filter(Q(client_key__in=keys) | Q(pk__in=pks), workspace=workspace).order_by()
        )
    by_key = {row.client_key: row for row in existing.values() if row.client_key}
    created, updated, adopted, completed = [], [], [], []
    seen: set[Any] = set()
    for item in reversed(items):  # the last copy of a repeated id wins
        row = by_key.get(item.key) or existing.get(as_uuid(item.key))
        if (row.pk if row else item.key) in seen:
            continue
        seen.add(row.pk if row else item.key)
        wanted = {
            **item.values,
            "contact_id": contacts.get(item.identity),
            "client_extra": {"contactId": item.phone, "tags": item.tags},
        }
        if row is None:
            row = Task(workspace=workspace, created_by=user, client_key=item.key, **wanted)
            created.append(row)
            if row.status == Task.Status.COMPLETED:
                completed.append(row)
            continue
        adopts = row.client_key is None and as_uuid(item.key) is None
        if adopts:
            row.client_key = item.key
        edits = {}
        if item.updated_at is not None and item.updated_at > row.updated_at:
            if wanted["reminder_at"] != row.reminder_at:
                wanted["reminder_sent_at"] = None  # a new time is a new reminder
            if row.status == Task.Status.COMPLETED and wanted["status"] == Task.Status.COMPLETED:
                wanted["completed_at"] = row.completed_at
            edits = {name: value for name, value in wanted.items() if getattr(row, name) != value}
        if edits:
            if edits.get("status") == Task.Status.COMPLETED:
                completed.append(row)
            for name, value in edits.items():
                setattr(row, name, value)
            row.updated_at = now
            updated.append(row)
        elif adopts:
            adopted.append(row)
    Task.objects.bulk_create(created, batch_size=500)
    Task.objects.bulk_update(
        updated, [*FIELDS, "reminder_sent_at", "contact", "client_key", "client_extra", "updated_at"], batch_size=500
    )
    Task.objects.bulk_update(adopted, ["client_key"], batch_size=500)
    for row in [*created, *updated]:
        task_reminder_schedule(task=row)
    events = [("task:created", p) for p in task_payloads(workspace, created)]
    events += [("task:updated", p) for p in task_payloads(workspace, updated)]
    events += [("task:completed", p) for p in task_payloads(workspace, completed)]
    for part in chunks(events, EVENT_BATCH):
        publish_many(workspace, part)
    return {"synced": len(items), "data": tasks_data(workspace=workspace)}


def task_payloads(workspace: Workspace, tasks: list[Task]) -> list[dict[str, Any]]:
    """The REST representation of ``tasks`` (what ``task:*`` events carry), one query per chunk."""
    payloads = []
    for part in chunks([task.pk for task in tasks]):
        rows = task_rows(Task.objects.filter(pk__in=part).order_by("created_at", "id"))
        payloads += task_representations(rows, workspace=workspace)
    return payloads


def tasks_data(*, workspace: Workspace) -> dict[str, Any]:
    rows = (
        Task.objects.filter(workspace=workspace)
        .annotate(contact_phone=F("contact__phone"))
        .order_by("created_at", "id")
    )
    tasks = []
    for task in rows.iterator(chunk_size=2000):
        due = instant_text(task.due_at) if task.due_at else (task.due_day.isoformat() if task.due_day else None)
        tasks.append(
            {
                "id": row_key(task),
                "title": task.title,
                "description": task.description,
                "type": task.type,
                "priority": task.priority,
                "status": task.status,
                "contactId": task.contact_phone.lstrip("+")
                if task.contact_phone
                else task.client_extra.get("contactId"),
                "dueDate": due,
                "reminderDate": instant_text(task.reminder_at),
                "tags": task.client_extra.get("tags", []),
                "createdAt": instant_text(task.created_at),
                "updatedAt": instant_text(task.updated_at),
                "completedAt": instant_text(task.completed_at),
            }
        )
    return {"tasks": tasks, "lastSync": int(timezone.now().timestamp() * 1000)}
