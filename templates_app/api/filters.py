from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from templates_app.selectors import template_filter

QUERY_PARAMETERS = (
    ("category", "Exact category (case-insensitive)."),
    ("q", "Text in name, content or category (alias: search)."),
)


class TemplateFilterBackend(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        return template_filter(queryset, params=request.query_params)


def schema_parameters() -> list[OpenApiParameter]:
    return [OpenApiParameter(name, str, description=text) for name, text in QUERY_PARAMETERS]
