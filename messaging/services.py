"""Writes for conversations and messages. Each announces its change with ``publish()`` in its own
transaction, with the same payload the REST API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User, Workspace
from contacts.models import Contact
from contacts.services import contact_get_or_create_by_phone
from crm.models import Label
from messaging.models import Conversation, Message
from messaging.payloads import conversation_payload, message_payload
from whatshybrid.api.errors import ApplicationError, Conflict, NotFoundError
from whatshybrid.db import rows_by_ids
from whatshybrid.jobs import enqueue_on_commit
from whatshybrid.locking import hold_references, lock_for_delete, lock_to_change
from whatshybrid.realtime.publisher import publish, publish_many

ACTIVE = Q(status__in=[Conversation.Status.OPEN, Conversation.Status.PENDING, Conversation.Status.SNOOZED])

# A resolved conversation must be reopened before it can be parked again.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Conversation.Status.OPEN: frozenset({"pending", "snoozed", "resolved"}),
    Conversation.Status.PENDING: frozenset({"open", "snoozed", "resolved"}),
    Conversation.Status.SNOOZED: frozenset({"open", "pending", "resolved"}),
    Conversation.Status.RESOLVED: frozenset({"open"}),
}

# Delivery progresses one way; ``failed`` is reachable only before the recipient got the message.
DELIVERY_RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}
STATUS_TIMESTAMP = {"delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}


def _active_for_contact(*, workspace: Workspace, contact: Contact) -> Conversation | None:
    return Conversation.objects.filter(ACTIVE, workspace=workspace, contact=contact).first()


@transaction.atomic
def conversation_open(
    *, workspace: Workspace, contact: Contact, assigned_to: User | None = None
) -> tuple[Conversation, bool]:
    """The contact's active conversation, created when there is none. Returns (conversation, created)."""
    hold_references(Contact, [contact], field="contact_id")
    existing = _active_for_contact(workspace=workspace, contact=contact)
    if existing is not None:
        return existing, False
    try:
        # The savepoint keeps the outer transaction usable when a concurrent open wins the race.
        with transaction.atomic():
            conversation = Conversation.objects.create(workspace=workspace, contact=contact, assigned_to=assigned_to)
    except IntegrityError:
        existing = _active_for_contact(workspace=workspace, contact=contact)
        if existing is None:
            raise
        return existing, False
    publish(workspace, "conversation:created", conversation_payload(conversation))
    return conversation, True


@transaction.atomic
def conversation_open_by_phone(*, workspace: Workspace, phone: str, name: str = "") -> tuple[Conversation, bool]:
    """Finds or creates the contact for ``phone`` (any format the contacts app accepts), then opens
    its conversation."""
    # A phone that is not a phone raises InvalidPhone: a 400 on ``phone``.
    contact, _created = contact_get_or_create_by_phone(workspace=workspace, phone=phone, name=name)
    return conversation_open(workspace=workspace, contact=contact)


def _validate_transition(current: str, new: str) -> None:
    if new != current and new not in ALLOWED_TRANSITIONS[current]:
        raise ApplicationError(
            f"A {current} conversation cannot become {new}.",
            code="INVALID_STATUS_TRANSITION",
            status_code=422,
            errors={"status": [f"Allowed from {current}: {', '.join(sorted(ALLOWED_TRANSITIONS[current]))}."]},
        )


def _seconds_between(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, int((end - start).total_seconds()))


def _apply_status(conversation: Conversation, new: str, now: datetime) -> None:
    _validate_transition(conversation.status, new)
    if new == conversation.status:
        return
    if new == Conversation.Status.RESOLVED:
        conversation.resolved_at = now
        conversation.resolution_seconds = _seconds_between(conversation.reopened_at or conversation.created_at, now)
        conversation.snoozed_until = None
    elif conversation.status == Conversation.Status.RESOLVED:
        conversation.reopened_at = now
        conversation.resolved_at = None
        conversation.resolution_seconds = None
    if new != Conversation.Status.SNOOZED:
        conversation.snoozed_until = None
    conversation.status = new


