"""The extension's knowledge and few-shot sync calls; shapes in docs/sync.md."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ai import services
from whatshybrid.api.serializers import instant_text
from whatshybrid.api.views import WorkspaceAPIView

KnowledgeSyncInputSerializer = inline_serializer(
    name="KnowledgeSyncInput",
    fields={"action": serializers.ChoiceField(choices=["sync"]), "knowledge": serializers.DictField()},
)
KnowledgeSyncReplySerializer = inline_serializer(
    name="KnowledgeSyncReply", fields={"success": serializers.BooleanField(), "knowledge": serializers.DictField()}
)
_STAMPS = {"version": serializers.IntegerField(), "updatedAt": serializers.CharField(allow_null=True)}
KnowledgeReplySerializer = inline_serializer(
    name="KnowledgeReply",
    fields={"success": serializers.BooleanField(), "knowledge": serializers.DictField(allow_null=True), **_STAMPS},
)
KnowledgeDataReplySerializer = inline_serializer(
    name="KnowledgeDataReply",
    fields={"success": serializers.BooleanField(), "data": serializers.DictField(allow_null=True), **_STAMPS},
)
ExamplesInputSerializer = inline_serializer(
    name="ExamplesInput", fields={"examples": serializers.ListField(child=serializers.DictField())}
)
ExamplesReplySerializer = inline_serializer(
    name="ExamplesReply",
    fields={"success": serializers.BooleanField(), "examples": serializers.ListField(child=serializers.JSONField())},
)


def _stored_knowledge(request: Request, key: str) -> Response:
    document = services.knowledge_get(workspace=request.workspace)
    return Response(
        {
            "success": True,
            key: services.knowledge_shape(document) if document else None,
            "version": document.version if document else 0,
            "updatedAt": instant_text(document.updated_at) if document else None,
        }
    )


class KnowledgeView(WorkspaceAPIView):
    @extend_schema(responses={200: KnowledgeReplySerializer}, tags=["sync"])
    def get(self, request: Request) -> Response:
        """The workspace's knowledge document."""
        return _stored_knowledge(request, "knowledge")


class KnowledgeSyncView(WorkspaceAPIView):
    runs_long = True  # a whole bulk sync, seconds of work: whatshybrid.wsgi_bridge
    @extend_schema(responses={200: KnowledgeDataReplySerializer}, tags=["sync"])
    def get(self, request: Request) -> Response:
        """The workspace's knowledge document, under ``data``."""
        return _stored_knowledge(request, "data")

    @extend_schema(request=KnowledgeSyncInputSerializer, responses={200: KnowledgeSyncReplySerializer}, tags=["sync"])
    def post(self, request: Request) -> Response:
        """Stores the extension's knowledge document; answers the merged one."""
        return Response({"success": True, **services.knowledge_sync(workspace=request.workspace, body=request.data)})


class ExamplesSyncView(WorkspaceAPIView):
    runs_long = True  # a whole bulk sync, seconds of work: whatshybrid.wsgi_bridge
    @extend_schema(request=ExamplesInputSerializer, responses={200: ExamplesReplySerializer}, tags=["sync"])
    def post(self, request: Request) -> Response:
        """Merges the extension's few-shot examples; answers all of the workspace's."""
        examples = services.few_shot_sync(workspace=request.workspace, body=request.data)
        return Response({"success": True, "examples": examples})


class ExamplesListView(WorkspaceAPIView):
    @extend_schema(responses={200: ExamplesReplySerializer}, tags=["sync"])
    def get(self, request: Request) -> Response:
        return Response({"success": True, "examples": services.few_shot_list(workspace=request.workspace)})
