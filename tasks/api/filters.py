from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from tasks.selectors import task_filter

QUERY_PARAMETERS = (
    ("status", "pending, in_progress, completed, cancelled (comma-separated for several)."),
    ("priority", "low, medium, high, urgent (comma-separated for several)."),
    ("type", "follow_up, message, call, meeting, email, other (comma-separated for several)."),
    ("contact", "A contact id (alias: contact_id)."),
    ("deal", "A deal id (alias: deal_id)."),
    ("assigned_to", "A member's user id, `me` or `none`."),
    ("due_after", "ISO date (from the start of that local day) or date-time; inclusive."),
    ("due_before", "ISO date (to the end of that local day) or date-time; inclusive."),
    ("overdue", "true: only overdue tasks; false: only the others."),
    ("q", "Text in title or description (alias: search)."),
    ("updated_since", "ISO 8601 date-time: tasks changed since (for resync)."),
)


class TaskFilterBackend(BaseFilterBackend):
    """The task list's query filters (list and overdue actions)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) not in ("list", "overdue"):
            return queryset
        return task_filter(queryset, params=request.query_params, workspace=request.workspace, user=request.user)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": name, "required": False, "in": "query", "description": text, "schema": {"type": "string"}}
            for name, text in QUERY_PARAMETERS
        ]
