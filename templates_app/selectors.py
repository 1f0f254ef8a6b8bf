"""Template reads."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from templates_app.models import MessageTemplate
from whatshybrid.api.params import text_param


def template_filter(queryset: QuerySet[MessageTemplate], *, params: Any) -> QuerySet[MessageTemplate]:
    """category (exact, case-insensitive) and q (text in name, content or category)."""
    if category := text_param(params, "category", max_length=60):
        queryset = queryset.filter(category__iexact=category)
    if text := text_param(params, "q", "search"):
        queryset = queryset.filter(Q(name__icontains=text) | Q(content__icontains=text) | Q(category__icontains=text))
    return queryset
