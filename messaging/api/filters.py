from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from messaging.selectors import conversation_filter


class ConversationFilterBackend(BaseFilterBackend):
    """The conversation list's query filters (list action only)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        return conversation_filter(queryset, params=request.query_params, user=request.user)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        def param(name: str, description: str) -> dict[str, Any]:
            return {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "string"},
            }

        return [
            param("status", "Comma-separated: open, pending, snoozed, resolved (closed = resolved), or active."),
            param("assigned_to", "A member's user id, `me` or `none`."),
            param("contact_id", "Only this contact's conversations."),
            param("label", "A label id or name."),
            param("tag", "A tag (exact, case-insensitive)."),
            param("q", "Text in the contact's name or phone or in any message."),
        ]
