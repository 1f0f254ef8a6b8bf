"""The extension's module documents (``/sync/...``): the caller's own, within the workspace."""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from settings_app import sync
from whatshybrid.api.permissions import ALL_ROLES
from whatshybrid.api.views import WorkspaceAPIView

ModuleSyncInputSerializer = inline_serializer(
    name="ModuleSyncInput",
    fields={
        "data": serializers.JSONField(help_text="The module's document (any JSON)."),
        "lastSync": serializers.JSONField(required=False, help_text="Epoch ms of the client's last sync."),
        "timestamp": serializers.JSONField(required=False),
    },
)
ModuleSyncReplySerializer = inline_serializer(
    name="ModuleSyncReply",
    fields={
        "success": serializers.BooleanField(),
        "module": serializers.CharField(),
        "lastModified": serializers.IntegerField(),
        "mergeNeeded": serializers.BooleanField(),
        "data": serializers.JSONField(allow_null=True),
    },
)
ModuleDownloadReplySerializer = inline_serializer(
    name="ModuleDownloadReply",
    fields={
        "success": serializers.BooleanField(),
        "data": serializers.JSONField(allow_null=True),
        "lastModified": serializers.IntegerField(),
    },
)
ModuleStatusReplySerializer = inline_serializer(
    name="ModuleStatusReply",
    fields={"success": serializers.BooleanField(), "modules": serializers.DictField(child=serializers.DictField())},
)
ModuleDeleteReplySerializer = inline_serializer(
    name="ModuleDeleteReply",
    fields={
        "success": serializers.BooleanField(),
        "module": serializers.CharField(),
        "removed": serializers.IntegerField(),
    },
)
MemoryEventsInputSerializer = inline_serializer(
    name="MemoryEventsInput",
    fields={"events": serializers.ListField(child=serializers.DictField(), required=False, allow_null=True)},
)
MemoryEventsReplySerializer = inline_serializer(
    name="MemoryEventsReply", fields={"success": serializers.BooleanField(), "received": serializers.IntegerField()}
)


class ModuleView(WorkspaceAPIView):
    # Personal documents: every member keeps their own, whatever the role.
    write_roles: ClassVar[frozenset[str]] = ALL_ROLES


class ModuleStatusView(ModuleView):
    @extend_schema(responses={200: ModuleStatusReplySerializer}, tags=["sync"])
    def get(self, request: Request) -> Response:
        modules = sync.module_documents_status(workspace=request.workspace, user=request.user)
        return Response({"success": True, "modules": modules})


class ModuleSyncView(ModuleView):
    runs_long = True  # a whole bulk sync, seconds of work: whatshybrid.wsgi_bridge
    @extend_schema(request=ModuleSyncInputSerializer, responses={200: ModuleSyncReplySerializer}, tags=["sync"])
    def post(self, request: Request, module: str) -> Response:
        """Stores the module's document, or merges it with the server's newer copy."""
        result = sync.module_document_sync(
            workspace=request.workspace, user=request.user, module=module, body=request.data
        )
        return Response({"success": True, **result})


class ModuleDownloadView(ModuleView):
    @extend_schema(responses={200: ModuleDownloadReplySerializer}, tags=["sync"])
    def get(self, request: Request, module: str) -> Response:
        result = sync.module_document_download(workspace=request.workspace, user=request.user, module=module)
        return Response({"success": True, **result})


class ModuleDeleteView(ModuleView):
    @extend_schema(responses={200: ModuleDeleteReplySerializer}, tags=["sync"])
    def delete(self, request: Request, module: str) -> Response:
        """Removes the module's whole document."""
        removed = sync.module_document_delete(workspace=request.workspace, user=request.user, module=module)
        return Response({"success": True, "module": module, "removed": int(removed)})


class ModuleItemDeleteView(ModuleView):
    @extend_schema(responses={200: ModuleDeleteReplySerializer}, tags=["sync"])
    def delete(self, request: Request, module: str, item_id: str) -> Response:
        """Removes one item (by ``id`` or ``key``) from the module's document."""
        removed = sync.module_document_item_delete(
            workspace=request.workspace, user=request.user, module=module, item_id=item_id
        )
        return Response({"success": True, "module": module, "removed": removed})


class MemoryEventsView(ModuleView):
    @extend_schema(request=MemoryEventsInputSerializer, responses={200: MemoryEventsReplySerializer}, tags=["sync"])
    def post(self, request: Request) -> Response:
        received = sync.memory_events_append(workspace=request.workspace, user=request.user, body=request.data)
        return Response({"success": True, "received": received})
