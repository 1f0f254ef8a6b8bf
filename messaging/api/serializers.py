from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Membership, User
from contacts.models import Contact
from crm.models import Label
from messaging.models import Conversation, Message
from messaging.selectors import MESSAGE_COLUMNS, conversation_rows, message_row, parse_status
from whatshybrid.api.serializers import StrictSerializer, WorkspaceRelatedField

PREVIEW_LENGTH = 200
DIRECTION_ALIASES = {"incoming": "in", "inbound": "in", "outgoing": "out", "outbound": "out"}


def _when(value: Any) -> str | None:
    """DRF's DateTimeField output for the stored UTC values (``...Z``), without its per-call cost."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


# The two shapes are built by plain functions from row dicts (``selectors.*_rows``): the same code
# answers REST and feeds events, and it skips DRF's per-field machinery on the hot list paths.
# The serializers below document the same shapes for the OpenAPI schema; a test keeps them equal.
def message_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "conversation_id": str(row["conversation_id"]),
        "direction": row["direction"],
        "message_type": row["message_type"],
        "content": row["content"],
        "media_url": row["media_url"],
        "status": row["status"],
        "error": row["error"],
        "external_id": row["external_id"],
        "client_message_id": row["client_message_id"],
        "sender_id": _id(row["sender_id"]),
        "sent_at": _when(row["sent_at"]),
        "delivered_at": _when(row["delivered_at"]),
        "read_at": _when(row["read_at"]),
        "failed_at": _when(row["failed_at"]),
        "created_at": _when(row["created_at"]),
        "updated_at": _when(row["updated_at"]),
    }


def conversation_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    last_message = None
    if row["last_message_id"] is not None:
        last_message = {
            "id": str(row["last_message_id"]),
            "direction": row["last_message__direction"],
            "message_type": row["last_message__message_type"],
            "content": (row["last_message__content"] or "")[:PREVIEW_LENGTH],
            "status": row["last_message__status"],
            "sent_at": _when(row["last_message__sent_at"]),
        }
    assignee = None
    if row["assigned_to_id"] is not None:
        assignee = {
            "id": str(row["assigned_to_id"]),
            "name": row["assigned_to__name"],
            "email": row["assigned_to__email"],
        }
    return {
        "id": str(row["id"]),
        "contact_id": str(row["contact_id"]),
        "contact": {"id": str(row["contact_id"]), "name": row["contact__name"], "phone": row["contact__phone"]},
        "status": row["status"],
        "assigned_to": _id(row["assigned_to_id"]),
        "assignee": assignee,
        "priority": row["priority"],
        "tags": row["tags"],
        "labels": row["labels"],
        "unread_count": row["unread_count"],
        "last_message": last_message,
        "last_message_at": _when(row["last_message_at"]),
        "last_activity_at": _when(row["last_activity_at"]),
        "last_read_at": _when(row["last_read_at"]),
        "snoozed_until": _when(row["snoozed_until"]),
        "first_response_at": _when(row["first_response_at"]),
        "first_response_seconds": row["first_response_seconds"],
        "resolved_at": _when(row["resolved_at"]),
        "resolution_seconds": row["resolution_seconds"],
        "created_at": _when(row["created_at"]),
        "updated_at": _when(row["updated_at"]),
    }


def conversation_payloads(*, workspace_id: Any, ids: Sequence[Any]) -> list[dict[str, Any]]:
    """API objects for the workspace's conversations among ``ids``, in order, in two queries."""
    return [conversation_representation(row) for row in conversation_rows(workspace_id=workspace_id, ids=ids)]


def message_payload(message: Any) -> dict[str, Any]:
    return message_representation(message if isinstance(message, Mapping) else message_row(message))


class ConversationContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "phone"]
        read_only_fields = fields


class ConversationUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email"]
        read_only_fields = fields


class ConversationLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]
        read_only_fields = fields


class ChatMessageSerializer(serializers.ModelSerializer):
    conversation_id = serializers.UUIDField(read_only=True)
    media_url = serializers.CharField(read_only=True)  # "" when absent, so not documented as a URI
    sender_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = list(MESSAGE_COLUMNS)
        read_only_fields = fields

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return message_payload(instance)


class MessagePreviewSerializer(serializers.ModelSerializer):
    content = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "direction", "message_type", "content", "status", "sent_at"]
        read_only_fields = fields

    def get_content(self, message: Message) -> str:
        return message.content[:PREVIEW_LENGTH]


class ConversationSerializer(serializers.ModelSerializer):
    contact_id = serializers.UUIDField(read_only=True)
    contact = ConversationContactSerializer(read_only=True)
    assigned_to = serializers.UUIDField(source="assigned_to_id", read_only=True, allow_null=True)
    assignee = ConversationUserSerializer(source="assigned_to", read_only=True, allow_null=True)
    labels = ConversationLabelSerializer(many=True, read_only=True)
    last_message = MessagePreviewSerializer(read_only=True, allow_null=True)

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

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return conversation_payloads(workspace_id=instance.workspace_id, ids=[instance.pk])[0]


