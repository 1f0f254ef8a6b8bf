"""The task as every endpoint and event shows it (below the API layer: services and the API
serializers both build it here)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from contacts.models import Contact
from crm.models import Deal
from tasks.models import Task
from tasks.selectors import local_today, task_is_overdue, task_row
from whatshybrid.api.representation import representation
from whatshybrid.api.serializers import instant_text


class TaskContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "phone"]
        read_only_fields = fields
        columns = {"id": "contact_id", "name": "contact_name", "phone": "contact_phone"}


class TaskDealSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deal
        fields = ["id", "title"]
        read_only_fields = fields
        columns = {"id": "deal_id", "title": "deal_title"}


class TaskUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email"]
        read_only_fields = fields
        columns = {"id": "assigned_to_id", "name": "assignee_name", "email": "assignee_email"}


class TaskListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        return task_payloads(data, workspace=self.context["workspace"])


class TaskSerializer(serializers.ModelSerializer):
    """The task as every endpoint and event shows it: the response and its schema
    (``whatshybrid.api.representation`` builds the object from these fields, reading a
    ``selectors.task_rows`` row).

    ``due_date`` is ``YYYY-MM-DD`` for a task due some time on a day (``due_all_day`` true) and
    an ISO 8601 date-time for one due at an instant.
    """

    due_date = serializers.SerializerMethodField(help_text="YYYY-MM-DD or an ISO 8601 date-time; null when not due.")
    due_all_day = serializers.SerializerMethodField()
    is_overdue = serializers.SerializerMethodField()
    contact_id = serializers.UUIDField(read_only=True, allow_null=True)
    contact = TaskContactSerializer(source="*", read_only=True, allow_null=True)
    deal_id = serializers.UUIDField(read_only=True, allow_null=True)
    deal = TaskDealSerializer(source="*", read_only=True, allow_null=True)
    assigned_to = serializers.UUIDField(source="assigned_to_id", read_only=True, allow_null=True)
    assignee = TaskUserSerializer(source="*", read_only=True, allow_null=True)
    created_by = serializers.UUIDField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = (
            "id",
            "title",
            "description",
            "type",
            "priority",
            "status",
            "due_date",
            "due_all_day",
            "is_overdue",
            "reminder_at",
            "reminder_sent_at",
            "completed_at",
            "contact_id",
            "contact",
            "deal_id",
            "deal",
            "assigned_to",
            "assignee",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        list_serializer_class = TaskListSerializer

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_due_date(self, row: Any) -> str | None:
        if row.due_at is not None:
            return instant_text(row.due_at)
        return None if row.due_day is None else row.due_day.isoformat()

    def get_due_all_day(self, row: Any) -> bool:
        return row.due_day is not None

    def get_is_overdue(self, row: Any, *, now: datetime.datetime, today: datetime.date) -> bool:
        return task_is_overdue(row, now=now, today=today)

    def to_representation(self, task: Any) -> dict[str, Any]:
        (payload,) = task_payloads([task], workspace=self.context.get("workspace") or task.workspace)
        return payload


def task_representation(row: Any, *, now: datetime.datetime, today: datetime.date) -> dict[str, Any]:
    """The task object from a ``selectors.task_rows`` row (or ``task_row`` of one task)."""
    return representation(TaskSerializer)(row, now=now, today=today)


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
