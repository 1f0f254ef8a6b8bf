"""Conversations and messages as every endpoint, event and export shows them (below the API
layer: services, the API views and serializers all build them here).

Both are built by plain functions from row dicts (``selectors.conversation_rows``, the message
columns): the same code answers REST and feeds events, and it skips DRF's per-field machinery
on the hot list paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from accounts.models import Workspace
from messaging.models import Conversation, Message
from messaging.selectors import PREVIEW_LENGTH, conversation_rows, message_row
from whatshybrid.api.serializers import instant_text


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def message_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    """The message object from a row of ``selectors.MESSAGE_COLUMNS``."""
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
        "sent_at": instant_text(row["sent_at"]),
        "delivered_at": instant_text(row["delivered_at"]),
        "read_at": instant_text(row["read_at"]),
        "failed_at": instant_text(row["failed_at"]),
        "created_at": instant_text(row["created_at"]),
        "updated_at": instant_text(row["updated_at"]),
    }


def message_payload(message: Message | Mapping[str, Any]) -> dict[str, Any]:
    """The object of a message (an instance or a row of its columns)."""
    return message_representation(message if isinstance(message, Mapping) else message_row(message))


def conversation_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation object from a ``selectors.conversation_rows`` row."""
    last_message = None
    if row["last_message_id"] is not None:
        last_message = {
            "id": str(row["last_message_id"]),
            "direction": row["last_message__direction"],
            "message_type": row["last_message__message_type"],
            "content": (row["last_message__content"] or "")[:PREVIEW_LENGTH],
            "status": row["last_message__status"],
            "sent_at": instant_text(row["last_message__sent_at"]),
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
        "last_message_at": instant_text(row["last_message_at"]),
        "last_activity_at": instant_text(row["last_activity_at"]),
        "last_read_at": instant_text(row["last_read_at"]),
        "snoozed_until": instant_text(row["snoozed_until"]),
        "first_response_at": instant_text(row["first_response_at"]),
        "first_response_seconds": row["first_response_seconds"],
        "resolved_at": instant_text(row["resolved_at"]),
        "resolution_seconds": row["resolution_seconds"],
        "created_at": instant_text(row["created_at"]),
        "updated_at": instant_text(row["updated_at"]),
    }


def conversation_payloads(ids: Sequence[Any], *, workspace: Workspace | Any) -> list[dict[str, Any]]:
    """The objects of these conversations of ``workspace`` (a workspace or its id), in ``ids``
    order; ids of other workspaces are left out."""
    return [conversation_representation(row) for row in conversation_rows(ids=ids, workspace=workspace)]


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    """The conversation's object, read afresh."""
    (payload,) = conversation_payloads([conversation.pk], workspace=conversation.workspace_id)
    return payload
