"""Resource-keyed pagination: ``{"<resource>": [...], "limit", "next_cursor", "has_more"}``.

Keyset (cursor) paging over the queryset's ordering is the default; it stays fast at any depth
and never skips or repeats rows when others are inserted. The original backend's ``page`` +
``limit`` paging is still accepted and adds ``page`` and ``total``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Model, Q, QuerySet
from rest_framework.request import Request

from whatshybrid.api.errors import ApplicationError, ErrorCode, FieldInvalid
from whatshybrid.api.params import check_day, check_moment

# Beyond this the OFFSET would overflow the database's integer; cursors reach any depth.
MAX_PAGE = 1_000_000


class InvalidPageParameter(ApplicationError):
    default_code = ErrorCode.INVALID_PAGINATION


def rows_within_budget(sizes: Sequence[int | None], budget: int) -> int:
    """How many leading rows of these stored sizes (characters) fit in ``budget``: at least one,
    so a page always advances, and a row larger than the budget by itself is served alone."""
    total = 0
    for count, size in enumerate(sizes):
        total += size or 0
        if total > budget and count:
            return count
    return len(sizes)


def parse_limit(request: Request, *, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidPageParameter("limit must be a whole number.", errors={"limit": ["Must be an integer."]})
    # Larger limits are clamped, never rejected: the extension asks for limit=1000 on sync.
    return max(1, min(value, maximum))


def _ordering_of(queryset: QuerySet) -> list[tuple[str, bool]]:
    """(field, descending) pairs; a trailing ``pk`` keeps the order total."""
    fields = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if not all(isinstance(name, str) for name in fields) or any(name == "?" for name in fields):
        raise TypeError(f"{queryset.model.__name__}: keyset paging needs plain field names to order by, got {fields!r}")
    pairs = [(name.lstrip("-"), name.startswith("-")) for name in fields]
    if not pairs or pairs[-1][0] not in ("pk", "id"):
        pairs.append(("pk", pairs[-1][1] if pairs else True))
    return pairs


def _nullable(queryset: QuerySet, name: str) -> bool:
    return name != "pk" and _resolve_field(queryset.model, name).null


def _ordered(queryset: QuerySet, ordering: list[tuple[str, bool]]) -> QuerySet:
    """Orders by exactly ``ordering`` (pk tie-breaker included) with NULLs pinned last
    ascending and first descending (PostgreSQL's default; SQLite sorts them the other way), so
    the keyset condition in ``_after`` matches the SQL order on both databases."""
    expressions = []
    for name, descending in ordering:
        if not _nullable(queryset, name):
            expressions.append(F(name).desc() if descending else F(name).asc())
        elif descending:
            expressions.append(F(name).desc(nulls_first=True))
        else:
            expressions.append(F(name).asc(nulls_last=True))
    return queryset.order_by(*expressions)


def _encode(values: list[Any]) -> str:
    raw = json.dumps([str(v) if v is not None else None for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, queryset: QuerySet, ordering: list[tuple[str, bool]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw_values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(raw_values, list) or len(raw_values) != len(ordering):
            raise ValueError("shape")
        values = []
        for (name, _desc), raw in zip(ordering, raw_values, strict=True):
            field = queryset.model._meta.pk if name == "pk" else _resolve_field(queryset.model, name)
            values.append(None if raw is None else _in_range(field.to_python(raw)))
        return values
    except (
        ValueError,
        TypeError,
        LookupError,
        binascii.Error,
        UnicodeDecodeError,
        ValidationError,
        FieldInvalid,
    ) as exc:
        raise InvalidPageParameter("cursor is invalid or expired.", errors={"cursor": ["Invalid cursor."]}) from exc


def _in_range(value: Any) -> Any:
    """A cursor's date or date-time, refused when comparing it could overflow in the database."""
    if isinstance(value, datetime.datetime):
        return check_moment(value, name="cursor")
    if isinstance(value, datetime.date):
        return check_day(value, name="cursor")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError("integer out of range")
    return value


def _resolve_field(model: Any, path: str) -> Any:
    field = None
    for part in path.split("__"):
        field = model._meta.get_field(part)
        model = field.related_model or model
    return field


def _value_of(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, "pk" if part == "pk" else part)
    return obj.pk if isinstance(obj, Model) else obj  # ordering by a foreign key means by its id


def _after(ordering: list[tuple[str, bool]], values: list[Any], nullable: set[str]) -> Q:
    """Rows strictly after ``values`` in ``ordering`` (a lexicographic keyset condition).

    NULLs sort after every value ascending and before every value descending (see ``_ordered``).
    """
    condition = Q(pk__in=[])
    equal_prefix = Q()
    for (name, descending), value in zip(ordering, values, strict=True):
        if value is None:
            # Ascending, NULLs come last: nothing is after a NULL. Descending: every value is.
            step = Q(pk__in=[]) if not descending else Q(**{f"{name}__isnull": False})
            equal = Q(**{f"{name}__isnull": True})
        else:
            step = Q(**{f"{name}__lt" if descending else f"{name}__gt": value})
            if not descending and name in nullable:
                step |= Q(**{f"{name}__isnull": True})
            equal = Q(**{name: value})
        condition |= equal_prefix & step
        equal_prefix &= equal
    return condition


class ResourcePagination:
    """Paginates for a view that declares ``resource_name`` and optionally ``max_page_size``."""

    def paginate(
        self, queryset: QuerySet, request: Request, *, default_limit: int, max_limit: int
    ) -> tuple[list[Any], dict[str, Any]]:
        limit = parse_limit(request, default=default_limit, maximum=max_limit)
        ordering = _ordering_of(queryset)
        queryset = _ordered(queryset, ordering)
        page_param = request.query_params.get("page")
        if page_param not in (None, "") and not request.query_params.get("cursor"):
            return self._page(queryset, page_param, limit)
        cursor = request.query_params.get("cursor")
        if cursor:
            nullable = {name for name, _ in ordering if _nullable(queryset, name)}
            queryset = queryset.filter(_after(ordering, _decode(cursor, queryset, ordering), nullable))
        rows = list(queryset[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode([_value_of(rows[-1], name) for name, _ in ordering]) if has_more and rows else None
        return rows, {"limit": limit, "next_cursor": next_cursor, "has_more": has_more}

    @staticmethod
    def _page(queryset: QuerySet, page_param: str, limit: int) -> tuple[list[Any], dict[str, Any]]:
        try:
            page = int(page_param)
            if not 1 <= page <= MAX_PAGE:
                raise ValueError
        except ValueError:
            raise InvalidPageParameter(
                f"page must be a whole number from 1 to {MAX_PAGE}.", errors={"page": ["Invalid page."]}
            )
        offset = (page - 1) * limit
        rows = list(queryset[offset : offset + limit + 1])
        has_more = len(rows) > limit
        return rows[:limit], {
            "limit": limit,
            "page": page,
            "total": queryset.count(),
            "next_cursor": None,
            "has_more": has_more,
        }
