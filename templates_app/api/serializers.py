from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contacts.models import Contact
from templates_app.payloads import TemplateSerializer
from templates_app.rendering import VariableError, normalize_values, normalize_variables
from whatshybrid.api.fields import OptionalRelatedIdField, StrictCharField
from whatshybrid.api.serializers import StrictSerializer

MAX_CONTENT_LENGTH = 10_000


class TemplateInputSerializer(StrictSerializer):
    """Create/update body. ``variables`` also accepts a plain list of names."""

    echo_fields = frozenset(TemplateSerializer.Meta.fields)
    name = StrictCharField(max_length=200)
    category = StrictCharField(max_length=60, required=False, allow_blank=True, allow_null=True)
    content = StrictCharField(max_length=MAX_CONTENT_LENGTH, trim_whitespace=False)
    variables = serializers.JSONField(
        required=False, allow_null=True, help_text="[{name, default, required}] or [name]"
    )
    media_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, allow_null=True)

    def validate_category(self, value: str | None) -> str:
        return (value or "").strip() or "general"

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.", code="blank")
        return value

    def validate_variables(self, value: Any) -> list[dict[str, Any]]:
        try:
            return normalize_variables(value)
        except VariableError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None

    def validate_media_url(self, value: str | None) -> str:
        return value or ""


class TemplateRenderInputSerializer(StrictSerializer):
    contact_id = OptionalRelatedIdField(Contact)
    variables = serializers.JSONField(required=False, allow_null=True, help_text="Object of name → value.")

    def validate_variables(self, value: Any) -> dict[str, str]:
        try:
            return normalize_values(value)
        except VariableError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


class TemplateRenderSerializer(serializers.Serializer):
    template_id = serializers.UUIDField()
    content = serializers.CharField(help_text="The rendered text.")
    rendered = serializers.CharField(help_text="Same as content.")
    text = serializers.CharField(help_text="Same as content.")
    variables = serializers.DictField(child=serializers.CharField(), help_text="The values used, by placeholder.")
    unresolved = serializers.ListField(
        child=serializers.CharField(), help_text="Undeclared placeholders without a value, left as written."
    )
