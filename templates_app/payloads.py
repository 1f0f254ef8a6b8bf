"""The template as every endpoint shows it (below the API layer)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from templates_app.models import MessageTemplate


class TemplateVariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    default = serializers.CharField(allow_blank=True)
    required = serializers.BooleanField()


class TemplateSerializer(serializers.ModelSerializer):
    """The template as every endpoint returns it."""

    variables = TemplateVariableSerializer(many=True, read_only=True)
    created_by = serializers.UUIDField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = MessageTemplate
        fields = (
            "id",
            "name",
            "category",
            "content",
            "variables",
            "media_url",
            "usage_count",
            "last_used_at",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


def template_payload(template: MessageTemplate) -> dict[str, Any]:
    return dict(TemplateSerializer(template).data)
