from __future__ import annotations

from typing import ClassVar

from django.db.models import Q, QuerySet

from whatshybrid.api import filters


class TemplateFilterSet(filters.WorkspaceFilterSet):
    aliases: ClassVar[dict[str, str]] = {"search": "q"}

    category = filters.text_filter(
        "Exact category (case-insensitive).", field_name="category", lookup_expr="iexact", max_length=60
    )
    q = filters.text_filter("Text in name, content or category (alias: search).", method="by_text")
    search = filters.text_filter("Same as q.", method="by_text")

    def by_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(content__icontains=value) | Q(category__icontains=value))
