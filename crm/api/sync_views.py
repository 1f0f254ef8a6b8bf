"""The extension's CRM sync calls (``/crm/sync``, ``/crm/data``); shapes in docs/sync.md."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from crm.sync import crm_data, crm_sync
from whatshybrid.api.views import WorkspaceAPIView

_OBJECTS = serializers.ListField(child=serializers.DictField(), required=False, allow_null=True)

CrmSyncInputSerializer = inline_serializer(
    name="CrmSyncInput",
    fields={
        "contacts": _OBJECTS,
        "deals": _OBJECTS,
        "pipeline": serializers.DictField(required=False, allow_null=True),
        "labels": serializers.JSONField(required=False, help_text="The labels document, or a list of labels."),
        "contactLabels": serializers.DictField(required=False, allow_null=True),
        "lastSync": serializers.JSONField(required=False, help_text="Epoch ms or ISO 8601."),
    },
)
CrmDataSerializer = inline_serializer(
    name="CrmData",
    fields={
        "contacts": serializers.ListField(child=serializers.DictField()),
        "deals": serializers.ListField(child=serializers.DictField()),
        "pipeline": serializers.DictField(allow_null=True),
        "labels": serializers.DictField(),
        "lastSync": serializers.IntegerField(),
    },
)
CrmSyncReplySerializer = inline_serializer(
    name="CrmSyncReply",
    fields={
        "success": serializers.BooleanField(),
        "synced": inline_serializer(
            name="CrmSynced", fields={"contacts": serializers.IntegerField(), "deals": serializers.IntegerField()}
        ),
        "data": CrmDataSerializer,
    },
)
CrmDataReplySerializer = inline_serializer(
    name="CrmDataReply", fields={"success": serializers.BooleanField(), "data": CrmDataSerializer}
)


class CrmSyncView(WorkspaceAPIView):
    runs_long = True  # a whole bulk sync, seconds of work: whatshybrid.wsgi_bridge
    @extend_schema(request=CrmSyncInputSerializer, responses={200: CrmSyncReplySerializer}, tags=["sync"])
    def post(self, request: Request) -> Response:
        """Merges the extension's contacts, deals, pipeline and labels; answers the workspace's CRM."""
        result = crm_sync(workspace=request.workspace, body=request.data, actor=request.user)
        return Response({"success": True, **result})


class CrmDataView(WorkspaceAPIView):
    @extend_schema(responses={200: CrmDataReplySerializer}, tags=["sync"])
    def get(self, request: Request) -> Response:
        """The workspace's CRM in the extension's shape, without writing."""
        return Response({"success": True, "data": crm_data(workspace=request.workspace)})
