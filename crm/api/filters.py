from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from crm.selectors import deal_filter

QUERY_PARAMETERS = (
    ("stage", "A stage id, or a stage name when exactly one stage has it."),
    ("status", "open, won or lost."),
    ("contact", "A contact id (alias: contact_id)."),
    ("assigned_to", "A user id, 'me' or 'none'."),
    ("label", "A label id or name."),
    ("value_min", "Minimum value, inclusive (alias: min_value)."),
    ("value_max", "Maximum value, inclusive (alias: max_value)."),
    ("q", "Text in the title, description or contact name (alias: search)."),
    ("updated_since", "ISO 8601 date-time: deals changed since (for resync)."),
)


class DealFilterBackend(BaseFilterBackend):
    """The deal list's query filters (list action only)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        return deal_filter(queryset, params=request.query_params, workspace=request.workspace, user=request.user)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": name, "required": False, "in": "query", "description": text, "schema": {"type": "string"}}
            for name, text in QUERY_PARAMETERS
        ]
