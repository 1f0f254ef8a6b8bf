from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from contacts.models import Contact
from crm.models import Deal
from messaging.api.serializers import MemberField
from tasks.models import Task
from tasks.payloads import TaskSerializer
from tasks.selectors import parse_due
from whatshybrid.api.fields import OptionalRelatedIdField, StrictCharField
from whatshybrid.api.serializers import StrictSerializer


@extend_schema_field(OpenApiTypes.STR)
class DueField(serializers.Field):
    """An ISO date (due that day, workspace timezone) or date-time (no offset: workspace wall time)."""

    default_error_messages = {"invalid": "{message}", "date_time": "Must be a date-time, not a date."}

    def __init__(self, *, allow_date: bool = True, **kwargs: Any) -> None:
        self.allow_date = allow_date
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime.date | datetime.datetime | None:
        if data in (None, ""):
            return None
        try:
            value = parse_due(data, workspace=self.context.get("workspace"))
        except ValueError as exc:
            self.fail("invalid", message=str(exc))
        if not self.allow_date and not isinstance(value, datetime.datetime):
            self.fail("date_time")
        return value

    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if value is not None else None


@extend_schema_field(
    {"type": "string", "format": "uuid", "nullable": True, "description": "A member's user id, or null."}
)
class AssigneeField(MemberField):
    """A member's user id; null unassigns. ``""`` is a 400 (not a second spelling of null), like
    the task's other related ids."""

    default_error_messages = {"blank_id": 'Must be a user id or null, not "".', "not_text": "Must be a user id."}

    def to_internal_value(self, data: Any) -> User | None:
        if not isinstance(data, str):
            self.fail("not_text")
        if data == "":
            self.fail("blank_id")
        return super().to_internal_value(data)


class TaskInputSerializer(StrictSerializer):
    """Create/update body (PUT is partial)."""

    echo_fields = frozenset(TaskSerializer.Meta.fields)
    title = StrictCharField(max_length=300)
    description = StrictCharField(max_length=10_000, required=False, allow_blank=True, allow_null=True)
    type = serializers.ChoiceField(choices=Task.Type.choices, required=False)
    priority = serializers.ChoiceField(choices=Task.Priority.choices, required=False)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    due_date = DueField(required=False, allow_null=True)
    reminder_at = DueField(allow_date=False, required=False, allow_null=True)
    contact_id = OptionalRelatedIdField(Contact)
    deal_id = OptionalRelatedIdField(Deal)
    assigned_to = AssigneeField(required=False, allow_null=True)

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("contact", "deal"):
            if f"{name}_id" in attrs:
                attrs[name] = attrs.pop(f"{name}_id")
        return attrs
