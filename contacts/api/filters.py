from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from contacts.selectors import contact_filter
from contacts.services import workspace_region

QUERY_PARAMETERS = (
    ("search", "Text in name, email or company, or a phone in any format (alias: q)."),
    ("q", "Same as search."),
    ("tag", "Contacts carrying this tag."),
    ("label", "A label id or name."),
    ("source", "Exact source (manual, import, whatsapp...)."),
    ("opted_out", "true or false."),
    ("created_after", "ISO 8601 date or date-time (inclusive)."),
    ("created_before", "ISO 8601 date or date-time (inclusive)."),
    ("updated_after", "ISO 8601 date or date-time (inclusive)."),
    ("updated_before", "ISO 8601 date or date-time (inclusive)."),
    ("updated_since", "ISO 8601 date-time: contacts changed since (for resync)."),
    ("ordering", "created_at, updated_at, name or last_interaction_at; prefix - for descending."),
)


class ContactFilterBackend(BaseFilterBackend):
    """The contact list's query filters (list action only)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        return contact_filter(queryset, params=request.query_params, region=workspace_region(request.workspace))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": name, "required": False, "in": "query", "description": text, "schema": {"type": "string"}}
            for name, text in QUERY_PARAMETERS
        ]