@transaction.atomic
def conversation_update(*, conversation: Conversation, data: dict[str, Any]) -> Conversation:
    """Partial update of status, assignee, tags, labels, priority and snooze time.

    ``assigned_to`` must already be validated as a member of the conversation's workspace.
    """
    hold_references(Label, data.get("labels") or (), field="labels")
    conversation = lock_to_change(Conversation.objects.select_for_update(), conversation.pk)
    now = timezone.now()
    if "status" in data:
        _apply_status(conversation, data["status"], now)
    if "snoozed_until" in data:
        if data["snoozed_until"] is not None and conversation.status != Conversation.Status.SNOOZED:
            raise ApplicationError(
                "snoozed_until needs status snoozed.",
                code="VALIDATION_ERROR",
                errors={"snoozed_until": ["Only a snoozed conversation has a snooze time."]},
            )
        conversation.snoozed_until = data["snoozed_until"]
    for field in ("assigned_to", "priority", "tags"):
        if field in data:
            setattr(conversation, field, data[field])
    conversation.last_activity_at = max(conversation.last_activity_at, now)
    try:
        with transaction.atomic():
            conversation.save()
    except IntegrityError:
        # Reopening while the contact already has another active conversation.
        raise Conflict("This contact already has an active conversation.", code="CONVERSATION_ALREADY_ACTIVE") from None
    if "labels" in data:
        conversation.labels.set(data["labels"])
    if conversation.status == Conversation.Status.SNOOZED and conversation.snoozed_until is not None:
        _schedule_wake(conversation)
    publish(conversation.workspace_id, "conversation:updated", conversation_payload(conversation))
    return conversation


def _schedule_wake(conversation: Conversation) -> None:
    enqueue_on_commit(
        "messaging.conversation_wake",
        run_after=conversation.snoozed_until,
        workspace_id=str(conversation.workspace_id),
        conversation_id=str(conversation.pk),
    )


