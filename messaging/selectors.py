"""Reads for conversations and messages."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, F, Func, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length
from django.utils.dateparse import parse_datetime

from accounts.models import Workspace
from messaging.models import Conversation, Message
from whatshybrid.api.errors import ErrorCode, FieldInvalid
from whatshybrid.api.pagination import rows_within_budget
from whatshybrid.api.params import check_moment
from whatshybrid.db import rows_by_ids

# ``closed`` is the original backend's word for resolved; ``active`` (lists only) is any but resolved.
STATUS_ALIASES = {"closed": Conversation.Status.RESOLVED, "active": None}
LAST_MESSAGE_FIELDS = ("direction", "message_type", "status", "sent_at")
PREVIEW_LENGTH = 200
# What the API shows of a conversation, read as plain rows (no model instances): the list is the
# hot path and building 50 instances of four joined models cost more than the queries.
CONVERSATION_COLUMNS = (
    "id",
    "contact_id",
    "contact__name",
    "contact__phone",
    "status",
    "assigned_to_id",
    "assigned_to__name",
    "assigned_to__email",
    "priority",
    "tags",
    "unread_count",
    "last_message_id",
    *(f"last_message__{field}" for field in LAST_MESSAGE_FIELDS),
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
)
MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "direction",
    "message_type",
    "content",
    "media_url",
    "status",
    "error",
    "external_id",
    "client_message_id",
    "sender_id",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "created_at",
    "updated_at",
)


# Read with each conversation so that the labels query runs only for conversations that have any
# (most have none: an unlabelled page or event payload then costs one round trip less).
_HAS_LABELS = Subquery(
    Conversation.labels.through.objects.filter(conversation_id=OuterRef("pk")).values("label_id")[:1]
)
# Only the preview of the last message is read: a page must not load whole messages (one
# stored before MESSAGE_CONTENT_MAX_CHARS existed may be megabytes). The length is in the SQL
# text, not a parameter, because ``rows_by_ids`` passes only the workspace and the ids.
_PREVIEW = Func(F("last_message__content"), template=f"SUBSTR(%(expressions)s, 1, {PREVIEW_LENGTH})")
_READ_COLUMNS = (*CONVERSATION_COLUMNS, "last_message__preview", "has_labels")


def _conversations(workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> QuerySet:
    return (
        Conversation.objects.filter(workspace_id=workspace_id)
        .filter(pk__in=ids)
        .annotate(last_message__preview=_PREVIEW, has_labels=_HAS_LABELS)
        .values(*_READ_COLUMNS)
    )


def conversation_rows(*, ids: Sequence[uuid.UUID], workspace: Workspace | uuid.UUID) -> list[dict[str, Any]]:
    """The API columns of these conversations of ``workspace`` (a workspace or its id), in
    ``ids`` order, each with its ``labels``: one query, and a second when any has labels."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    # Compiled once (``rows_by_ids``): the list page and every message's event read this.
    found = rows_by_ids(_conversations, workspace_id=getattr(workspace, "pk", workspace), ids=ids)
    rows = {row["id"]: row for row in (dict(zip(_READ_COLUMNS, values, strict=True)) for values in found)}
    for row in rows.values():
        row["last_message__content"] = row.pop("last_message__preview")
    labelled = [pk for pk, row in rows.items() if row.pop("has_labels") is not None]
    labels: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if labelled:
        links = (
            Conversation.labels.through.objects.filter(conversation_id__in=labelled)
            .order_by("label__name", "label_id")
            .values_list("conversation_id", "label_id", "label__name", "label__color")
        )
        for conversation_id, label_id, name, color in links:
            labels[conversation_id].append({"id": str(label_id), "name": name, "color": color})
    ordered = []
    for pk in ids:
        row = rows.get(pk)
        if row is not None:
            row["labels"] = labels.get(pk, [])
            ordered.append(row)
    return ordered


def message_row(message: Message) -> dict[str, Any]:
    return {column: getattr(message, column) for column in MESSAGE_COLUMNS}


def parse_status(raw: str) -> str:
    value = raw.strip().lower()
    value = STATUS_ALIASES.get(value, value) or value
    if value not in Conversation.Status.values:
        raise FieldInvalid("status", f"Use one of: {', '.join(Conversation.Status.values)} (or closed).")
    return value


# --- messages of one conversation: keyset on (sent_at, id) in both directions ----------------


