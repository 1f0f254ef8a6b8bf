"""CRM writes: pipeline stages, deals (with their activity timeline) and labels.

Every write runs in one transaction and publishes its event inside it, so an event is never
announced for a change that rolled back. The defaults a new workspace gets publish nothing:
nobody can be listening to a workspace that is being created.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Workspace
from contacts.models import Contact
from crm.models import Deal, DealActivity, Label, PipelineStage
from crm.payloads import deal_payload, label_payload, stage_payload, stage_payloads
from whatshybrid.api.errors import ApplicationError, Conflict
from whatshybrid.locking import hold_references, lock_for_delete, lock_to_change
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
DEFAULT_LABELS = (
    ("VIP", "#fbbf24"),
    ("Novo", "#3b82f6"),
    ("Recorrente", "#10b981"),
    ("Pendente", "#ef4444"),
)

STAGE_FIELDS = ("name", "color", "probability", "is_won", "is_lost")
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
LABEL_FIELDS = ("name", "color", "description")


# --- defaults -------------------------------------------------------------------------------
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


# --- stages ---------------------------------------------------------------------------------
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
        _hold_stage(move_to)
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
        _deal_move(deal, to_stage=move_to, explicit_status=None, actor=actor)
    if deals:
        Deal.objects.bulk_update(deals, ["stage", "status", "won_at", "lost_at", "lost_reason", "updated_at"])
        for deal in deals:
            publish(workspace, "deal:updated", deal_payload(deal))
    stage_id = stage.pk
    stage.delete()
    publish(workspace, "stage:deleted", {"id": str(stage_id)})
    _reposition(workspace, ordered, [pk for pk in ordered if pk != stage_id])
    return len(deals)


# --- deals ----------------------------------------------------------------------------------
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


def _deal_move(deal: Deal, *, to_stage: PipelineStage, explicit_status: str | None, actor: Any) -> None:
    """Moves ``deal`` (in memory) and records the move; status follows won/lost stages unless given."""
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


def _hold_stage(stage: PipelineStage) -> None:
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
    _hold_stage(stage)
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
        _hold_stage(data["stage"])
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
        _deal_move(deal, to_stage=data.get("stage", deal.stage), explicit_status=explicit_status, actor=actor)
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


# --- labels ---------------------------------------------------------------------------------
def _label_exists(workspace: Workspace, name: str, exclude: Any = None) -> Any:
    queryset = Label.objects.filter(workspace=workspace).annotate(lname=Lower("name")).filter(lname=name.lower())
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    return queryset.values_list("pk", flat=True).first()


def _label_conflict(existing: Any, name: str) -> Conflict:
    return Conflict(
        f"A label named {name!r} already exists.",
        code="LABEL_EXISTS",
        errors={"name": ["A label with this name already exists."]},
        extra={"id": str(existing)},
    )


def _label_save(label: Label, **save_kwargs: Any) -> None:
    """Saves in a savepoint so a concurrent writer of the same name becomes a 409, not a 500."""
    existing = _label_exists(label.workspace, label.name, exclude=label.pk)
    if existing is not None:
        raise _label_conflict(existing, label.name)
    try:
        with transaction.atomic():
            label.save(**save_kwargs)
    except IntegrityError:
        existing = _label_exists(label.workspace, label.name, exclude=label.pk)
        if existing is None:
            raise
        raise _label_conflict(existing, label.name) from None


@transaction.atomic
def label_create(*, workspace: Workspace, name: str, **fields: Any) -> Label:
    """Creates a label; a name already used in the workspace (any case) is a 409."""
    label = Label(workspace=workspace, name=name, **fields)
    _label_save(label, force_insert=True)
    publish(workspace, "label:created", label_payload(label))
    return label


@transaction.atomic
def label_update(*, label: Label, data: dict[str, Any]) -> Label:
    label = lock_to_change(Label.objects.select_for_update(no_key=True), label.pk)
    changed = [field for field in LABEL_FIELDS if field in data]
    for field in changed:
        setattr(label, field, data[field])
    _label_save(label, update_fields=[*changed, "updated_at"])
    publish(label.workspace, "label:updated", label_payload(label))
    return label


@transaction.atomic
def label_delete(*, label: Label) -> None:
    """Deletes the label; it simply disappears from the contacts and deals that carried it
    (``label:deleted`` ``{id}`` stands for those changes: no per-contact or per-deal events)."""
    if not lock_for_delete(label):
        return
    label_id = label.pk
    workspace = label.workspace
    label.delete()
    publish(workspace, "label:deleted", {"id": str(label_id)})
