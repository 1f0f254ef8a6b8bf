"""Deals and their activity timeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from contacts.models import Contact
from crm.models import Deal, DealActivity, Label, PipelineStage
from crm.payloads import deal_payload
from whatshybrid.api.errors import ApplicationError
from whatshybrid.locking import hold_references, lock_for_delete, lock_to_change
from whatshybrid.realtime.publisher import publish

DEAL_FIELDS = (
    "title",
    "description",
    "value",
    "currency",
    "probability",
    "expected_close_date",
    "assigned_to",
    "tags",
    "custom_fields",
    "lost_reason",
)


def deal_status_for(*, stage: PipelineStage) -> str:
    """The status a deal takes on entering ``stage``: won and lost stages close it."""
    if stage.is_won:
        return Deal.Status.WON
    if stage.is_lost:
        return Deal.Status.LOST
    return Deal.Status.OPEN


def _set_status(deal: Deal, status: str, actor: Any) -> None:
    """Applies a status and its timestamps; records the change in the timeline."""
    previous = deal.status
    if status == previous:
        return
    now = timezone.now()
    deal.status = status
    deal.won_at = now if status == Deal.Status.WON else None
    deal.lost_at = now if status == Deal.Status.LOST else None
    if status != Deal.Status.LOST:
        deal.lost_reason = ""
    deal._pending_activities.append(
        DealActivity(
            workspace_id=deal.workspace_id,
            deal=deal,
            kind=DealActivity.Kind.STATUS_CHANGED,
            actor=actor,
            from_status=previous,
            to_status=status,
        )
    )


def deal_move(deal: Deal, *, to_stage: PipelineStage, explicit_status: str | None, actor: Any) -> None:
    """Moves ``deal`` (in memory) and records the move; status follows won/lost stages unless given.
    Saving the deal and announcing it are the caller's (``deal_update``, ``stage_delete``)."""
    if not hasattr(deal, "_pending_activities"):
        deal._pending_activities = []
    from_stage = deal.stage
    if from_stage.pk != to_stage.pk:
        deal.stage = to_stage
        deal._pending_activities.append(
            DealActivity(
                workspace_id=deal.workspace_id,
                deal=deal,
                kind=DealActivity.Kind.STAGE_CHANGED,
                actor=actor,
                from_stage=from_stage,
                to_stage=to_stage,
                data={"from_stage_name": from_stage.name, "to_stage_name": to_stage.name},
            )
        )
    if explicit_status is not None:
        _set_status(deal, explicit_status, actor)
    elif from_stage.pk != to_stage.pk:
        _set_status(deal, deal_status_for(stage=to_stage), actor)
    deal.updated_at = timezone.now()
    DealActivity.objects.bulk_create(deal._pending_activities)
    deal._pending_activities = []


def stage_hold(stage: PipelineStage) -> None:
    """Locks the stage a deal enters so a concurrent ``stage_delete`` cannot orphan the deal.

    Taken before the deal's own lock (``stage_delete`` locks stage, then deals: same order).
    """
    if not PipelineStage.objects.select_for_update(no_key=True).filter(pk=stage.pk).exists():
        raise ApplicationError(
            "The stage was deleted.", code="VALIDATION_ERROR", errors={"stage": ["The stage no longer exists."]}
        )


def _first_open_stage(workspace: Workspace) -> PipelineStage:
    stages = PipelineStage.objects.filter(workspace=workspace).order_by("is_won", "is_lost", "position")
    stage = stages.first()
    if stage is None:
        raise ApplicationError(
            "The workspace has no pipeline stages; create one first.",
            code="NO_STAGES",
            errors={"stage": ["No pipeline stage exists."]},
        )
    return stage


@transaction.atomic
def deal_create(
    *,
    workspace: Workspace,
    contact: Any,
    title: str,
    stage: PipelineStage | None = None,
    status: str | None = None,
    labels: Iterable[Label] | None = None,
    actor: Any = None,
    **fields: Any,
) -> Deal:
    """Creates a deal (default: first open stage, workspace currency, the stage's probability)."""
    unknown = set(fields) - set(DEAL_FIELDS)
    if unknown:
        raise TypeError(f"Unknown deal fields: {sorted(unknown)}")
    stage = stage or _first_open_stage(workspace)
    stage_hold(stage)
    hold_references(Contact, [contact], field="contact_id")
    hold_references(Label, labels or (), field="labels")
    fields.setdefault("currency", workspace.currency or "BRL")
    fields.setdefault("probability", stage.probability)
    deal = Deal(workspace=workspace, contact=contact, title=title, stage=stage, **fields)
    deal.status = status or deal_status_for(stage=stage)
    now = timezone.now()
    deal.won_at = now if deal.status == Deal.Status.WON else None
    deal.lost_at = now if deal.status == Deal.Status.LOST else None
    deal.save(force_insert=True)
    if labels:
        deal.labels.set(labels)
    DealActivity.objects.create(
        workspace=workspace,
        deal=deal,
        kind=DealActivity.Kind.CREATED,
        actor=actor,
        to_stage=stage,
        to_status=deal.status,
        data={"to_stage_name": stage.name},
    )
    publish(workspace, "deal:created", deal_payload(deal))
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, data: dict[str, Any], actor: Any = None) -> Deal:
    """Partial update. A stage move or status change is recorded in the timeline."""
    if "stage" in data:
        stage_hold(data["stage"])
    hold_references(Contact, [data.get("contact")], field="contact_id")
    hold_references(Label, data.get("labels") or (), field="labels")
    # No join in the locking query: PostgreSQL re-checks a join against the row a concurrent
    # move just changed and would return nothing.
    deal = lock_to_change(Deal.objects.select_for_update(no_key=True), deal.pk)
    deal._pending_activities = []
    changed = [field for field in DEAL_FIELDS if field in data]
    if "contact" in data:
        changed.append("contact")
    for field in changed:
        setattr(deal, field, data[field])
    explicit_status = data.get("status")
    if "stage" in data or explicit_status is not None:
        deal_move(deal, to_stage=data.get("stage", deal.stage), explicit_status=explicit_status, actor=actor)
        changed += ["stage", "status", "won_at", "lost_at", "lost_reason"]
    deal.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    if "labels" in data:
        deal.labels.set(data["labels"])
    publish(deal.workspace, "deal:updated", deal_payload(deal))
    return deal


@transaction.atomic
def deal_delete(*, deal: Deal) -> None:
    """Deletes the deal and its timeline; ``deal:deleted`` carries ``{id, contact_id, stage_id}``."""
    if not lock_for_delete(deal):
        return  # a concurrent delete won and announced it
    payload = {"id": str(deal.pk), "contact_id": str(deal.contact_id), "stage_id": str(deal.stage_id)}
    workspace = deal.workspace
    deal.delete()
    publish(workspace, "deal:deleted", payload)
