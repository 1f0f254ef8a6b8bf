"""Pipeline stages, and the stages and labels a new workspace starts with."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When

from accounts.models import Workspace
from crm.models import Deal, Label, PipelineStage
from crm.payloads import deal_payload, stage_payload, stage_payloads
from crm.services.deals import deal_move, stage_hold
from crm.services.labels import DEFAULT_LABELS
from whatshybrid.api.errors import ApplicationError, Conflict
from whatshybrid.realtime.publisher import publish

# Parking offset for renumbering: above any real position, so moved rows never collide.
_PARK = 1_000_000

DEFAULT_STAGES = (
    # name, color, probability, is_won, is_lost
    ("Lead", "#3b82f6", 10, False, False),
    ("Qualificado", "#8b5cf6", 25, False, False),
    ("Proposta", "#f59e0b", 50, False, False),
    ("Negociação", "#ef4444", 75, False, False),
    ("Fechado", "#10b981", 100, True, False),
    ("Perdido", "#6b7280", 0, False, True),
)
STAGE_FIELDS = ("name", "color", "probability", "is_won", "is_lost")


@transaction.atomic
def crm_defaults_create(*, workspace: Workspace) -> None:
    """Gives a workspace the original's pipeline and labels; a workspace that has any keeps them."""
    if not PipelineStage.objects.filter(workspace=workspace).exists():
        PipelineStage.objects.bulk_create(
            PipelineStage(
                workspace=workspace,
                name=name,
                color=color,
                position=position,
                probability=probability,
                is_won=is_won,
                is_lost=is_lost,
            )
            for position, (name, color, probability, is_won, is_lost) in enumerate(DEFAULT_STAGES)
        )
    if not Label.objects.filter(workspace=workspace).exists():
        Label.objects.bulk_create(Label(workspace=workspace, name=name, color=color) for name, color in DEFAULT_LABELS)


def pipeline_lock(*, workspace: Workspace) -> list[Any]:
    """Serializes stage writes per workspace and returns the stage ids in position order.

    The workspace row is the lock: locking the stage rows would not stop a concurrent insert.
    All locks here are NO KEY UPDATE, which foreign-key checks (KEY SHARE) do not wait for:
    inserts referencing the workspace or a stage keep flowing instead of deadlocking.
    """
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).exists()
    # Every stage row too, before any deal row: deal writes lock their stage first, so the same
    # order here cannot deadlock with them when the renumbering updates all stages.
    stages = PipelineStage.objects.select_for_update(no_key=True).filter(workspace=workspace).order_by("position", "id")
    return list(stages.values_list("pk", flat=True))


def _reposition(workspace: Workspace, before: list[Any], after: list[Any], *, announced: Any = None) -> None:
    """Renumbers to ``after`` and publishes ``stage:updated`` for every other stage that moved.

    ``before`` is the order read under the pipeline lock (positions are 0..n-1, so a stage's
    index is its position); ``announced`` is the stage the caller publishes its own event for.
    """
    stages_renumber(workspace=workspace, ordered_ids=after)
    old = {pk: index for index, pk in enumerate(before)}
    moved = [pk for index, pk in enumerate(after) if pk != announced and old.get(pk) != index]
    for payload in stage_payloads(moved):
        publish(workspace, "stage:updated", payload)


def stages_renumber(*, workspace: Workspace, ordered_ids: list[Any]) -> None:
    """Sets positions 0..n-1 in ``ordered_ids`` order with two UPDATEs.

    Unique positions are checked per row on both backends, so rows are parked out of range
    first; a single CASE update then gives each its final place.
    """
    if not ordered_ids:
        return
    stages = PipelineStage.objects.filter(workspace=workspace, pk__in=ordered_ids)
    stages.update(position=F("position") + _PARK)
    stages.update(
        position=Case(
            *(When(pk=pk, then=Value(index)) for index, pk in enumerate(ordered_ids)),
            output_field=IntegerField(),
        )
    )


def stage_parked_position(index: int) -> int:
    """A position for the ``index``-th stage a write adds, free until ``stages_renumber`` gives
    it its place: above every real position and every row parked while renumbering."""
    return _PARK * 2 + index


