"""Contact reads: the list's filters and the detail's related items."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import uuid
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Workspace
from contacts.models import Contact
from contacts.phones import normalize_phone
from whatshybrid.api.errors import ApplicationError

ORDERINGS = frozenset({"created_at", "updated_at", "name", "last_interaction_at"})
RELATED_LIMIT = 10
# (app label, model, fields shown); a model another app has not built yet yields [].
RELATED_MODELS = {
    "conversations": ("messaging", "Conversation", ("id", "status", "last_message_at", "created_at", "updated_at")),
    "deals": ("crm", "Deal", ("id", "title", "value", "stage_id", "status", "created_at", "updated_at")),
    "tasks": ("tasks", "Task", ("id", "title", "status", "priority", "due_at", "due_day", "created_at", "updated_at")),
}
_DIGITS = re.compile(r"\D")


def _invalid(name: str, message: str) -> ApplicationError:
    return ApplicationError(f"{name}: {message}", code="VALIDATION_ERROR", errors={name: [message]})


def _moment(name: str, raw: str, *, end_of_day: bool = False) -> datetime.datetime:
    try:
        moment = parse_datetime(raw.replace(" ", "+"))
        day = None if moment else parse_date(raw)
    except ValueError:
        moment = day = None
    if day is not None:
        moment = datetime.datetime.combine(day, datetime.time.max if end_of_day else datetime.time.min)
    if moment is None:
        raise _invalid(name, "Must be an ISO 8601 date or date-time.")
    return timezone.make_aware(moment, datetime.UTC) if timezone.is_naive(moment) else moment


def _tag_filter(tag: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    # SQLite stores the list as JSON text; the quoted, escaped element matches whole tags only.
    return Q(tags__icontains=json.dumps(tag))


def search_filter(text: str, *, region: str) -> Q:
    """Name, email or phone; a phone typed in any format finds its contact."""
    condition = Q(name__icontains=text) | Q(email__icontains=text) | Q(company__icontains=text)
    digits = _DIGITS.sub("", text)
    if len(digits) >= 3:
        condition |= Q(phone__contains=digits)
    with contextlib.suppress(ValueError):
        condition |= Q(phone=normalize_phone(text, default_region=region))
    return condition


def _reject_nul(params: Any) -> None:
    # PostgreSQL cannot hold NUL in text: it would fail inside the query as a 500.
    for name, value in params.items():
        if "\x00" in str(value):
            raise _invalid(str(name), "Must not contain NUL characters.")


def contact_filter(queryset: QuerySet[Contact], *, params: Any, region: str) -> QuerySet[Contact]:
    """search/q, tag, label, source, opted_out, created_/updated_ after/before, ordering."""
    _reject_nul(params)
    text = (params.get("q") or params.get("search") or "").strip()
    if text:
        queryset = queryset.filter(search_filter(text[:200], region=region))
    if tag := (params.get("tag") or "").strip():
        queryset = queryset.filter(_tag_filter(tag))
    if label := (params.get("label") or "").strip():
        try:
            queryset = queryset.filter(labels__pk=uuid.UUID(label))
        except ValueError:
            queryset = queryset.filter(labels__name__iexact=label)
    if source := (params.get("source") or "").strip():
        queryset = queryset.filter(source=source)
    opted_out = (params.get("opted_out") or "").strip().lower()
    if opted_out:
        if opted_out not in {"true", "false", "1", "0"}:
            raise _invalid("opted_out", "Must be true or false.")
        queryset = queryset.filter(opted_out=opted_out in {"true", "1"})
    for field in ("created", "updated"):
        if raw := params.get(f"{field}_after"):
            queryset = queryset.filter(**{f"{field}_at__gte": _moment(f"{field}_after", raw)})
        if raw := params.get(f"{field}_before"):
            queryset = queryset.filter(**{f"{field}_at__lte": _moment(f"{field}_before", raw, end_of_day=True)})
    ordering = (params.get("ordering") or "").strip()
    if ordering:
        if ordering.lstrip("-") not in ORDERINGS:
            raise _invalid("ordering", f"One of: {', '.join(sorted(ORDERINGS))} (prefix - for descending).")
        queryset = queryset.order_by(ordering, "-id" if ordering.startswith("-") else "id")
    return queryset.distinct() if label else queryset


def _related_rows(contact: Contact, app_label: str, model_name: str, wanted: tuple[str, ...]) -> list[dict]:
    try:
        model: type[Model] = apps.get_model(app_label, model_name)
    except LookupError:
        return []
    names = {field.attname for field in model._meta.concrete_fields}
    if "contact_id" not in names:
        return []
    shown = [name for name in wanted if name in names]
    order = "-updated_at" if "updated_at" in names else "-pk"
    scope = {"contact_id": contact.pk}
    if "workspace_id" in names:
        scope["workspace_id"] = contact.workspace_id
    return list(model._default_manager.filter(**scope).order_by(order).values(*shown)[:RELATED_LIMIT])


def contact_related(*, contact: Contact) -> dict[str, list[dict]]:
    """The contact's most recent conversations, deals and tasks (id, title/status, dates)."""
    return {key: _related_rows(contact, *spec) for key, spec in RELATED_MODELS.items()}


def workspace_by_id(raw: str) -> Workspace | None:
    """The workspace a command names by id, or None for a malformed or unknown id."""
    try:
        return Workspace.objects.filter(pk=uuid.UUID(str(raw))).first()
    except ValueError:
        return None
