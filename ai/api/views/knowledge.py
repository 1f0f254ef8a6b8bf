"""``/ai/knowledge``: the knowledge base's items, one at a time, and ranked search."""

from __future__ import annotations

import uuid

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ai import knowledge, selectors
from ai.models import KnowledgeItem
from ai.payloads import knowledge_item_payload
from whatshybrid.api.errors import NotFoundError
from whatshybrid.api.fields import StrictCharField
from whatshybrid.api.params import parse_choices, parse_text
from whatshybrid.api.serializers import StrictSerializer
from whatshybrid.api.views import WorkspaceAPIView

TYPES = [choice for choice, _label in KnowledgeItem.Type.choices]


class KnowledgeItemInputSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=KnowledgeItem.Type.choices)
    title = StrictCharField(required=False, allow_blank=True, max_length=500)
    question = StrictCharField(required=False, allow_blank=True, max_length=500)
    name = StrictCharField(required=False, allow_blank=True, max_length=500)
    content = StrictCharField(required=False, allow_blank=True, max_length=settings.AI_KNOWLEDGE_CONTENT_MAX_CHARS)
    answer = StrictCharField(required=False, allow_blank=True, max_length=settings.AI_KNOWLEDGE_CONTENT_MAX_CHARS)
    description = StrictCharField(required=False, allow_blank=True, max_length=settings.AI_KNOWLEDGE_CONTENT_MAX_CHARS)
    price = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    tags = serializers.ListField(child=StrictCharField(max_length=100), required=False, max_length=50)
    enabled = serializers.BooleanField(required=False)
    echo_fields = frozenset({"key", "score"})


class KnowledgeItemUpdateSerializer(KnowledgeItemInputSerializer):
    type = serializers.ChoiceField(choices=KnowledgeItem.Type.choices, required=False)


KnowledgeItemSerializer = inline_serializer(
    name="KnowledgeItem",
    fields={
        "id": serializers.UUIDField(),
        "type": serializers.ChoiceField(choices=KnowledgeItem.Type.choices),
        "key": serializers.CharField(),
        "title": serializers.CharField(),
        "content": serializers.CharField(),
        "price": serializers.CharField(allow_null=True),
        "tags": serializers.ListField(child=serializers.CharField()),
        "enabled": serializers.BooleanField(),
        "score": serializers.FloatField(required=False),
        "created_at": serializers.DateTimeField(),
        "updated_at": serializers.DateTimeField(),
    },
)
KnowledgeItemsSerializer = inline_serializer(
    name="KnowledgeItems", fields={"items": serializers.ListField(child=KnowledgeItemSerializer)}
)
KnowledgeItemReplySerializer = inline_serializer(name="KnowledgeItemReply", fields={"item": KnowledgeItemSerializer})
KnowledgeItemDeletedSerializer = inline_serializer(
    name="KnowledgeItemDeleted", fields={"message": serializers.CharField(), "id": serializers.UUIDField()}
)
LIST_LIMIT = 500
SEARCH_LIMIT = 20


def _item(request: Request, pk: uuid.UUID) -> KnowledgeItem:
    item = KnowledgeItem.objects.filter(workspace=request.workspace, pk=pk).first()
    if item is None:  # another workspace's item too: no existence oracle
        raise NotFoundError("Knowledge item not found.")
    return item


def _validated(serializer_class: type, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class KnowledgeItemsView(WorkspaceAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("type", str, enum=TYPES), OpenApiParameter("q", str)],
        responses={200: KnowledgeItemsSerializer},
        tags=["ai"],
        operation_id="ai_knowledge_list",
    )
    def get(self, request: Request) -> Response:
        raw_type, raw_q = request.query_params.get("type", ""), request.query_params.get("q", "")
        types = parse_choices(raw_type, name="type", allowed=TYPES) if raw_type else None
        items = selectors.knowledge_items(workspace=request.workspace, types=types, q=parse_text(raw_q, name="q"))
        return Response({"items": [knowledge_item_payload(item) for item in items[:LIST_LIMIT]]})

    @extend_schema(request=KnowledgeItemInputSerializer, responses={201: KnowledgeItemReplySerializer}, tags=["ai"])
    def post(self, request: Request) -> Response:
        item = knowledge.knowledge_item_create(
            workspace=request.workspace, data=_validated(KnowledgeItemInputSerializer, request)
        )
        return Response({"item": knowledge_item_payload(item)}, status=status.HTTP_201_CREATED)


class KnowledgeItemView(WorkspaceAPIView):
    @extend_schema(responses={200: KnowledgeItemReplySerializer}, tags=["ai"])
    def get(self, request: Request, pk: uuid.UUID) -> Response:
        return Response({"item": knowledge_item_payload(_item(request, pk))})

    @extend_schema(request=KnowledgeItemUpdateSerializer, responses={200: KnowledgeItemReplySerializer}, tags=["ai"])
    def put(self, request: Request, pk: uuid.UUID) -> Response:
        item = _item(request, pk)
        data = _validated(KnowledgeItemUpdateSerializer, request)
        return Response({"item": knowledge_item_payload(knowledge.knowledge_item_update(item=item, data=data))})

    patch = put

    @extend_schema(responses={200: KnowledgeItemDeletedSerializer}, tags=["ai"])
    def delete(self, request: Request, pk: uuid.UUID) -> Response:
        item = _item(request, pk)
        knowledge.knowledge_item_delete(item=item)
        return Response({"message": "Knowledge item deleted.", "id": str(pk)})


class KnowledgeSearchView(WorkspaceAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="The text to match; none finds nothing.")],
        responses={200: KnowledgeItemsSerializer},
        tags=["ai"],
    )
    def get(self, request: Request) -> Response:
        """Enabled items ranked by full-text relevance (``score``: larger is better)."""
        q = parse_text(request.query_params.get("q", ""), name="q")
        ranked = knowledge.knowledge_search(workspace=request.workspace, text=q, limit=SEARCH_LIMIT)
        return Response({"items": [knowledge_item_payload(item, score=score) for item, score in ranked]})