def _check_won_lost(is_won: bool, is_lost: bool) -> None:
    if is_won and is_lost:
        raise ApplicationError(
            "A stage cannot be both won and lost.",
            code="VALIDATION_ERROR",
            errors={"is_lost": ["A stage cannot be both won and lost."]},
        )


@transaction.atomic
def stage_create(*, workspace: Workspace, name: str, position: int | None = None, **fields: Any) -> PipelineStage:
    """Adds a stage at ``position`` (clamped; default: last), shifting the later ones down."""
    _check_won_lost(fields.get("is_won", False), fields.get("is_lost", False))
    before = pipeline_lock(workspace=workspace)
    index = len(before) if position is None else max(0, min(position, len(before)))
    stage = PipelineStage.objects.create(
        workspace=workspace, name=name, position=stage_parked_position(len(before)), **fields
    )
    _reposition(workspace, before, [*before[:index], stage.pk, *before[index:]], announced=stage.pk)
    stage.refresh_from_db()
    publish(workspace, "stage:created", stage_payload(stage))
    return stage


@transaction.atomic
def stage_update(*, stage: PipelineStage, data: dict[str, Any]) -> PipelineStage:
    """Partial update; a new ``position`` moves the stage and renumbers the rest contiguously."""
    changed = [field for field in STAGE_FIELDS if field in data]
    for field in changed:
        setattr(stage, field, data[field])
    _check_won_lost(stage.is_won, stage.is_lost)
    if changed:
        stage.save(update_fields=[*changed, "updated_at"])
    if "position" in data:
        before = pipeline_lock(workspace=stage.workspace)
        after = [pk for pk in before if pk != stage.pk]
        after.insert(max(0, min(data["position"], len(after))), stage.pk)
        _reposition(stage.workspace, before, after, announced=stage.pk)
        stage.refresh_from_db()
    publish(stage.workspace, "stage:updated", stage_payload(stage))
    return stage


@transaction.atomic
def stage_reorder(*, workspace: Workspace, stage_ids: list[Any]) -> None:
    """Puts the listed stages first, in that order; unlisted stages keep their relative order.

    Every stage whose position changed gets a ``stage:updated``.
    """
    ordered = pipeline_lock(workspace=workspace)
    unknown = [str(pk) for pk in stage_ids if pk not in ordered]
    if unknown:
        raise ApplicationError(
            "Unknown stage ids.", code="VALIDATION_ERROR", errors={"stage_ids": [f"Unknown: {', '.join(unknown)}"]}
        )
    listed = list(dict.fromkeys(stage_ids))
    _reposition(workspace, ordered, listed + [pk for pk in ordered if pk not in listed])


@transaction.atomic
def stage_delete(*, stage: PipelineStage, move_to: PipelineStage | None = None, actor: Any = None) -> int:
    """Deletes a stage; its deals move to ``move_to`` first, or the delete is a 409.

    Publishes ``deal:updated`` per moved deal, ``stage:deleted`` ``{id}``, then ``stage:updated``
    for the stages that moved up. Returns how many deals were moved.
    """
    workspace = stage.workspace
    ordered = pipeline_lock(workspace=workspace)
    if move_to is not None:
        stage_hold(move_to)
    deals = list(Deal.objects.select_for_update(no_key=True).filter(workspace=workspace, stage=stage))
    for deal in deals:
        deal.stage = stage
    if deals and move_to is None:
        raise Conflict(
            f"The stage holds {len(deals)} deals; pass move_to=<stage id> to move them first.",
            code="STAGE_HAS_DEALS",
            extra={"deal_count": len(deals)},
        )
    if move_to is not None and move_to.pk == stage.pk:
        raise ApplicationError(
            "move_to must be another stage.", code="VALIDATION_ERROR", errors={"move_to": ["Must be another stage."]}
        )
    for deal in deals:
        deal_move(deal, to_stage=move_to, explicit_status=None, actor=actor)
    if deals:
        Deal.objects.bulk_update(deals, ["stage", "status", "won_at", "lost_at", "lost_reason", "updated_at"])
        for deal in deals:
            publish(workspace, "deal:updated", deal_payload(deal))
    stage_id = stage.pk
    stage.delete()
    publish(workspace, "stage:deleted", {"id": str(stage_id)})
    _reposition(workspace, ordered, [pk for pk in ordered if pk != stage_id])
    return len(deals)