@transaction.atomic
def conversation_wake_if_due(*, conversation: Conversation) -> bool:
    """Snoozed → open when ``snoozed_until`` has passed; otherwise nothing (returns False)."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    due = conversation.snoozed_until is not None and conversation.snoozed_until <= timezone.now()
    if conversation.status != Conversation.Status.SNOOZED or not due:
        return False
    conversation_update(conversation=conversation, data={"status": Conversation.Status.OPEN})
    return True


def _existing_message(
    conversation: Conversation, client_message_id: str | None, external_id: str | None
) -> Message | None:
    """The stored message a retry of this send repeats (same client or external id), if any."""
    if not (client_message_id or external_id):
        return None
    keys = Q(pk__in=[])
    if client_message_id:
        keys |= Q(client_message_id=client_message_id)
    if external_id:
        keys |= Q(external_id=external_id)
    return Message.objects.filter(keys, conversation_id=conversation.pk).order_by("sent_at", "id").first()


# What a new message moves forward, read under the conversation's row lock.
_ACTIVITY_FIELDS = ("status", "unread_count", "last_message_at", "first_incoming_at", "first_response_at")


def _locked_activity(workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> QuerySet:
    return (
        Conversation.objects.filter(workspace_id=workspace_id)
        .filter(pk__in=ids)
        .select_for_update()
        .values(*_ACTIVITY_FIELDS)
    )


def _activity_changes(state: dict[str, Any], message: Message) -> dict[str, Any]:
    """The conversation fields a new ``message`` moves forward from the locked ``state``."""
    now = timezone.now()
    changes: dict[str, Any] = {"last_activity_at": now, "updated_at": now}
    # A late-arriving older message (history sync) must not replace the newer preview.
    if state["last_message_at"] is None or message.sent_at >= state["last_message_at"]:
        changes |= {"last_message": message, "last_message_at": message.sent_at}
    if message.direction == Message.Direction.INCOMING:
        changes["unread_count"] = state["unread_count"] + 1
        if state["first_incoming_at"] is None:
            changes["first_incoming_at"] = message.sent_at
        if state["status"] == Conversation.Status.SNOOZED:  # the customer wrote back
            changes |= {"status": Conversation.Status.OPEN, "snoozed_until": None}
    elif (
        message.message_type != Message.Type.NOTE
        and state["first_incoming_at"] is not None
        and state["first_response_at"] is None
    ):
        changes["first_response_at"] = message.sent_at
        changes["first_response_seconds"] = _seconds_between(state["first_incoming_at"], message.sent_at)
    return changes


@transaction.atomic
def message_create(
    *,
    conversation: Conversation,
    content: str = "",
    message_type: str = Message.Type.TEXT,
    direction: str = Message.Direction.OUTGOING,
    external_id: str | None = None,
    client_message_id: str | None = None,
    media_url: str = "",
    sent_at: datetime | None = None,
    sender: User | None = None,
) -> tuple[Message, bool]:
    """Adds a message, or returns the one already stored under the same client/external id.

    ``conversation`` needs only its id and workspace id (an unsaved handle will do): a conversation
    that is not in that workspace is a NotFoundError. Returns (message, created).
    """
    # The row lock orders concurrent sends to one conversation (SQLite's IMMEDIATE transactions
    # hold the database's write lock already): each sees its predecessor's counts, and a retry of
    # a send finds the first one's row committed, however many retries race. The read is compiled
    # once (``rows_by_ids``: loading the model instance tripled a send's own time).
    locked = rows_by_ids(_locked_activity, workspace_id=conversation.workspace_id, ids=[conversation.pk])
    if not locked:
        raise NotFoundError("Conversation not found.")
    state = dict(zip(_ACTIVITY_FIELDS, locked[0], strict=True))
    is_outgoing = direction == Message.Direction.OUTGOING
    sent_at = sent_at or timezone.now()
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        direction=direction,
        message_type=message_type,
        content=content,
        media_url=media_url,
        status=Message.Status.SENT if is_outgoing else Message.Status.DELIVERED,
        sent_at=sent_at,
        delivered_at=None if is_outgoing else sent_at,
        external_id=external_id or None,
        client_message_id=client_message_id or None,
        sender=sender if is_outgoing else None,
    )
    # Insert first, look up only on a collision: the unique client/external ids answer for a
    # retry, so a new message (the common case) costs no extra read. The savepoint keeps the
    # transaction usable after the collision.
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        existing = _existing_message(conversation, client_message_id, external_id)
        if existing is None:
            raise
        return existing, False
    Conversation.objects.filter(pk=conversation.pk).update(**_activity_changes(state, message))
    publish_many(
        conversation.workspace_id,
        [("message:created", message_payload(message)), ("conversation:updated", conversation_payload(conversation))],
    )
    return message, True


@transaction.atomic
def message_status_update(*, message: Message, status: str, error: str = "") -> Message:
    """Advances delivery status (sent → delivered → read, or failed). Never moves backwards:
    a repeated or older status is a no-op, an impossible one is a 422."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    current = message.status
    if status == current:
        return message
    if status == Message.Status.FAILED:
        if current not in (Message.Status.PENDING, Message.Status.SENT):
            raise ApplicationError(
                f"A {current} message cannot fail.", code="INVALID_STATUS_TRANSITION", status_code=422
            )
        message.error = error[:500]
    elif current == Message.Status.FAILED:
        raise ApplicationError("A failed message keeps its status.", code="INVALID_STATUS_TRANSITION", status_code=422)
    elif DELIVERY_RANK[status] < DELIVERY_RANK[current]:
        # Receipts arrive out of order (read before delivered): the later state already implies it.
        return message
    now = timezone.now()
    message.status = status
    # A read receipt implies delivery, so a skipped step still gets its timestamp.
    for step, field in STATUS_TIMESTAMP.items():
        reached = step == status or (status == "read" and step == "delivered")
        if reached and getattr(message, field) is None:
            setattr(message, field, now)
    message.save(update_fields=["status", "error", "delivered_at", "read_at", "failed_at", "updated_at"])
    publish(message.workspace_id, "message:updated", message_payload(message))
    return message


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation, user: User) -> Conversation:
    """Clears the unread counter (a shared inbox: one counter per conversation) and records who read."""
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        unread_count=0, last_read_at=now, last_read_by=user, updated_at=now
    )
    publish(conversation.workspace_id, "conversation:updated", conversation_payload(conversation))
    return conversation


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    if not lock_for_delete(conversation):
        return  # a concurrent delete won and announced it
    conversation_id = str(conversation.pk)
    workspace_id = conversation.workspace_id
    conversation.delete()
    publish(workspace_id, "conversation:deleted", {"id": conversation_id})
