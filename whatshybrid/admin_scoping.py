"""Admin forms keep related rows inside the edited object's workspace.

Operators are superusers of every workspace, so the admin's pickers (selects, filter_horizontal,
raw id inputs) would offer and save another workspace's labels, contacts or stages on an object;
the REST API and its events then carry them across tenants. ``WorkspaceScopedForm`` narrows every
related field whose model belongs to a workspace and refuses a mismatch on save.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from accounts.models import Workspace


def workspace_owned(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("workspace")
    except FieldDoesNotExist:
        return False
    return getattr(field, "related_model", None) is Workspace


class WorkspaceScopedForm(forms.ModelForm):
    """Offers and accepts only related rows of the object's own workspace."""

    def _scoped_fields(self) -> dict[str, forms.Field]:
        return {
            name: field
            for name, field in self.fields.items()
            if name != "workspace" and workspace_owned(getattr(getattr(field, "queryset", None), "model", Workspace))
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workspace_id = getattr(self.instance, "workspace_id", None)
        if workspace_id is not None:  # a new object's workspace is only known on save: clean() checks
            for field in self._scoped_fields().values():
                field.queryset = field.queryset.filter(workspace_id=workspace_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        workspace = data.get("workspace")
        workspace_id = workspace.pk if workspace is not None else getattr(self.instance, "workspace_id", None)
        for name in self._scoped_fields():
            value = data.get(name)
            rows = list(value) if isinstance(value, models.QuerySet | list | tuple) else [value]
            if any(row is not None and row.workspace_id != workspace_id for row in rows):
                self.add_error(name, "Must belong to the same workspace.")
        return data
