"""Serializer fields shared by the domain apps' input serializers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from whatshybrid.api.serializers import WorkspaceRelatedField


class StrictCharField(serializers.CharField):
    """A string, strictly: numbers and booleans are a 400 instead of being silently stringified."""

    default_error_messages = {"not_text": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


@extend_schema_field(
    {"type": "string", "format": "uuid", "nullable": True, "description": "An id of this workspace, or null for none."}
)
class OptionalRelatedIdField(WorkspaceRelatedField):
    """A nullable related id. ``""`` is a 400 rather than DRF's "none" for relations: the
    schema then says uuid, and a client that means "none" sends null or leaves the key out."""

    default_error_messages = {"blank_id": 'Must be an id or null, not "".'}

    def __init__(self, model: type, **kwargs: Any) -> None:
        super().__init__(model, required=False, allow_null=True, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # RelatedField.run_validation turns "" into None before any other check sees it.
        if data == "":
            self.fail("blank_id")
        return super().run_validation(data)
