"""The extension's task sync calls (``/tasks/sync``, ``/tasks/data``); shapes in docs/sync.md."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tasks.sync import tasks_data, tasks_sync
from whatshybrid.api.views import WorkspaceAPIView

TasksSyncInputSerializer = inline_serializer(
    name="TasksSyncInput",
    fields={
        "tasks": serializers.ListField(child=serializers.DictField(), required=False, allow_null=True),
        "lastSync": serializers.JSONField(required=False),
    },
)
TasksDataSerializer = inline_serializer(
    name="TasksData",
    fields={"tasks": serializers.ListField(child=serializers.DictField()), "lastSync": serializers.IntegerField()},
)
TasksSyncReplySerializer = inline_serializer(
    name="TasksSyncReply",
    fields={"success": serializers.BooleanField(), "synced": serializers.IntegerField(), "data": TasksDataSerializer},
)
TasksDataReplySerializer = inline_serializer(
    name="TasksDataReply", fields={"success": serializers.BooleanField(), "data": TasksDataSerializer}
)


class TasksSyncView(WorkspaceAPIView):
    runs_long = True  # a whole bulk sync, seconds of work: whatshybrid.wsgi_bridge
    @extend_schema(request=TasksSyncInputSerializer, responses={200: TasksSyncReplySerializer}, tags=["sync"])
    def post(self, request: Request) -> Response:
        """Merges the extension's tasks; answers every task of the workspace."""
        result = tasks_sync(workspace=request.workspace, body=request.data, user=request.user)
        return Response({"success": True, **result})


class TasksDataView(WorkspaceAPIView):
    @extend_schema(responses={200: TasksDataReplySerializer}, tags=["sync"])
    def get(self, request: Request) -> Response:
        """Every task of the workspace in the extension's shape, without writing."""
        return Response({"success": True, "data": tasks_data(workspace=request.workspace)})
