from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.api.serializers import workspace_representation
from settings_app.api.serializers import WorkspaceSettingsInputSerializer, WorkspaceSettingsResponseSerializer
from whatshybrid.api.permissions import MANAGER_ROLES
from whatshybrid.api.views import WorkspaceAPIView


class WorkspaceSettingsView(WorkspaceAPIView):
    write_roles = MANAGER_ROLES

    @extend_schema(responses={200: WorkspaceSettingsResponseSerializer}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return Response({"workspace": workspace_representation(request.workspace)})

    @extend_schema(
        request=WorkspaceSettingsInputSerializer,
        responses={200: WorkspaceSettingsResponseSerializer},
        tags=["settings"],
    )
    def put(self, request: Request) -> Response:
        serializer = WorkspaceSettingsInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        workspace = services.workspace_update(workspace=request.workspace, data=serializer.validated_data)
        return Response({"workspace": workspace_representation(workspace)})

    patch = put
