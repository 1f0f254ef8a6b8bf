"""Admin forms keep related rows inside the edited object's workspace.

Operators are superusers of every workspace, so the admin's pickers (selects, filter_horizontal,
raw id inputs) would offer and save another workspace's labels, contacts or stages on an object;
the REST API and its events then carry them across tenants. ``WorkspaceScopedForm`` narrows every
related field whose model belongs to a workspace and refuses a mismatch on save; user fields
that name an assignee (``member_fields``) offer and accept only the workspace's members. The
raw-id lookup popups are narrowed the same way (a filter in their changelist URL, which the
related admin allows through its ``workspace`` or ``memberships__workspace`` list filter).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from accounts.models import Membership, User, Workspace


def workspace_owned(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("workspace")
    except FieldDoesNotExist:
        return False
    return getattr(field, "related_model", None) is Workspace


class ScopingFilter(admin.RelatedFieldListFilter):
    """A related-field list filter that always applies its parameter. Django's drops itself, and
    the parameter with it, when it has fewer than two choices: with one workspace the assignee
    popup then listed every user, members or not."""

    def has_output(self) -> bool:
        return True


def _scope_popup(field: forms.Field, lookup: str, workspace_id: Any) -> None:
    """The raw-id widget's lookup popup lists only rows matching ``lookup`` = the workspace."""
    widget = field.widget
    if isinstance(widget, ForeignKeyRawIdWidget):  # also the many-to-many raw-id widget
        base = widget.url_parameters
        widget.url_parameters = lambda: {**base(), lookup: str(workspace_id)}


class WorkspaceScopedForm(forms.ModelForm):
    """Offers and accepts only related rows of the object's own workspace, and only its members
    as assignees."""

    member_fields = frozenset({"assigned_to"})

    def _scoped_fields(self) -> dict[str, forms.Field]:
        return {
            name: field
            for name, field in self.fields.items()
            if name != "workspace" and workspace_owned(getattr(getattr(field, "queryset", None), "model", Workspace))
        }

    def _member_fields(self) -> dict[str, forms.Field]:
        return {
            name: field
            for name, field in self.fields.items()
            if name in self.member_fields and getattr(getattr(field, "queryset", None), "model", None) is User
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workspace_id = getattr(self.instance, "workspace_id", None)
        if workspace_id is not None:  # a new object's workspace is only known on save: clean() checks
            for field in self._scoped_fields().values():
                field.queryset = field.queryset.filter(workspace_id=workspace_id)
                _scope_popup(field, "workspace__id__exact", workspace_id)
            for field in self._member_fields().values():
                field.queryset = field.queryset.filter(memberships__workspace_id=workspace_id)
                _scope_popup(field, "memberships__workspace__id__exact", workspace_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        workspace = data.get("workspace")
        workspace_id = workspace.pk if workspace is not None else getattr(self.instance, "workspace_id", None)
        for name in self._scoped_fields():
            value = data.get(name)
            rows = list(value) if isinstance(value, models.QuerySet | list | tuple) else [value]
            if any(row is not None and row.workspace_id != workspace_id for row in rows):
                self.add_error(name, "Must belong to the same workspace.")
        for name in self._member_fields():
            user = data.get(name)
            if user is not None and not Membership.objects.filter(workspace_id=workspace_id, user=user).exists():
                self.add_error(name, "Must be a member of the same workspace.")
        return data
