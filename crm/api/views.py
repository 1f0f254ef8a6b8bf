from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api.filters import DealFilterSet
from crm.api.serializers import (
    DealActivitySerializer,
    DealInputSerializer,
    LabelInputSerializer,
    StageInputSerializer,
    StageReorderSerializer,
)
from crm.models import Deal, Label, PipelineStage
from crm.payloads import DealSerializer, LabelSerializer, StageSerializer
from whatshybrid.api.views import WorkspaceAPIView, WorkspaceViewSet

StageListSerializer = inline_serializer(name="PipelineStages", fields={"stages": StageSerializer(many=True)})
StageObjectSerializer = inline_serializer(name="StageObject", fields={"stage": StageSerializer()})
StageDeleteSerializer = inline_serializer(
    name="StageDeleted",
    fields={
        "message": serializers.CharField(),
        "id": serializers.CharField(),
        "moved_deals": serializers.IntegerField(),
    },
)
DealObjectSerializer = inline_serializer(name="DealObject", fields={"deal": DealSerializer()})
DealDetailSerializer = inline_serializer(
    name="DealDetail", fields={"deal": DealSerializer(), "activities": DealActivitySerializer(many=True)}
)
LabelObjectSerializer = inline_serializer(name="LabelObject", fields={"label": LabelSerializer()})


def crm_schema(resource: str, object_serializer: Any, detail_serializer: Any = None) -> Callable[[type], type]:
    """The schema of a CRM viewset: its ``{object}`` answers and a list id apart from retrieve's."""
    single = extend_schema(responses={200: object_serializer})
    return lambda viewset: extend_schema(tags=["crm"])(
        extend_schema_view(
            list=extend_schema(operation_id=f"crm_{resource}_list"),
            create=extend_schema(responses={201: object_serializer}),
            retrieve=extend_schema(responses={200: detail_serializer or object_serializer}),
            update=single,
            partial_update=single,
        )(viewset)
    )


@extend_schema(tags=["crm"])
class PipelineView(WorkspaceAPIView):
    """The pipeline board: every stage in position order with its deal count and total value."""

    @extend_schema(responses={200: StageListSerializer}, operation_id="crm_pipeline")
    def get(self, request: Request) -> Response:
        stages = selectors.stage_list(workspace=request.workspace)
        return Response({"stages": StageSerializer(stages, many=True).data})


@crm_schema("pipeline_stages", StageObjectSerializer)
class StageViewSet(WorkspaceViewSet):
    """Pipeline stages; positions stay 0..n-1 without gaps whatever is created, moved or deleted."""

    model = PipelineStage
    resource_name = "stages"
    object_name = "stage"
    serializer_class = StageSerializer
    input_serializer_class = StageInputSerializer

    def narrow_queryset(self, queryset: Any) -> Any:
        return selectors.with_totals(queryset)

    def annotated(self, stage: PipelineStage) -> PipelineStage:
        return self.get_queryset().get(pk=stage.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        stage = services.stage_create(workspace=request.workspace, **self.validated_input())
        return self.object_response(self.annotated(stage), status_code=201)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        stage = self.get_object()
        stage = services.stage_update(stage=stage, data=self.validated_input(instance=stage, partial=True))
        return self.object_response(self.annotated(stage))

    @extend_schema(
        parameters=[OpenApiParameter("move_to", str, description="Stage id or name to move this stage's deals to.")],
        responses={200: StageDeleteSerializer},
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        stage = self.get_object()
        stage_id = str(stage.pk)
        raw = request.query_params.get("move_to")
        move_to = (
            None if raw is None else selectors.stage_resolve(workspace=request.workspace, value=raw, field="move_to")
        )
        moved = services.stage_delete(stage=stage, move_to=move_to, actor=request.user)
        return Response({"message": "Stage deleted.", "id": stage_id, "moved_deals": moved})

    @extend_schema(request=StageReorderSerializer, responses={200: StageListSerializer})
    @action(detail=False, methods=["post"], url_path="reorder", url_name="reorder")
    def reorder(self, request: Request) -> Response:
        """``{stage_ids: [...]}``: those stages first, in that order; the rest keep theirs."""
        body = StageReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.stage_reorder(workspace=request.workspace, stage_ids=body.validated_data["stage_ids"])
        stages = selectors.stage_list(workspace=request.workspace)
        return Response({"stages": StageSerializer(stages, many=True).data})


@crm_schema("deals", DealObjectSerializer, DealDetailSerializer)
class DealViewSet(WorkspaceViewSet):
    """Deals; a stage move or status change lands in the deal's activity timeline."""

    model = Deal
    resource_name = "deals"
    object_name = "deal"
    serializer_class = DealSerializer
    input_serializer_class = DealInputSerializer
    filterset_class = DealFilterSet

    def narrow_queryset(self, queryset: Any) -> Any:
        return selectors.with_relations(queryset)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.get_object()
        activities = DealActivitySerializer(selectors.deal_activities(deal=deal), many=True).data
        return Response({"deal": self.output(deal), "activities": activities})

    def perform_create(self, data: dict[str, Any]) -> Deal:
        return services.deal_create(workspace=self.request.workspace, actor=self.request.user, **data)

    def perform_update(self, instance: Deal, data: dict[str, Any]) -> Deal:
        deal = services.deal_update(deal=instance, data=data, actor=self.request.user)
        return self.get_queryset().get(pk=deal.pk)

    def perform_destroy(self, instance: Deal) -> None:
        services.deal_delete(deal=instance)


@crm_schema("labels", LabelObjectSerializer)
class LabelViewSet(WorkspaceViewSet):
    """Labels: unique names per workspace, whatever the case."""

    model = Label
    resource_name = "labels"
    object_name = "label"
    serializer_class = LabelSerializer
    input_serializer_class = LabelInputSerializer

    def perform_create(self, data: dict[str, Any]) -> Label:
        return services.label_create(workspace=self.request.workspace, **data)

    def perform_update(self, instance: Label, data: dict[str, Any]) -> Label:
        return services.label_update(label=instance, data=data)

    def perform_destroy(self, instance: Label) -> None:
        services.label_delete(label=instance)
