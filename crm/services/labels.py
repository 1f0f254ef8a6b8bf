"""Labels: names unique per workspace in any letter case, and the ones a new workspace starts with."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from accounts.models import Workspace
from crm.models import Label
from crm.payloads import label_payload
from whatshybrid.api.errors import Conflict
from whatshybrid.locking import lock_for_delete, lock_to_change
from whatshybrid.realtime.publisher import publish

DEFAULT_LABELS = (
    ("VIP", "#fbbf24"),
    ("Novo", "#3b82f6"),
    ("Recorrente", "#10b981"),
    ("Pendente", "#ef4444"),
)

LABEL_FIELDS = ("name", "color", "description")


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
