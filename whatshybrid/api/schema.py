"""OpenAPI: the bearer scheme and the resource-keyed envelopes of ``WorkspaceViewSet``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.views import APIView

from whatshybrid.api.serializers import ErrorSerializer, MessageSerializer

# Error statuses any operation can answer (JSON body ``ErrorSerializer``): validation, auth,
# role, unknown id, rate limit; writes add conflicts, body size, media type and idempotency.
ERROR_STATUSES = ("400", "401", "403", "404", "429")
WRITE_ERROR_STATUSES = ("409", "413", "415", "422")


class SessionJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer", bearer_format="JWT"
        )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


class EnvelopeAutoSchema(AutoSchema):
    """Documents lists as ``{<resource>: [...], limit, next_cursor, has_more}`` and objects as
    ``{<object>: {...}}``, matching what ``WorkspaceViewSet`` returns."""

    def map_parsers(self) -> list[Any]:
        # The client sends JSON only; views that accept uploads declare their own parser_classes.
        if self.view.parser_classes is APIView.parser_classes:
            return ["application/json"]
        return super().map_parsers()

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if getattr(field, "read_only", False) and schema.get("format") in {"email", "uri"}:
            # Blank emails/URLs are stored and returned as "" (the client expects strings), which
            # those formats reject: outputs document them as plain strings.
            del schema["format"]

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        # PUT is a partial update everywhere (the client never sends PATCH): document it like PATCH.
        if self.method != "PUT":
            return super()._get_request_for_media_type(serializer, direction)
        self.method = "PATCH"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = "PUT"

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if self.method == "DELETE" and "204" in responses:
            # DELETE answers 200 with {message, id}: the client expects a JSON body, never a 204.
            del responses["204"]
            responses["200"] = self._get_response_for_code(MessageSerializer, "200", direction=direction)
        statuses = ERROR_STATUSES + (WRITE_ERROR_STATUSES if self.method in {"POST", "PUT", "PATCH"} else ())
        for status_code in statuses:
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(ErrorSerializer, status_code, direction=direction)
        return responses

    def _envelope_view(self) -> bool:
        return hasattr(self.view, "resource_name") and hasattr(self.view, "object_name")

    def _is_list_view(self, serializer: Any = None) -> bool:
        if self._envelope_view():
            return False
        return super()._is_list_view(serializer)

    def _filtered_action(self) -> bool:
        return self._envelope_view() and getattr(self.view, "action", None) in self.view.filter_actions

    def get_filter_backends(self) -> list[Any]:
        # The list actions' parameters come from their FilterSet (django-filter's extension).
        if self._envelope_view():
            return list(self.view.filter_backends) if self._filtered_action() else []
        return super().get_filter_backends()

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self._filtered_action():
            params += [
                OpenApiParameter("limit", int, description="Page size (clamped to the endpoint's maximum)."),
                OpenApiParameter("cursor", str, description="Opaque cursor from `next_cursor`."),
                OpenApiParameter("page", int, description="Page number (original backend's offset paging)."),
            ]
        return params

    def get_response_serializers(self) -> Any:
        if not self._envelope_view():
            return super().get_response_serializers()
        action = getattr(self.view, "action", None)
        output = self.view.serializer_class
        if action == "list":
            return inline_serializer(
                name=f"{_camel(self.view.object_name)}List",
                fields={
                    self.view.resource_name: output(many=True),
                    "limit": serializers.IntegerField(),
                    "next_cursor": serializers.CharField(allow_null=True),
                    "has_more": serializers.BooleanField(),
                },
            )
        if action == "destroy":
            return MessageSerializer
        if action in {"retrieve", "create", "update", "partial_update"}:
            return inline_serializer(
                name=f"{_camel(self.view.object_name)}Envelope", fields={self.view.object_name: output()}
            )
        return super().get_response_serializers()
