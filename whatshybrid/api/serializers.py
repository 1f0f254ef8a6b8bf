"""Serializer building blocks shared by every app."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

# Keys a client may echo back from an object it read; accepted and ignored, never written.
ECHOED_KEYS = frozenset({"id", "workspace", "workspace_id", "created_at", "updated_at"})


def instant_text(value: datetime.datetime | None) -> str | None:
    """DRF's DateTimeField output (UTC, ``...Z``; no timezone is ever activated) for hand-written
    representations of long lists, without its per-call timezone lookup."""
    if value is None:
        return None
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class StrictInputMixin:
    """Rejects keys the endpoint does not know (400 naming them) instead of silently dropping.

    ``echo_fields`` lists read-only keys a client may send back unchanged (they are ignored).
    """

    echo_fields: frozenset[str] = frozenset()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(self.fields) | ECHOED_KEYS | set(self.echo_fields)
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


def _holds_other_fields(field: serializers.Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")


class PrototypeFieldsMixin:
    """Builds a serializer class's fields once, not on every instance.

    DRF deep-copies every declared field for each instance, which rebuilds each field from its
    constructor arguments (and a ModelSerializer derives the rest from the model again): about
    100 µs for a seven-field input, on every request. Here the class keeps unbound copies and
    each instance gets shallow copies of them to bind (fields only read their own settings when
    validating). A field that holds other fields (list, dict, nested serializer) is still
    deep-copied: its children are bound to it, so a shared child would answer with another
    instance's context. Sound only where the fields depend on the class alone (declarations,
    ``Meta``), never on the instance or its context.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        prototypes = type(self).__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = super().get_fields()  # type: ignore[misc]
            type(self)._field_prototypes = prototypes  # two threads may both build it: same result
        return {
            name: copy.deepcopy(field) if _holds_other_fields(field) else copy.copy(field)
            for name, field in prototypes.items()
        }


class StrictSerializer(PrototypeFieldsMixin, StrictInputMixin, serializers.Serializer):
    pass


class StrictModelSerializer(PrototypeFieldsMixin, StrictInputMixin, serializers.ModelSerializer):
    pass


class WorkspaceRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id looked up inside the request's workspace only (others: does_not_exist)."""

    def __init__(self, model: type, **kwargs: Any) -> None:
        self.related_model = model
        kwargs.setdefault("queryset", model.objects.none())
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        workspace = self.context.get("workspace")
        if workspace is None:
            return self.related_model.objects.none()
        return self.related_model.objects.filter(workspace=workspace)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except DjangoValidationError:
            self.fail("does_not_exist", pk_value=data)


class MessageSerializer(serializers.Serializer):
    """The body of DELETE and other acknowledgement responses."""

    message = serializers.CharField()
    id = serializers.CharField(required=False)


class ErrorSerializer(serializers.Serializer):
    """Every error body (documented for the OpenAPI schema; rendered by ``api_exception_handler``)."""

    message = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(required=False)
    request_id = serializers.CharField(required=False)
