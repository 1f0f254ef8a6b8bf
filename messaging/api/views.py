from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from messaging import selectors, services
from messaging.api.filters import ConversationFilterSet
from messaging.api.serializers import (
    ChatMessageSerializer,
    ConversationDetailSerializer,
    ConversationObjectSerializer,
    ConversationOpenInputSerializer,
    ConversationSerializer,
    ConversationUpdateInputSerializer,
    MessageCreateInputSerializer,
    MessageEnvelopeSerializer,
    MessageStatusInputSerializer,
)
from messaging.models import Conversation, Message
from messaging.payloads import conversation_payloads, message_payload, message_representation
from whatshybrid.api.pagination import parse_limit
from whatshybrid.api.permissions import ALL_ROLES, MANAGER_ROLES
from whatshybrid.api.views import UUID_PATTERN, WorkspaceViewSet

# Detail actions that never read the conversation instance's columns (its id and workspace only).
HANDLE_ACTIONS = frozenset({"retrieve", "messages", "read", "message_status", "message_status_endpoint"})

MESSAGE_PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="Messages per page (clamped to MESSAGES_PAGE_SIZE_MAX)."),
    OpenApiParameter("before", str, description="`before_cursor` (or a message id): older messages."),
    OpenApiParameter("after", str, description="`after_cursor` (or a message id): newer messages."),
]

MessagePageSerializer = inline_serializer(
    name="MessagePage",
    fields={
        "messages": ChatMessageSerializer(many=True),
        "limit": serializers.IntegerField(),
        "has_more_before": serializers.BooleanField(),
        "has_more_after": serializers.BooleanField(),
        "before_cursor": serializers.CharField(allow_null=True),
        "after_cursor": serializers.CharField(allow_null=True),
    },
)


def _receipt_schema(method: str, operation_id: str) -> Any:
    """Schema of one method of the delivery-receipt routes (each needs its own operation id)."""
    return extend_schema(
        methods=[method],
        request=MessageStatusInputSerializer,
        responses={200: MessageEnvelopeSerializer},
        operation_id=operation_id,
    )


