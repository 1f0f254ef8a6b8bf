from __future__ import annotations

from typing import ClassVar

from django.db.models import Q, QuerySet

from tasks.models import Task
from tasks.selectors import due_condition, overdue_condition, parse_due
from whatshybrid.api import filters
from whatshybrid.api.errors import FieldInvalid


class TaskFilterSet(filters.WorkspaceFilterSet):
    aliases: ClassVar[dict[str, str]] = {"contact_id": "contact", "deal_id": "deal", "search": "q"}

    status = filters.choices_filter("Comma-separated for several.", allowed=Task.Status.values, field_name="status")
    priority = filters.choices_filter(
        "Comma-separated for several.", allowed=Task.Priority.values, field_name="priority"
    )
    type = filters.choices_filter("Comma-separated for several.", allowed=Task.Type.values, field_name="type")
    contact = filters.uuid_filter("A contact id (alias: contact_id).", field_name="contact_id")
    contact_id = filters.uuid_filter("Same as contact.", field_name="contact_id")
    deal = filters.uuid_filter("A deal id (alias: deal_id).", field_name="deal_id")
    deal_id = filters.uuid_filter("Same as deal.", field_name="deal_id")
    assigned_to = filters.assignee_filter()
    due_after = filters.text_filter(
        "ISO date (from the start of that local day) or date-time; inclusive.", method="by_due"
    )
    due_before = filters.text_filter(
        "ISO date (to the end of that local day) or date-time; inclusive.", method="by_due"
    )
    overdue = filters.bool_filter("true: only overdue tasks; false: only the others.", method="by_overdue")
    q = filters.text_filter("Text in title or description (alias: search).", method="by_text")
    search = filters.text_filter("Same as q.", method="by_text")

    def by_due(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        try:
            bound = parse_due(value, workspace=self.workspace)
        except ValueError as exc:
            raise FieldInvalid(name, str(exc)) from None
        return queryset.filter(due_condition(bound, workspace=self.workspace, upper=name == "due_before"))

    def by_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        condition = overdue_condition(self.workspace)
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def by_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))
