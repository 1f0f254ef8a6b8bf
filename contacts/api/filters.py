from __future__ import annotations

from typing import ClassVar

from django.db.models import QuerySet

from contacts.selectors import ORDERINGS, search_filter
from contacts.services import workspace_region
from whatshybrid.api import filters
from whatshybrid.api.errors import FieldInvalid


def _ordering(raw: str, *, name: str) -> str:
    if raw.lstrip("-") not in ORDERINGS:
        raise FieldInvalid(name, f"One of: {', '.join(sorted(ORDERINGS))} (prefix - for descending).")
    return raw


class ContactFilterSet(filters.WorkspaceFilterSet):
    aliases: ClassVar[dict[str, str]] = {"search": "q"}

    q = filters.text_filter(
        "Text in name, email or company, or a phone in any format (alias: search).", method="by_text"
    )
    search = filters.text_filter("Same as q.", method="by_text")
    tag = filters.text_filter("Contacts carrying this tag.", method="by_tag")
    label = filters.text_filter("A label id or name.", method="by_label")
    source = filters.text_filter("Exact source (manual, import, whatsapp...).", field_name="source")
    opted_out = filters.bool_filter("true or false.", field_name="opted_out")
    created_after = filters.moment_filter(
        "ISO 8601 date or date-time (inclusive).", field_name="created_at", lookup_expr="gte"
    )
    created_before = filters.moment_filter(
        "ISO 8601 date or date-time (inclusive).", end_of_day=True, field_name="created_at", lookup_expr="lte"
    )
    updated_after = filters.moment_filter(
        "ISO 8601 date or date-time (inclusive).", field_name="updated_at", lookup_expr="gte"
    )
    updated_before = filters.moment_filter(
        "ISO 8601 date or date-time (inclusive).", end_of_day=True, field_name="updated_at", lookup_expr="lte"
    )
    ordering = filters.ParsedFilter(
        parse=_ordering,
        method="by_ordering",
        help_text="created_at, updated_at, name or last_interaction_at; prefix - for descending.",
    )

    def by_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(search_filter(value, region=workspace_region(self.workspace)))

    def by_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(filters.tags_contain(value))

    def by_label(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(filters.labelled(value)).distinct()

    def by_ordering(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(value, "-id" if value.startswith("-") else "id")
