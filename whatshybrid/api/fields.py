"""Serializer fields shared by the domain apps' input serializers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from whatshybrid.api.serializers import WorkspaceRelatedField


class StrictCharField(serializers.CharField):
    """A string, strictly: numbers and booleans are a 400 instead of being silently stringified."""

    default_error_messages = {"not_text": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


@extend_schema_field(
    {"type": "string", "nullable": True, "description": "An id of this workspace; null or empty for none."}
)
class OptionalRelatedIdField(WorkspaceRelatedField):
    """A nullable related id where ``""`` also means none (DRF's rule for relations), so the
    schema documents a plain string rather than a uuid that ``""`` would violate."""

    def __init__(self, model: type, **kwargs: Any) -> None:
        super().__init__(model, required=False, allow_null=True, **kwargs)
