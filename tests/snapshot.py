"""A byte-for-byte picture of everything one workspace owns, to prove requests did not touch it."""

from __future__ import annotations

from django.apps import apps
from django.core import serializers
from django.db.models import ForeignKey, Model, Q

from accounts.models import User, Workspace


def _owner_filter(model: type[Model], workspace: Workspace) -> Q | None:
    """How ``model`` rows belong to a workspace: directly, or through one foreign key."""
    names = {f.name for f in model._meta.concrete_fields}
    if "workspace" in names:
        return Q(workspace=workspace)
    for field in model._meta.concrete_fields:
        if isinstance(field, ForeignKey):
            parent_names = {f.name for f in field.related_model._meta.concrete_fields}
            if "workspace" in parent_names:
                return Q(**{f"{field.name}__workspace": workspace})
    return None


def workspace_snapshot(workspace: Workspace) -> dict[str, str]:
    """model label -> serialized rows (ordered by pk) of every row that belongs to ``workspace``."""
    picture = {
        "accounts.workspace": serializers.serialize("json", Workspace.objects.filter(pk=workspace.pk)),
        "accounts.user": serializers.serialize(
            "json", User.objects.filter(memberships__workspace=workspace).order_by("pk")
        ),
    }
    for model in apps.get_models():
        if model in (Workspace, User):
            continue
        condition = _owner_filter(model, workspace)
        if condition is None:
            continue
        rows = model._default_manager.filter(condition).order_by("pk")
        picture[model._meta.label_lower] = serializers.serialize("json", rows)
    return picture


def assert_unchanged(before: dict[str, str], after: dict[str, str], context: str) -> None:
    changed = [label for label in before if before[label] != after.get(label)]
    assert not changed, f"{context}: the other workspace's rows changed in {changed}"
