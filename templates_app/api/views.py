from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from templates_app import services
from templates_app.api.filters import TemplateFilterSet
from templates_app.api.serializers import (
    TemplateInputSerializer,
    TemplateRenderInputSerializer,
    TemplateRenderSerializer,
)
from templates_app.models import MessageTemplate
from templates_app.payloads import TemplateSerializer
from whatshybrid.api.permissions import ALL_ROLES
from whatshybrid.api.views import WorkspaceViewSet

TemplateObjectSerializer = inline_serializer(name="TemplateObject", fields={"template": TemplateSerializer()})


@extend_schema_view(
    create=extend_schema(responses={201: TemplateObjectSerializer}),
    retrieve=extend_schema(responses={200: TemplateObjectSerializer}),
    update=extend_schema(responses={200: TemplateObjectSerializer}),
    partial_update=extend_schema(responses={200: TemplateObjectSerializer}),
)
@extend_schema(tags=["templates"])
class TemplateViewSet(WorkspaceViewSet):
    """Reply templates with ``{{variables}}``."""

    model = MessageTemplate
    resource_name = "templates"
    object_name = "template"
    serializer_class = TemplateSerializer
    input_serializer_class = TemplateInputSerializer
    filterset_class = TemplateFilterSet
    # The extension's sync reads only the first page of an unlimited GET: make that page whole.
    default_page_size = max_page_size = settings.SYNC_PAGE_SIZE_DEFAULT
    # Rendering reads; any member may preview a template.
    role_requirements: ClassVar[dict] = {"render_template": ALL_ROLES}

    @extend_schema(operation_id="templates_list")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, data: dict[str, Any]) -> MessageTemplate:
        return services.template_create(workspace=self.request.workspace, created_by=self.request.user, **data)

    def perform_update(self, instance: MessageTemplate, data: dict[str, Any]) -> MessageTemplate:
        return services.template_update(template=instance, data=data)

    def perform_destroy(self, instance: MessageTemplate) -> None:
        services.template_delete(template=instance)

    @extend_schema(request=None, responses={200: TemplateObjectSerializer})
    @action(detail=True, methods=["post"])
    def use(self, request: Request, pk: str) -> Response:
        """Counts one use (no body): ``usage_count`` + 1 and ``last_used_at`` = now."""
        return self.object_response(services.template_use(template=self.get_object()))

    @extend_schema(request=TemplateRenderInputSerializer, responses={200: TemplateRenderSerializer})
    @action(detail=True, methods=["post"], url_path="render")
    def render_template(self, request: Request, pk: str) -> Response:
        """The text with ``{{placeholders}}`` filled from the given values and the contact."""
        template = self.get_object()
        body = TemplateRenderInputSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        rendered = services.template_render(
            template=template,
            contact=body.validated_data.get("contact_id"),
            variables=body.validated_data.get("variables"),
        )
        return Response(
            {
                "template_id": str(template.pk),
                "content": rendered.text,
                "rendered": rendered.text,
                "text": rendered.text,
                "variables": rendered.used,
                "unresolved": rendered.unresolved,
            }
        )