class TextField(serializers.CharField):
    """A string, strictly: numbers and booleans are rejected instead of silently stringified."""

    default_error_messages = {"not_text": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.UUID)
class MemberField(serializers.Field):
    """A user id that must belong to a member of the request's workspace; null unassigns."""

    default_error_messages = {"not_member": "User {value} is not a member of this workspace."}

    def to_internal_value(self, data: Any) -> User | None:
        if data in (None, ""):
            return None
        membership = (
            Membership.objects.filter(workspace=self.context.get("workspace"), user_id=_as_uuid(self, data))
            .select_related("user")
            .first()
        )
        if membership is None:
            self.fail("not_member", value=data)
        return membership.user

    def to_representation(self, value: Any) -> Any:
        return str(value.pk) if value else None


def _as_uuid(field: serializers.Field, data: Any) -> Any:
    try:
        return serializers.UUIDField().to_internal_value(data)
    except serializers.ValidationError:
        field.fail("not_member", value=data)


class ConversationStatusField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return parse_status(value)
        except Exception:
            raise serializers.ValidationError(
                f"Unknown status '{value}'. Use one of: open, pending, snoozed, resolved (or closed)."
            )


class TagListField(serializers.ListField):
    child = TextField(max_length=60)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):  # "a, b" from simple clients
            data = [part for part in data.split(",")]
        tags = [tag.strip() for tag in super().to_internal_value(data) if tag.strip()]
        return list(dict.fromkeys(tags))


class ConversationOpenInputSerializer(StrictSerializer):
    contact_id = WorkspaceRelatedField(Contact, required=False)
    phone = TextField(max_length=64, required=False)
    name = TextField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("contact_id") and not attrs.get("phone"):
            raise serializers.ValidationError({"contact_id": ["Give contact_id or phone."]})
        if attrs.get("contact_id") and attrs.get("phone"):
            raise serializers.ValidationError({"phone": ["Give contact_id or phone, not both."]})
        return attrs


class ConversationUpdateInputSerializer(StrictSerializer):
    status = ConversationStatusField(max_length=20, required=False)
    assigned_to = MemberField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Conversation.Priority.choices, required=False)
    tags = TagListField(required=False, max_length=50)
    label_ids = serializers.ListField(child=WorkspaceRelatedField(Label), required=False, max_length=100)
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True)
    echo_fields = frozenset(ConversationSerializer.Meta.fields)  # a GET object sent back: extras ignored

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "label_ids" in attrs:
            attrs["labels"] = attrs.pop("label_ids")
        return attrs


class MessageCreateInputSerializer(StrictSerializer):
    content = TextField(required=False, allow_blank=True, default="", trim_whitespace=False)
    message_type = serializers.ChoiceField(choices=Message.Type.choices, required=False, default=Message.Type.TEXT)
    direction = serializers.ChoiceField(
        choices=Message.Direction.choices, required=False, default=Message.Direction.OUTGOING
    )
    external_id = TextField(max_length=128, required=False, allow_blank=True, allow_null=True)
    client_message_id = TextField(max_length=128, required=False, allow_blank=True, allow_null=True)
    media_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")
    sent_at = serializers.DateTimeField(required=False, allow_null=True)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("direction"), str) and data["direction"] in DIRECTION_ALIASES:
            data = {**data, "direction": DIRECTION_ALIASES[data["direction"]]}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("content") and not attrs.get("media_url") and attrs["message_type"] != Message.Type.LOCATION:
            raise serializers.ValidationError({"content": ["A message needs content or media_url."]})
        return attrs


class MessageStatusInputSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Message.Status.choices)
    error = TextField(max_length=500, required=False, allow_blank=True, default="")
    echo_fields = frozenset(ChatMessageSerializer.Meta.fields)

    def validate_status(self, value: str) -> str:
        if value == Message.Status.PENDING:
            raise serializers.ValidationError("A message cannot go back to pending.")
        return value


class ConversationDetailSerializer(serializers.Serializer):
    """Schema of ``GET /conversations/:id``: the conversation, a page of messages and its cursors."""

    conversation = ConversationSerializer()
    messages = ChatMessageSerializer(many=True)
    limit = serializers.IntegerField()
    has_more_before = serializers.BooleanField()
    has_more_after = serializers.BooleanField()
    before_cursor = serializers.CharField(allow_null=True)
    after_cursor = serializers.CharField(allow_null=True)


class MessageEnvelopeSerializer(serializers.Serializer):
    message = ChatMessageSerializer()


class ConversationObjectSerializer(serializers.Serializer):
    conversation = ConversationSerializer()
