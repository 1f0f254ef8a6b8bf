"""Task reads: due-date arithmetic in the workspace's timezone and the list filters."""

from __future__ import annotations

import datetime
import zoneinfo
from types import SimpleNamespace
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import Workspace
from tasks.models import Task
from whatshybrid.api.errors import FieldInvalid
from whatshybrid.api.params import check_moment, parse_day_or_moment

NOT_DONE = Q(status__in=Task.OPEN_STATUSES)


def workspace_zone(workspace: Workspace) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(workspace.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return datetime.UTC


def local_today(workspace: Workspace, now: datetime.datetime | None = None) -> datetime.date:
    return (now or timezone.now()).astimezone(workspace_zone(workspace)).date()


def day_start(workspace: Workspace, day: datetime.date) -> datetime.datetime:
    """The instant ``day`` begins in the workspace's timezone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=workspace_zone(workspace))


def overdue_condition(workspace: Workspace, now: datetime.datetime | None = None) -> Q:
    """Open tasks whose due instant has passed, or whose due day ended before today (local)."""
    now = now or timezone.now()
    return NOT_DONE & (Q(due_at__lt=now) | Q(due_day__lt=local_today(workspace, now)))


def task_is_overdue(task: Any, *, now: datetime.datetime, today: datetime.date) -> bool:
    """``overdue_condition`` for one task (or row); ``today`` is ``local_today(workspace, now)``."""
    if task.status not in Task.OPEN_STATUSES:
        return False
    if task.due_at is not None:
        return task.due_at < now
    return task.due_day is not None and task.due_day < today


def parse_due(raw: Any, *, workspace: Workspace) -> datetime.date | datetime.datetime:
    """An ISO date (a whole day) or date-time; a date-time without offset is local wall time.

    Raises ``ValueError`` saying why (the task serializer's fields report it on the field).
    """
    if not isinstance(raw, str):
        raise ValueError("Must be an ISO 8601 date or date-time string.")
    try:
        value = parse_day_or_moment(raw, name="due")
        if not isinstance(value, datetime.datetime):
            return value
        if timezone.is_naive(value):
            value = value.replace(tzinfo=workspace_zone(workspace))
        return check_moment(value, name="due")
    except FieldInvalid as exc:
        raise ValueError(exc.reason) from None


def due_condition(bound: datetime.date | datetime.datetime, *, workspace: Workspace, upper: bool) -> Q:
    """Tasks due on or after (``upper=False``) / on or before ``bound`` (from ``parse_due``).

    A bare date covers its whole local day; a date-time compares instants with instants and
    matches day tasks whose local day contains or follows/precedes it.
    """
    if isinstance(bound, datetime.datetime):
        day = bound.astimezone(workspace_zone(workspace)).date()
        if upper:
            return Q(due_at__lte=bound) | Q(due_day__lte=day)
        return Q(due_at__gte=bound) | Q(due_day__gte=day)
    if upper:
        return Q(due_at__lt=day_start(workspace, bound + datetime.timedelta(days=1))) | Q(due_day__lte=bound)
    return Q(due_at__gte=day_start(workspace, bound)) | Q(due_day__gte=bound)


# What the task object shows: the task's columns (attribute names) and, read as plain values
# through the joins, the few columns of its contact, deal and assignee.
TASK_COLUMNS = (
    "id",
    "title",
    "description",
    "type",
    "priority",
    "status",
    "due_at",
    "due_day",
    "reminder_at",
    "reminder_sent_at",
    "completed_at",
    "contact_id",
    "deal_id",
    "assigned_to_id",
    "created_by_id",
    "created_at",
    "updated_at",
)
RELATED_VALUES = {
    "contact_name": F("contact__name"),
    "contact_phone": F("contact__phone"),
    "deal_title": F("deal__title"),
    "assignee_name": F("assigned_to__name"),
    "assignee_email": F("assigned_to__email"),
}
RELATED_COLUMNS = tuple(value.name for value in RELATED_VALUES.values())


def task_rows(queryset: QuerySet[Task]) -> QuerySet:
    """The list's tasks as named tuples of ``TASK_COLUMNS`` + ``RELATED_VALUES``, one query.

    Building a Task and up to three related model instances per row was most of the list's
    time; the rows have the attributes the serializer and the keyset paginator read.
    """
    return queryset.annotate(**RELATED_VALUES).values_list(*TASK_COLUMNS, *RELATED_VALUES, named=True)


def task_row(task: Task) -> SimpleNamespace:
    """One task in the shape of ``task_rows`` (detail, writes, events), read through its relations."""
    contact, deal, assignee = task.contact, task.deal, task.assigned_to
    return SimpleNamespace(
        **{column: getattr(task, column) for column in TASK_COLUMNS},
        contact_name=contact.name if contact else None,
        contact_phone=contact.phone if contact else None,
        deal_title=deal.title if deal else None,
        assignee_name=assignee.name if assignee else None,
        assignee_email=assignee.email if assignee else None,
    )


def task_with_related(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Tasks with what ``task_row`` reads loaded in the same query (one object at a time)."""
    own = [field.name for field in Task._meta.concrete_fields]
    return queryset.select_related("contact", "deal", "assigned_to").only(*own, *RELATED_COLUMNS)


def task_overdue_list(queryset: QuerySet[Task], *, workspace: Workspace) -> QuerySet[Task]:
    return queryset.filter(overdue_condition(workspace))


def _reminders_due() -> QuerySet[Task]:
    return Task.objects.filter(
        status__in=Task.OPEN_STATUSES, reminder_at__lte=timezone.now(), reminder_sent_at__isnull=True
    )


def task_reminders_due(*, limit: int = 1000) -> list[tuple[str, str]]:
    """(workspace id, task id) of open tasks whose reminder time has passed and was not sent."""
    rows = _reminders_due().order_by("reminder_at").values_list("workspace_id", "pk")[:limit]
    return [(str(workspace_id), str(pk)) for workspace_id, pk in rows]


def task_reminders_count_due() -> int:
    return _reminders_due().count()
