"""The deals part of the CRM sync: the client's deals are the workspace's deal rows.

A deal names its contact and stage by the ids the client knows (resolved through this sync's
contacts first, then the stored rows); its status follows its stage (won/lost stages), as a
stage move through the REST API does, and every move lands in the deal's timeline.
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q

from accounts.models import Workspace
from contacts import fields as rules
from contacts.models import Contact
from contacts.sync import RowRef, apply_edits, as_uuid, chunks, needs_row, read_tags, row_key
from crm.models import Deal, DealActivity, PipelineStage
from crm.services import deal_status_for
from whatshybrid.api.bodies import invalid, read_decimal, read_id, read_int, read_moment, read_object, read_text
from whatshybrid.api.serializers import instant_text
from whatshybrid.db import bulk_insert

MAX_VALUE = decimal.Decimal("1000000000000")  # Deal.value has 12 integer digits
FIELDS = ("title", "description", "value", "probability", "tags", "custom_fields")


@dataclass
class DealIn:
    key: str
    path: str
    contact: str
    stages: tuple[str, ...]  # ``stage`` and ``stageId``: the client may have moved either
    values: dict[str, Any]
    updated_at: datetime.datetime | None


def read_deals(raw: list[Any]) -> list[DealIn]:
    deals = []
    for index, value in enumerate(raw):
        path = f"deals[{index}]"
        item = read_object(value, path)
        custom = item.get("customFields")
        try:
            custom = rules.clean_custom_fields(custom)
        except rules.FieldError as exc:
            raise invalid(f"{path}.customFields", str(exc)) from None
        deals.append(
            DealIn(
                key=read_id(item, "id", path),
                path=path,
                contact=read_id(item, "contactId", path),
                stages=tuple(
                    key for key in (read_text(item, name, path, max_length=100) for name in ("stage", "stageId")) if key
                ),
                values={
                    "title": read_text(item, "title", path, max_length=200),
                    "description": read_text(item, "description", path, max_length=20_000),
                    "value": read_decimal_value(item, path),
                    "probability": read_int(item, "probability", path, minimum=0, maximum=100) or 0,
                    "tags": read_tags(item, path),
                    "custom_fields": custom,
                },
                updated_at=read_moment(item, "updatedAt", path),
            )
        )
    return deals


def read_decimal_value(item: dict[str, Any], path: str) -> decimal.Decimal:
    return read_decimal(item, "value", path, maximum=MAX_VALUE) or decimal.Decimal("0.00")


@dataclass
class DealsMerge:
    created: list[Deal]
    updated: list[Deal]
    adopted: list[Deal]
    activities: list[DealActivity]


def _contacts_named(workspace: Workspace, keys: set[str]) -> dict[str, RowRef]:
    """The stored contacts the deals name by a client key or a server id (not in this body)."""
    found: dict[str, RowRef] = {}
    for part in chunks(sorted(keys)):
        pks = [pk for pk in map(as_uuid, part) if pk is not None]
        # Unordered: ordered, SQLite walks the workspace's created_at index (tests/test_query_plans.py).
        rows = Contact.objects.filter(Q(client_key__in=part) | Q(pk__in=pks), workspace=workspace).order_by()
        for row in (RowRef(*values) for values in rows.values_list("pk", "client_key", "updated_at")):
            found[str(row.pk)] = row
            if row.client_key:
                found[row.client_key] = row
    return found


@dataclass(frozen=True)
class StageFallbacks:
    """Where a deal naming no known stage goes, worked out once per sync rather than per deal."""

    by_position: list[PipelineStage]
    default: PipelineStage | None  # the first open stage, else the first lost, else the first won

    @classmethod
    def of(cls, stages: dict[str, PipelineStage]) -> StageFallbacks:
        by_position = sorted({stage.pk: stage for stage in stages.values()}.values(), key=lambda s: s.position)
        default = min(by_position, key=lambda s: (s.is_won, s.is_lost, s.position), default=None)
        return cls(by_position, default)


def _stage_for(
    keys: tuple[str, ...], stages: dict[str, PipelineStage], fallbacks: StageFallbacks, row: Any
) -> PipelineStage:
    """The stage the client's deal names. Of ``stage`` and ``stageId`` the one that differs from
    the stored deal's stage is the client's move; an unknown id falls back like the REST API."""
    named = [stages[key] for key in keys if key in stages]
    moved = [stage for stage in named if row is None or stage.pk != row.stage_id]
    if moved or named:
        return (moved or named)[0]
    for stage in fallbacks.by_position:
        if ("won" in keys and stage.is_won) or ("lost" in keys and stage.is_lost):
            return stage
    if fallbacks.default is None:
        raise invalid("deals", "The workspace has no pipeline stages; send a pipeline first.")
    return fallbacks.default


def deals_merge(
    *,
    workspace: Workspace,
    items: list[DealIn],
    contacts: dict[str, Any],
    stages: dict[str, PipelineStage],
    actor: Any,
    now: datetime.datetime,
) -> DealsMerge:
    missing = {item.contact for item in items if item.contact not in contacts}
    contacts = {**_contacts_named(workspace, missing), **contacts} if missing else contacts
    existing: dict[Any, RowRef] = {}
    for part in chunks(items):
        keys = [item.key for item in part]
        pks = [pk for pk in map(as_uuid, keys) if pk is not None]
        # Unordered: ordered, SQLite walks the workspace's created_at index (tests/test_query_plans.py).
        rows = Deal.objects.filter(Q(client_key__in=keys) | Q(pk__in=pks), workspace=workspace).order_by()
        for pk, client_key, updated_at, stage_id in rows.values_list("pk", "client_key", "updated_at", "stage_id"):
            existing[pk] = RowRef(pk, client_key, updated_at, stage_id=stage_id)
    by_key = {row.client_key: row for row in existing.values() if row.client_key}
    winners: dict[Any, tuple[DealIn, RowRef | None]] = {}
    for item in reversed(items):  # the last copy of a repeated id wins
        if item.contact not in contacts:
            raise invalid(f"{item.path}.contactId", f"Unknown contact {item.contact!r}.")
        row = by_key.get(item.key) or existing.get(as_uuid(item.key))
        winners.setdefault(row.pk if row is not None else item.key, (item, row))
    wanted = [row.pk for item, row in winners.values() if row is not None and needs_row(row, item.key, item.updated_at)]
    full = {}
    for part in chunks(wanted):
        full.update((deal.pk, deal) for deal in Deal.objects.filter(pk__in=part).order_by().select_related("stage"))
    merge = DealsMerge(created=[], updated=[], adopted=[], activities=[])
    fallbacks = StageFallbacks.of(stages)
    for item, row in reversed(winners.values()):
        contact, stage = contacts[item.contact], _stage_for(item.stages, stages, fallbacks, row)
        if row is None:
            merge.created.append(_new_deal(workspace, item, contact, stage, actor, merge, now))
        elif row.pk in full:
            _update_deal(full[row.pk], item, contact, stage, actor, merge, now)
    return merge


def _new_deal(
    workspace: Workspace,
    item: DealIn,
    contact: Any,
    stage: PipelineStage,
    actor: Any,
    merge: DealsMerge,
    now: datetime.datetime,
) -> Deal:
    status = deal_status_for(stage=stage)
    deal = Deal(
        workspace=workspace,
        client_key=item.key,
        contact_id=contact.pk,
        stage=stage,
        status=status,
        currency=workspace.currency or "BRL",
        **item.values,
    )
    deal.won_at, deal.lost_at = _close_times(status, now)
    merge.activities.append(
        _activity(
            deal,
            DealActivity.Kind.CREATED,
            actor,
            to_stage_id=stage.pk,
            to_status=status,
            data={"to_stage_name": stage.name},
        )
    )
    return deal


def _close_times(status: str, now: datetime.datetime) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """``(won_at, lost_at)`` of a deal that takes ``status`` now."""
    return (now if status == Deal.Status.WON else None, now if status == Deal.Status.LOST else None)


def _activity(deal: Deal, kind: str, actor: Any, **fields: Any) -> DealActivity:
    """A timeline entry like the REST writes record, inserted in bulk with the others. Its
    relations are set by id: it is only inserted, and a related object costs a descriptor each."""
    actor_id = None if actor is None else actor.pk
    return DealActivity(workspace_id=deal.workspace_id, deal_id=deal.pk, kind=kind, actor_id=actor_id, **fields)


def _update_deal(
    row: Deal,
    item: DealIn,
    contact: Any,
    stage: PipelineStage,
    actor: Any,
    merge: DealsMerge,
    now: datetime.datetime,
) -> None:
    adopts = row.client_key is None and as_uuid(item.key) is None
    if adopts:
        row.client_key = item.key
    edits = {}
    if item.updated_at is not None and item.updated_at > row.updated_at:
        wanted = {**item.values, "contact_id": contact.pk}
        edits = {name: value for name, value in wanted.items() if getattr(row, name) != value}
        if stage.pk != row.stage_id:
            edits["stage"] = stage
            names = {"from_stage_name": row.stage.name, "to_stage_name": stage.name}
            merge.activities.append(
                _activity(
                    row,
                    DealActivity.Kind.STAGE_CHANGED,
                    actor,
                    from_stage_id=row.stage_id,
                    to_stage_id=stage.pk,
                    data=names,
                )
            )
            status = deal_status_for(stage=stage)
            if status != row.status:
                merge.activities.append(
                    _activity(row, DealActivity.Kind.STATUS_CHANGED, actor, from_status=row.status, to_status=status)
                )
                won_at, lost_at = _close_times(status, now)
                edits.update(status=status, won_at=won_at, lost_at=lost_at)
    apply_edits(row, edits, adopts=adopts, merge=merge, now=now)


def deals_write(*, merge: DealsMerge) -> None:
    bulk_insert(merge.created)
    Deal.objects.bulk_update(
        merge.updated,
        [*FIELDS, "contact", "stage", "status", "won_at", "lost_at", "client_key", "updated_at"],
        batch_size=500,
    )
    Deal.objects.bulk_update(merge.adopted, ["client_key"], batch_size=500)
    bulk_insert(merge.activities)


DATA_FIELDS = ("pk", "client_key", "contact_id", "contact_key", "stage_id", "stage_key", "title", "description")
DATA_FIELDS += ("value", "status", "probability", "tags", "custom_fields", "created_at", "updated_at")


def deals_data(*, workspace: Workspace) -> list[dict[str, Any]]:
    """Every deal of the workspace in the client's shape, oldest first."""
    rows = (
        Deal.objects.filter(workspace=workspace)
        .annotate(contact_key=F("contact__client_key"), stage_key=F("stage__client_key"))
        .order_by("created_at", "id")
        .values_list(*DATA_FIELDS, named=True)
    )
    deals = []
    for deal in rows.iterator(chunk_size=2000):
        stage_id = deal.stage_key or str(deal.stage_id)
        deals.append(
            {
                "id": row_key(deal),
                "contactId": deal.contact_key or str(deal.contact_id),
                "title": deal.title,
                "description": deal.description,
                "value": float(deal.value),
                "stage": stage_id,
                "stageId": stage_id,
                "status": deal.status,
                "probability": deal.probability,
                "tags": deal.tags,
                "customFields": deal.custom_fields,
                "createdAt": instant_text(deal.created_at),
                "updatedAt": instant_text(deal.updated_at),
            }
        )
    return deals