@dataclass
class MessagePage:
    messages: list[dict[str, Any]]
    has_older: bool
    has_newer: bool

    @property
    def before_cursor(self) -> str | None:
        """Pass as ``before`` to load older messages (null when there are none)."""
        return message_cursor(self.messages[0]) if self.messages and self.has_older else None

    @property
    def after_cursor(self) -> str | None:
        """Pass as ``after`` to poll for newer messages (set whenever the page is not empty)."""
        return message_cursor(self.messages[-1]) if self.messages else None


def message_cursor(row: dict[str, Any]) -> str:
    raw = json.dumps([row["sent_at"].isoformat(), str(row["id"])], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(name: str, cursor: str, conversation: Conversation) -> tuple[datetime, uuid.UUID]:
    """A cursor from a previous page, or a message id of this conversation."""
    try:
        message_id = uuid.UUID(cursor)
    except ValueError:
        message_id = None
    if message_id is not None:
        row = Message.objects.filter(conversation=conversation, pk=message_id).values_list("sent_at", "id").first()
        if row is None:
            raise FieldInvalid(name, "No such message in this conversation.")
        return row
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment_raw, id_raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = parse_datetime(moment_raw)
        if moment is None:
            raise ValueError("moment")
        return check_moment(moment, name=name), uuid.UUID(id_raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, FieldInvalid):
        raise FieldInvalid(name, "Invalid cursor.", code=ErrorCode.INVALID_PAGINATION) from None


def message_page(
    *, conversation: Conversation, limit: int, before: str | None = None, after: str | None = None
) -> MessagePage:
    """``limit`` messages, oldest first: the newest ones, those just ``before`` a cursor, or those
    just ``after`` it. Each is one index range scan on (conversation, sent_at, id): the plain
    ``sent_at`` bound is what lets the planner seek instead of filtering from the newest row.

    The page also stops before its contents pass ``PAGE_MAX_CHARS`` (the rows nearest the cursor
    are kept and ``has_older``/``has_newer`` stay true), so the keys and content sizes are read
    first and the contents only of the rows that fit."""
    if before and after:
        raise FieldInvalid("before", "Not with after.")
    base = Message.objects.filter(conversation=conversation)
    if after:
        moment, pk = _decode_cursor("after", after, conversation)
        order = ("sent_at", "id")
        scan = base.filter(Q(sent_at__gte=moment), Q(sent_at__gt=moment) | Q(id__gt=pk))
    else:
        order = ("-sent_at", "-id")
        scan = base
        if before:
            moment, pk = _decode_cursor("before", before, conversation)
            scan = scan.filter(Q(sent_at__lte=moment), Q(sent_at__lt=moment) | Q(id__lt=pk))
    keys = list(scan.order_by(*order).annotate(chars=Length("content")).values_list("id", "chars")[: limit + 1])
    count = min(limit, rows_within_budget([chars for _, chars in keys], settings.PAGE_MAX_CHARS))
    # By primary key alone: the ids come from the conversation's own scan above, and with the
    # conversation in the filter SQLite walks all of the conversation's index entries (0.15x the
    # bare view at 100,000 messages, bench_messaging) instead of looking up the page's rows.
    page_ids = [pk for pk, _ in keys[:count]]
    rows = list(Message.objects.filter(pk__in=page_ids).order_by("sent_at", "id").values(*MESSAGE_COLUMNS))
    more = len(keys) > count
    if after:
        return MessagePage(messages=rows, has_older=True, has_newer=more)
    return MessagePage(messages=rows, has_older=more, has_newer=bool(before))


def messages_for_export(
    *, workspace: Workspace, conversation_id: uuid.UUID | None = None, contact_id: uuid.UUID | None = None
) -> QuerySet[Message]:
    """One conversation's messages, or every message with a contact, oldest first."""
    queryset = Message.objects.filter(workspace=workspace)
    if conversation_id is not None:
        queryset = queryset.filter(conversation_id=conversation_id)
    if contact_id is not None:
        queryset = queryset.filter(conversation__contact_id=contact_id)
    return queryset.select_related("conversation__contact").order_by("sent_at", "id")


def conversation_stats(*, workspace: Workspace) -> dict[str, Any]:
    """Counts by status and average first-response / resolution seconds, for dashboards."""
    by_status = dict(
        Conversation.objects.filter(workspace=workspace)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    averages = Conversation.objects.filter(workspace=workspace).aggregate(
        first_response=Avg("first_response_seconds"), resolution=Avg("resolution_seconds")
    )
    return {
        "by_status": {status: by_status.get(status, 0) for status in Conversation.Status.values},
        "avg_first_response_seconds": averages["first_response"],
        "avg_resolution_seconds": averages["resolution"],
    }
