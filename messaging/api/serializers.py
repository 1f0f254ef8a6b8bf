from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Membership, User
from contacts.models import Contact
from crm.models import Label
from messaging.models import Conversation, Message
from messaging.payloads import ChatMessageSerializer, ConversationSerializer
from messaging.selectors import parse_status
from whatshybrid.api.serializers import StrictSerializer, WorkspaceRelatedField

DIRECTION_ALIASES = {"incoming": "in", "inbound": "in", "outgoing": "out", "outbound": "out"}


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
    content = TextField(
        max_length=settings.MESSAGE_CONTENT_MAX_CHARS,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
    )
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
