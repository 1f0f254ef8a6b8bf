from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
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
)
PAGING_PARAMETERS = (
    ("limit", "Page size (clamped to the endpoint's maximum)."),
    ("cursor", "Opaque cursor from `next_cursor`."),
    ("page", "Page number (original backend's offset paging)."),
    ("updated_since", "ISO 8601 date-time: tasks changed since (for resync)."),
)


def schema_parameters(*, with_paging: bool = False) -> list[OpenApiParameter]:
    """The list filters for the OpenAPI schema (the base schema adds paging to ``list`` only)."""
    pairs = QUERY_PARAMETERS + (PAGING_PARAMETERS if with_paging else ())
    return [OpenApiParameter(name, str, description=text) for name, text in pairs]


class TaskFilterBackend(BaseFilterBackend):
    """The task list's query filters (list and overdue actions)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) not in ("list", "overdue"):
            return queryset
        return task_filter(queryset, params=request.query_params, workspace=request.workspace, user=request.user)
