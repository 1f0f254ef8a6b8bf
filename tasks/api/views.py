from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tasks import selectors, services
from tasks.api.filters import TaskFilterSet
from tasks.api.serializers import TaskInputSerializer, TaskSerializer
from tasks.models import Task
from whatshybrid.api.views import WorkspaceViewSet

TaskObjectSerializer = inline_serializer(name="TaskObject", fields={"task": TaskSerializer()})
TaskPageSerializer = inline_serializer(
    name="TaskPage",
    fields={
        "tasks": TaskSerializer(many=True),
        "limit": serializers.IntegerField(),
        "next_cursor": serializers.CharField(allow_null=True),
        "has_more": serializers.BooleanField(),
    },
)


@extend_schema_view(
    create=extend_schema(responses={201: TaskObjectSerializer}),
    retrieve=extend_schema(responses={200: TaskObjectSerializer}),
    update=extend_schema(responses={200: TaskObjectSerializer}),
    partial_update=extend_schema(responses={200: TaskObjectSerializer}),
)
@extend_schema(tags=["tasks"])
class TaskViewSet(WorkspaceViewSet):
    """Tasks: follow-ups, calls, meetings... with due dates, reminders and assignees."""

    model = Task
    resource_name = "tasks"
    object_name = "task"
    serializer_class = TaskSerializer
    input_serializer_class = TaskInputSerializer
    filterset_class = TaskFilterSet
    filter_actions = ("list", "overdue")
    # The extension's sync reads only the first page of an unlimited GET: make that page whole.
    default_page_size = max_page_size = settings.SYNC_PAGE_SIZE_DEFAULT

    def narrow_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action in ("list", "overdue"):
            return selectors.task_rows(queryset)
        return selectors.task_with_related(queryset)

    @extend_schema(operation_id="tasks_list")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="tasks_overdue_list",
        responses={200: TaskPageSerializer},
    )
    @action(detail=False, methods=["get"])
    def overdue(self, request: Request) -> Response:
        """Open tasks due before now in the workspace's timezone (a date-only task: before today)."""
        return self.list(request)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if self.action == "overdue":
            queryset = selectors.task_overdue_list(queryset, workspace=self.request.workspace)
        return queryset

    def perform_create(self, data: dict[str, Any]) -> Task:
        return services.task_create(workspace=self.request.workspace, created_by=self.request.user, **data)

    def perform_update(self, instance: Task, data: dict[str, Any]) -> Task:
        return services.task_update(task=instance, data=data)

    def perform_destroy(self, instance: Task) -> None:
        services.task_delete(task=instance)

    @extend_schema(request=None, responses={200: TaskObjectSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        """Marks the task completed (no body). Completing a completed task changes nothing."""
        return self.object_response(services.task_complete(task=self.get_object()))
