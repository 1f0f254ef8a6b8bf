"""Template writes and rendering."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Workspace
from templates_app.models import MessageTemplate
from templates_app.rendering import (
    MissingVariables,
    Rendered,
    VariableError,
    normalize_values,
    normalize_variables,
    render,
)
from whatshybrid.api.errors import ApplicationError

WRITABLE_FIELDS = ("name", "category", "content", "variables", "media_url")


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``variables`` in their stored shape (callers may pass a list of names)."""
    unknown = set(data) - set(WRITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown template fields: {sorted(unknown)}")
    if "variables" not in data:
        return data
    try:
        return {**data, "variables": normalize_variables(data["variables"])}
    except VariableError as exc:
        raise ApplicationError(str(exc), code="VALIDATION_ERROR", errors={"variables": [str(exc)]}) from None


@transaction.atomic
def template_create(*, workspace: Workspace, created_by: Any = None, **fields: Any) -> MessageTemplate:
    template = MessageTemplate(workspace=workspace, created_by=created_by, **_checked(fields))
    template.save(force_insert=True)
    return template


@transaction.atomic
def template_update(*, template: MessageTemplate, data: dict[str, Any]) -> MessageTemplate:
    """Partial update of the writable fields; counters are never written here."""
    data = _checked(data)
    for name, value in data.items():
        setattr(template, name, value)
    template.save(update_fields=[*data, "updated_at"])
    return template


@transaction.atomic
def template_delete(*, template: MessageTemplate) -> None:
    template.delete()


@transaction.atomic
def template_use(*, template: MessageTemplate) -> MessageTemplate:
    """Counts one use. The increment happens in the database (``F``) so concurrent uses add up."""
    now = timezone.now()
    MessageTemplate.objects.filter(pk=template.pk).update(
        usage_count=F("usage_count") + 1, last_used_at=now, updated_at=now
    )
    template.refresh_from_db(fields=["usage_count", "last_used_at", "updated_at"])
    return template


def template_render(
    *, template: MessageTemplate, contact: Any = None, variables: dict[str, Any] | None = None
) -> Rendered:
    """The template's text with its placeholders filled; a missing required variable is a 400."""
    try:
        return render(
            template.content, declared=template.variables, values=normalize_values(variables), contact=contact
        )
    except MissingVariables as exc:
        raise ApplicationError(
            str(exc),
            code="MISSING_VARIABLES",
            errors={"variables": {name: ["Required variable without a value."] for name in exc.names}},
            extra={"missing": exc.names},
        ) from None
    except VariableError as exc:
        raise ApplicationError(str(exc), code="VALIDATION_ERROR", errors={"variables": [str(exc)]}) from None