@extend_schema_view(
    update=extend_schema(responses={200: ConversationObjectSerializer}),
    partial_update=extend_schema(responses={200: ConversationObjectSerializer}),
)
@extend_schema(tags=["conversations"])
class ConversationViewSet(WorkspaceViewSet):
    """Conversations, their messages and their delivery receipts."""

    model = Conversation
    resource_name = "conversations"
    object_name = "conversation"
    serializer_class = ConversationSerializer
    input_serializer_class = ConversationUpdateInputSerializer
    filterset_class = ConversationFilterSet
    role_requirements: ClassVar[dict] = {"destroy": MANAGER_ROLES, "read": ALL_ROLES}

    def narrow_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action == "list":
            # Paging needs only the sort key; the page's objects are read as rows afterwards.
            return queryset.only("id", "last_activity_at")
        if self.action in HANDLE_ACTIONS:
            # The conversation is only a scoped handle here: what is shown is read as rows.
            return queryset.only("id", "workspace_id")
        return queryset

    def output(self, instance: Any, *, many: bool = False) -> Any:
        if many:
            return conversation_payloads(
                [conversation.pk for conversation in instance], workspace=self.request.workspace
            )
        return conversation_payloads([instance.pk], workspace=self.request.workspace)[0]

    def get_serializer_class(self) -> type:
        if self.action == "create":
            return ConversationOpenInputSerializer
        return super().get_serializer_class()

    # --- conversations ---------------------------------------------------------------------
    @extend_schema(
        request=ConversationOpenInputSerializer,
        responses={201: ConversationObjectSerializer, 200: ConversationObjectSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Opens (or returns) the contact's active conversation: 201 when created, 200 when it existed."""
        data = self.validated_input()
        if data.get("contact_id") is not None:
            conversation, created = services.conversation_open(workspace=request.workspace, contact=data["contact_id"])
        else:
            conversation, created = services.conversation_open_by_phone(
                workspace=request.workspace, phone=data["phone"], name=data.get("name", "")
            )
        return self.object_response(
            conversation, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(operation_id="conversations_list")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_update(self, instance: Conversation, data: dict[str, Any]) -> Conversation:
        return services.conversation_update(conversation=instance, data=data)

    def perform_destroy(self, instance: Conversation) -> None:
        services.conversation_delete(conversation=instance)

    def _message_page(self, conversation: Conversation) -> dict[str, Any]:
        params = self.request.query_params
        limit = parse_limit(self.request, default=settings.PAGE_SIZE_DEFAULT, maximum=settings.MESSAGES_PAGE_SIZE_MAX)
        page = selectors.message_page(
            conversation=conversation, limit=limit, before=params.get("before"), after=params.get("after")
        )
        return {
            "messages": [message_representation(row) for row in page.messages],
            "limit": limit,
            "has_more_before": page.has_older,
            "has_more_after": page.has_newer,
            "before_cursor": page.before_cursor,
            "after_cursor": page.after_cursor,
        }

    @extend_schema(parameters=MESSAGE_PAGE_PARAMETERS, responses={200: ConversationDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.get_object()
        return Response({"conversation": self.output(conversation), **self._message_page(conversation)})

    @extend_schema(responses={200: ConversationObjectSerializer}, request=None)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Marks the conversation read: its unread counter drops to zero."""
        conversation = services.conversation_mark_read(conversation=self.get_object(), user=request.user)
        return self.object_response(conversation)

    @extend_schema(
        responses={
            200: inline_serializer(
                name="ConversationStats",
                fields={
                    "by_status": serializers.DictField(child=serializers.IntegerField()),
                    "avg_first_response_seconds": serializers.FloatField(allow_null=True),
                    "avg_resolution_seconds": serializers.FloatField(allow_null=True),
                },
            )
        }
    )
    @action(detail=False, methods=["get"])
    def stats(self, request: Request) -> Response:
        """Counts by status and average first-response and resolution times."""
        return Response(selectors.conversation_stats(workspace=request.workspace))

    # --- messages --------------------------------------------------------------------------
    @extend_schema(methods=["get"], parameters=MESSAGE_PAGE_PARAMETERS, responses={200: MessagePageSerializer})
    @extend_schema(
        methods=["post"],
        request=MessageCreateInputSerializer,
        responses={201: MessageEnvelopeSerializer, 200: MessageEnvelopeSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, pk: str | None = None) -> Response:
        """GET: a page of messages. POST: adds one; a retry with the same ``client_message_id`` or
        ``external_id`` returns the first message with 200 instead of 201."""
        if request.method == "GET":
            return Response(self._message_page(self.get_object()))
        serializer = MessageCreateInputSerializer(data=request.data, context=self.get_serializer_context())
        if not serializer.is_valid():
            self.get_object()  # another workspace's conversation stays a 404, whatever the body
            serializer.is_valid(raise_exception=True)
        sender = request.user if serializer.validated_data["direction"] == Message.Direction.OUTGOING else None
        # The service's locked, workspace-scoped read of the conversation is the lookup (a 404 when
        # absent), so a send costs no separate SELECT of the conversation.
        conversation = Conversation(pk=uuid.UUID(pk), workspace_id=request.workspace.pk)
        message, created = services.message_create(
            conversation=conversation, sender=sender, **serializer.validated_data
        )
        return Response(
            {"message": message_payload(message)},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @_receipt_schema("put", "conversations_message_status_update")
    @_receipt_schema("patch", "conversations_message_status_partial_update")
    @action(
        detail=True,
        methods=["put", "patch"],
        url_path=rf"messages/(?P<message_id>{UUID_PATTERN})",
        url_name="message-status",
    )
    def message_status(self, request: Request, pk: str | None = None, message_id: str | None = None) -> Response:
        """Advances a message's delivery status; it never moves backwards."""
        conversation = self.get_object()
        message = Message.objects.filter(conversation=conversation, pk=message_id).first()
        if message is None:
            raise NotFound("Message not found.")
        serializer = MessageStatusInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        message = services.message_status_update(message=message, **serializer.validated_data)
        return Response({"message": message_payload(message)})

    @_receipt_schema("put", "conversations_message_status_put")
    @_receipt_schema("post", "conversations_message_status_post")
    @action(
        detail=True,
        methods=["put", "post"],
        url_path=rf"messages/(?P<message_id>{UUID_PATTERN})/status",
        url_name="message-status-endpoint",
    )
    def message_status_endpoint(
        self, request: Request, pk: str | None = None, message_id: str | None = None
    ) -> Response:
        """The same delivery-status update as ``PUT .../messages/:message_id``, as a status endpoint."""
        return self.message_status(request, pk=pk, message_id=message_id)
