"""Template reads."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from templates_app.models import MessageTemplate


def template_filter(queryset: QuerySet[MessageTemplate], *, params: Any) -> QuerySet[MessageTemplate]:
    """category (exact, case-insensitive) and q (text in name, content or category)."""
    if category := (params.get("category") or "").strip():
        queryset = queryset.filter(category__iexact=category[:60])
    if text := (params.get("q") or params.get("search") or "").strip():
        text = text[:200]
        queryset = queryset.filter(Q(name__icontains=text) | Q(content__icontains=text) | Q(category__icontains=text))
    return queryset
