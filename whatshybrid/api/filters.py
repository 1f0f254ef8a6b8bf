"""List filters through django-filter: one declaration gives the validation and the OpenAPI
parameters of every list endpoint.

Each app's ``api/filters.py`` declares a ``WorkspaceFilterSet`` whose filters parse their value
with ``whatshybrid.api.params`` (a bad value is a 400 naming the parameter, through the form's
errors) and, where a filter needs logic, a ``method``. The workspace is the request's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

import django_filters
from django import forms
from django.db import connection
from django.db.models import Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from rest_framework.request import Request

from whatshybrid.api import params
from whatshybrid.api.errors import FieldInvalid


class ParsedField(forms.CharField):
    """A form field whose value goes through one of the ``params`` parsers."""

    def __init__(self, *, parse: Callable[..., Any], allow_blank: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.parse, self.allow_blank = parse, allow_blank

    def clean(self, value: Any) -> Any:
        # An id given as ``?contact_id=`` is not "no filter": the schema says it is a UUID.
        if value == "" and not self.allow_blank:
            raise forms.ValidationError("Must not be empty.")
        text = super().clean(value)
        if text in (None, ""):
            return None
        try:
            # The form's errors are keyed by the parameter: the parser's message is enough here.
            return self.parse(text, name="value")
        except FieldInvalid as exc:
            raise forms.ValidationError(exc.reason) from None


class ParsedFilter(django_filters.Filter):
    """A query parameter parsed by ``parse(raw, name=...)``; ``schema_type`` documents it."""

    field_class = ParsedField

    def __init__(
        self, *args: Any, parse: Callable[..., Any], schema_type: Any = OpenApiTypes.STR, **kwargs: Any
    ) -> None:
        super().__init__(*args, parse=parse, **kwargs)
        set_override(self, "field", schema_type)


def text_filter(
    help_text: str, *, method: str | None = None, max_length: int = params.TEXT_MAX_LENGTH, **kwargs: Any
) -> ParsedFilter:
    def parse(raw: str, *, name: str) -> str:
        return params.parse_text(raw, name=name, max_length=max_length)

    return ParsedFilter(parse=parse, method=method, help_text=help_text, **kwargs)


def uuid_filter(help_text: str, **kwargs: Any) -> ParsedFilter:
    return ParsedFilter(
        parse=params.parse_uuid, allow_blank=False, schema_type=OpenApiTypes.UUID, help_text=help_text, **kwargs
    )


def bool_filter(help_text: str, **kwargs: Any) -> ParsedFilter:
    return ParsedFilter(parse=params.parse_bool, schema_type=OpenApiTypes.BOOL, help_text=help_text, **kwargs)


def moment_filter(help_text: str, *, end_of_day: bool = False, **kwargs: Any) -> ParsedFilter:
    def parse(raw: str, *, name: str) -> Any:
        return params.parse_moment(raw, name=name, end_of_day=end_of_day)

    return ParsedFilter(parse=parse, help_text=help_text, **kwargs)


def decimal_filter(help_text: str, **kwargs: Any) -> ParsedFilter:
    return ParsedFilter(parse=params.parse_decimal, schema_type=OpenApiTypes.NUMBER, help_text=help_text, **kwargs)


def choices_filter(help_text: str, *, allowed: Any, **kwargs: Any) -> ParsedFilter:
    """A comma-separated list of ``allowed`` values, filtered with ``__in``."""

    def parse(raw: str, *, name: str) -> list[str]:
        return params.parse_choices(raw, name=name, allowed=allowed)

    kwargs.setdefault("lookup_expr", "in")
    return ParsedFilter(parse=parse, help_text=f"{help_text} One or more of: {', '.join(allowed)}.", **kwargs)


UNASSIGNED = frozenset({"none", "null", "unassigned"})


def _assignee(raw: str, *, name: str) -> str | uuid.UUID:
    value = raw.strip().lower()
    if value in UNASSIGNED:
        return "none"
    if value == "me":
        return value
    try:
        return params.parse_uuid(value, name=name)
    except FieldInvalid:
        raise FieldInvalid(name, "Must be a user id, me or none.") from None


def assignee_filter() -> ParsedFilter:
    """``assigned_to``: a member's user id, ``me`` or ``none``."""
    return ParsedFilter(parse=_assignee, method="by_assignee", help_text="A member's user id, `me` or `none`.")


def tags_contain(tag: str) -> Q:
    """Rows whose JSON list ``tags`` holds ``tag`` (a whole element, exact)."""
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    # SQLite stores the list as JSON text; the quoted, escaped element matches whole tags only.
    return Q(tags__icontains=json.dumps(tag))


def labelled(value: str) -> Q:
    """Rows carrying the label with this id, or with this name (any case)."""
    try:
        return Q(labels__pk=uuid.UUID(value))
    except ValueError:
        return Q(labels__name__iexact=value)


class WorkspaceFilterSet(django_filters.FilterSet):
    """The base of every list's filters: ``updated_since`` for resyncs and parameter aliases.

    ``aliases`` maps an alternative name to its parameter (``{"search": "q"}``); both are
    documented, the parameter wins when both are sent, and errors name the parameter.
    """

    aliases: ClassVar[dict[str, str]] = {}
    updated_since = moment_filter(
        "ISO 8601 date-time: rows changed since (for resync).", field_name="updated_at", lookup_expr="gte"
    )

    def __init__(self, data: Any = None, queryset: QuerySet | None = None, **kwargs: Any) -> None:
        if data is not None and self.aliases:
            data = data.copy()  # a request's QueryDict is immutable
            for alias, name in self.aliases.items():
                value = data.pop(alias, None)
                if value and not data.get(name):
                    data.setlist(name, value)
        super().__init__(data, queryset, **kwargs)

    @property
    def workspace(self) -> Any:
        return getattr(self.request, "workspace", None)

    @property
    def user(self) -> Any:
        return getattr(self.request, "user", None)

    def by_assignee(self, queryset: QuerySet, name: str, value: str | uuid.UUID) -> QuerySet:
        if value == "none":
            return queryset.filter(assigned_to__isnull=True)
        if value == "me":
            return queryset.filter(assigned_to=self.user)
        return queryset.filter(assigned_to_id=value)


@cache
def _parameter_names(filterset_class: type[WorkspaceFilterSet]) -> frozenset[str]:
    return frozenset(filterset_class.base_filters) | frozenset(filterset_class.aliases)


class WorkspaceFilterBackend(DjangoFilterBackend):
    """django-filter's backend, applied to the view's ``filter_actions`` only (lists).

    A request naming none of the filters' parameters (the extension's syncs, a plain page) skips
    building the filter set and its form, a fifth of a 50-row page's CPU when profiled (issue 15): every
    filter is optional and filters nothing when its parameter is absent."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) not in getattr(view, "filter_actions", ("list",)):
            return queryset
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(_parameter_names(filterset_class)):
            return queryset
        return super().filter_queryset(request, queryset, view)
