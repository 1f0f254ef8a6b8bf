"""CRM reads: the pipeline board, deal filters and the timeline."""

from __future__ import annotations

import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, DecimalField, F, Model, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower

from accounts.models import Workspace
from crm.models import Deal, DealActivity, Label, PipelineStage
from whatshybrid.api.errors import FieldInvalid

ACTIVITY_LIMIT = 50
# The joined contact and stage columns the deal serializer shows, read as plain values: building
# a Contact and a PipelineStage per row cost more than the rest of the deal list.
RELATED_VALUES = {
    "contact_name": F("contact__name"),
    "contact_phone": F("contact__phone"),
    "stage_name": F("stage__name"),
}


def stage_list(*, workspace: Workspace) -> QuerySet:
    """Stages in position order, each with its deal count and total value (one grouped query)."""
    return with_totals(PipelineStage.objects.filter(workspace=workspace))


def with_totals(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(
        deal_count=Count("deals"),
        total_value=Coalesce(
            Sum("deals__value"),
            Value(decimal.Decimal("0")),
            output_field=DecimalField(max_digits=20, decimal_places=2),
        ),
    ).order_by("position", "id")


def _by_id_or_name(model: type, *, workspace: Workspace, value: Any, field: str) -> Any:
    """A row of the workspace by id, or by name (any case) when exactly one row has it."""
    what = model._meta.verbose_name
    if not isinstance(value, str) or not value.strip():
        raise FieldInvalid(field, f"Must be a {what} id or name.")
    # PostgreSQL cannot hold NUL in text: it would fail inside the query as a 500.
    if "\x00" in value:
        raise FieldInvalid(field, "Must not contain NUL characters.")
    rows = model.objects.filter(workspace=workspace)
    try:
        row = rows.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        matches = list(rows.annotate(lname=Lower("name")).filter(lname=value.strip().lower())[:2])
        if len(matches) > 1:
            raise FieldInvalid(field, f"Several {what}s are named {value!r}; use the {what} id.") from None
        row = matches[0] if matches else None
    if row is None:
        raise FieldInvalid(field, f"{what.capitalize()} {value!r} not found.")
    return row


def stage_resolve(*, workspace: Workspace, value: Any, field: str = "stage") -> PipelineStage:
    return _by_id_or_name(PipelineStage, workspace=workspace, value=value, field=field)


def label_resolve(*, workspace: Workspace, value: Any, field: str = "label") -> Label:
    return _by_id_or_name(Label, workspace=workspace, value=value, field=field)


def with_relations(queryset: QuerySet) -> QuerySet:
    """Deals with the contact and stage values the serializer shows, in the same query."""
    return queryset.annotate(**RELATED_VALUES)


def deal_list_prefetch(queryset: QuerySet) -> list[Deal]:
    """Deals with their contact, stage and labels read in a fixed number of queries."""
    deals = list(with_relations(queryset))
    attach_deal_labels(deals)
    return deals


def _label_order(row: dict[str, Any]) -> tuple[str, str]:
    return row["name"].casefold(), row["name"]


def attach_label_rows(objects: Iterable[Model], link: type[Model], owner: str) -> None:
    """Sets ``_label_rows`` (``{id, name, color}``, by name) on each object (linked to its labels
    through the many-to-many table ``link``), in one query for all of them."""
    objects = list(objects)
    owner_id = link._meta.get_field(owner).attname
    by_owner: dict[Any, list[dict[str, Any]]] = {obj.pk: [] for obj in objects}
    if by_owner:
        links = link.objects.filter(**{f"{owner_id}__in": list(by_owner)})
        for owner_pk, label_id, name, color in links.values_list(owner_id, "label_id", "label__name", "label__color"):
            by_owner[owner_pk].append({"id": str(label_id), "name": name, "color": color})
    for obj in objects:
        obj._label_rows = sorted(by_owner[obj.pk], key=_label_order)


def attach_deal_labels(deals: Iterable[Deal]) -> None:
    attach_label_rows(deals, Deal.labels.through, "deal")


def deal_activities(*, deal: Deal) -> QuerySet:
    """The deal's most recent timeline entries, newest first."""
    return DealActivity.objects.filter(workspace_id=deal.workspace_id, deal=deal).select_related("actor")[
        :ACTIVITY_LIMIT
    ]
