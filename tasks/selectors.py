"""Task reads: due-date arithmetic in the workspace's timezone and the list filters."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from types import SimpleNamespace
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Workspace
from tasks.models import Task
from whatshybrid.api.errors import ApplicationError
from whatshybrid.api.params import text_param

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
    """An ISO date (a whole day) or date-time; a date-time without offset is local wall time."""
    if not isinstance(raw, str):
        raise ValueError("Must be an ISO 8601 date or date-time string.")
    text = raw.strip()
    try:
        # parse_datetime also reads a bare date (as midnight), so a date is tried first.
        day = parse_date(text)
        moment = None if day else parse_datetime(text.replace(" ", "+") if "T" in text else text)
    except ValueError:
        moment = day = None
    if day is not None:
        return day
    if moment is None:
        raise ValueError("Must be an ISO 8601 date (YYYY-MM-DD) or date-time.")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=workspace_zone(workspace))
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-03:00 is past the last representable instant
        raise ValueError("Date-time out of range.") from None


def _invalid(name: str, message: str) -> ApplicationError:
    return ApplicationError(f"{name}: {message}", code="VALIDATION_ERROR", errors={name: [message]})


def _choices(params: Any, name: str, choices: type) -> list[str] | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    values = [value.strip().lower() for value in raw.split(",") if value.strip()]
    allowed = set(choices.values)
    bad = [value for value in values if value not in allowed]
    if bad:
        raise _invalid(name, f"Unknown value {bad[0]!r}; use one of: {', '.join(sorted(allowed))}.")
    return values


def _uuid(params: Any, *names: str) -> uuid.UUID | None:
    for name in names:
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                return uuid.UUID(raw)
            except ValueError:
                raise _invalid(name, "Must be a UUID.") from None
    return None


def _due_bound(params: Any, name: str, *, workspace: Workspace, upper: bool) -> Q | None:
    """Tasks due on or after (``upper=False``) / on or before the given date or date-time.

    A bare date covers its whole local day; a date-time compares instants with instants and
    matches day tasks whose local day contains or follows/precedes it.
    """
    raw = params.get(name)
    if not raw:
        return None
    try:
        bound = parse_due(raw, workspace=workspace)
    except ValueError as exc:
        raise _invalid(name, str(exc)) from None
    try:
        if isinstance(bound, datetime.datetime):
            day = bound.astimezone(workspace_zone(workspace)).date()
            if upper:
                return Q(due_at__lte=bound) | Q(due_day__lte=day)
            return Q(due_at__gte=bound) | Q(due_day__gte=day)
        if upper:
            return Q(due_at__lt=day_start(workspace, bound + datetime.timedelta(days=1))) | Q(due_day__lte=bound)
        return Q(due_at__gte=day_start(workspace, bound)) | Q(due_day__gte=bound)
    except OverflowError:
        raise _invalid(name, "Date out of range.") from None


def task_filter(queryset: QuerySet[Task], *, params: Any, workspace: Workspace, user: Any = None) -> QuerySet[Task]:
    """status, priority, type (comma lists), contact, deal, assigned_to (id, me, none),
    due_after/due_before, overdue, q."""
    for name, choices in (("status", Task.Status), ("priority", Task.Priority), ("type", Task.Type)):
        if (values := _choices(params, name, choices)) is not None:
            queryset = queryset.filter(**{f"{name}__in": values})
    if (contact := _uuid(params, "contact_id", "contact")) is not None:
        queryset = queryset.filter(contact_id=contact)
    if (deal := _uuid(params, "deal_id", "deal")) is not None:
        queryset = queryset.filter(deal_id=deal)
    assignee = (params.get("assigned_to") or "").strip().lower()
    if assignee == "me":
        queryset = queryset.filter(assigned_to=user)
    elif assignee in ("none", "null", "unassigned"):
        queryset = queryset.filter(assigned_to__isnull=True)
    elif assignee:
        queryset = queryset.filter(assigned_to_id=_uuid(params, "assigned_to"))
    for name, upper in (("due_after", False), ("due_before", True)):
        if (condition := _due_bound(params, name, workspace=workspace, upper=upper)) is not None:
            queryset = queryset.filter(condition)
    overdue = (params.get("overdue") or "").strip().lower()
    if overdue:
        if overdue not in {"true", "false", "1", "0"}:
            raise _invalid("overdue", "Must be true or false.")
        condition = overdue_condition(workspace)
        queryset = queryset.filter(condition) if overdue in {"true", "1"} else queryset.exclude(condition)
    if text := text_param(params, "q", "search"):
        queryset = queryset.filter(Q(title__icontains=text) | Q(description__icontains=text))
    return queryset


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
