"""Conversations and messages as every endpoint, event and export shows them (below the API
layer: services, the API views and serializers all build them here).

Both are built from row dicts (``selectors.conversation_rows``, the message columns) by the
builders ``whatshybrid.api.representation`` derives from the serializers below: the same code
answers REST and feeds events, and the serializers are also the schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rest_framework import serializers

from accounts.models import User, Workspace
from contacts.models import Contact
from crm.models import Label
from messaging.models import Conversation, Message
from messaging.selectors import MESSAGE_COLUMNS, PREVIEW_LENGTH, conversation_rows, message_row
from whatshybrid.api.representation import representation


class ConversationContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "phone"]
        read_only_fields = fields
        columns = {"id": "contact_id", "name": "contact__name", "phone": "contact__phone"}


class ConversationUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email"]
        read_only_fields = fields
        columns = {"id": "assigned_to_id", "name": "assigned_to__name", "email": "assigned_to__email"}


class ConversationLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]
        read_only_fields = fields


class ChatMessageSerializer(serializers.ModelSerializer):
    """The message as every endpoint and event shows it, from a row of ``selectors.MESSAGE_COLUMNS``."""

    conversation_id = serializers.UUIDField(read_only=True)
    media_url = serializers.CharField(read_only=True)  # "" when absent, so not documented as a URI
    sender_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = list(MESSAGE_COLUMNS)
        read_only_fields = fields
        rows = "mapping"

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return message_payload(instance)


class MessagePreviewSerializer(serializers.ModelSerializer):
    content = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "direction", "message_type", "content", "status", "sent_at"]
        read_only_fields = fields
        columns = {
            "id": "last_message_id",
            "direction": "last_message__direction",
            "message_type": "last_message__message_type",
            "status": "last_message__status",
            "sent_at": "last_message__sent_at",
        }

    def get_content(self, row: Mapping[str, Any]) -> str:
        return (row["last_message__content"] or "")[:PREVIEW_LENGTH]


class ConversationListSerializer(serializers.ListSerializer):
    """A page of conversations in one read (``conversation_payloads``), not one per conversation."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        conversations = list(data.all() if hasattr(data, "all") else data)
        if not conversations:
            return []
        workspace = self.context.get("workspace") or conversations[0].workspace_id
        return conversation_payloads([conversation.pk for conversation in conversations], workspace=workspace)


class ConversationSerializer(serializers.ModelSerializer):
    """The conversation as every endpoint and event shows it, from a ``selectors.conversation_rows`` row."""

    contact_id = serializers.UUIDField(read_only=True)
    contact = ConversationContactSerializer(source="*", read_only=True)
    assigned_to = serializers.UUIDField(source="assigned_to_id", read_only=True, allow_null=True)
    assignee = ConversationUserSerializer(source="*", read_only=True, allow_null=True)
    labels = ConversationLabelSerializer(many=True, read_only=True)
    last_message = MessagePreviewSerializer(source="*", read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "contact_id",
            "contact",
            "status",
            "assigned_to",
            "assignee",
            "priority",
            "tags",
            "labels",
            "unread_count",
            "last_message",
            "last_message_at",
            "last_activity_at",
            "last_read_at",
            "snoozed_until",
            "first_response_at",
            "first_response_seconds",
            "resolved_at",
            "resolution_seconds",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        list_serializer_class = ConversationListSerializer
        rows = "mapping"

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return conversation_payloads([instance.pk], workspace=instance.workspace_id)[0]


def message_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    """The message object from a row of ``selectors.MESSAGE_COLUMNS``."""
    return representation(ChatMessageSerializer)(row)


def message_payload(message: Message | Mapping[str, Any]) -> dict[str, Any]:
    """The object of a message (an instance or a row of its columns)."""
    return message_representation(message if isinstance(message, Mapping) else message_row(message))


def conversation_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation object from a ``selectors.conversation_rows`` row."""
    return representation(ConversationSerializer)(row)


def conversation_payloads(ids: Sequence[Any], *, workspace: Workspace | Any) -> list[dict[str, Any]]:
    """The objects of these conversations of ``workspace`` (a workspace or its id), in ``ids``
    order; ids of other workspaces are left out."""
    return [conversation_representation(row) for row in conversation_rows(ids=ids, workspace=workspace)]


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    """The conversation's object, read afresh."""
    (payload,) = conversation_payloads([conversation.pk], workspace=conversation.workspace_id)
    return payload
