"""Writes for conversations and messages. Each announces its change with ``publish()`` in its own
transaction, with the same payload the REST API returns."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User, Workspace
from contacts.models import Contact
from contacts.services import contact_get_or_create_by_phone
from crm.models import Label
from messaging.models import Conversation, Message
from messaging.selectors import LAST_MESSAGE_FIELDS, conversation_rows
from whatshybrid.api.errors import ApplicationError, Conflict, NotFoundError
from whatshybrid.api.expressions import prepared_cursor
from whatshybrid.locking import hold_references, lock_for_delete, lock_to_change
from whatshybrid.realtime.publisher import Precondition, publish, publish_many

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


def _conversation_payload(conversation: Conversation) -> dict[str, Any]:
    from messaging.api.serializers import conversation_payloads

    return conversation_payloads([conversation.pk])[0]


def _message_payload(message: Message) -> dict[str, Any]:
    from messaging.api.serializers import message_payload

    return message_payload(message)


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
    publish(workspace, "conversation:created", _conversation_payload(conversation))
    return conversation, True


@transaction.atomic
def conversation_open_by_phone(*, workspace: Workspace, phone: str, name: str = "") -> tuple[Conversation, bool]:
    """Finds or creates the contact for ``phone`` (any format the contacts app accepts), then opens
    its conversation."""
    try:
        contact, _created = contact_get_or_create_by_phone(workspace=workspace, phone=phone, name=name)
    except ValueError as exc:
        message = str(exc) or "Invalid phone number."
        raise ApplicationError(f"phone: {message}", code="VALIDATION_ERROR", errors={"phone": [message]})
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
    publish(conversation.workspace_id, "conversation:updated", _conversation_payload(conversation))
    return conversation


def _schedule_wake(conversation: Conversation) -> None:
    from messaging.jobs import conversation_wake

    workspace_id, conversation_id, run_after = (
        str(conversation.workspace_id),
        str(conversation.pk),
        conversation.snoozed_until,
    )
    transaction.on_commit(
        lambda: conversation_wake.using(run_after=run_after).enqueue(
            workspace_id=workspace_id, conversation_id=conversation_id
        )
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


def _existing_message(conversation: Conversation, client_message_id: str | None, external_id: str | None) -> Any:
    keys = Q(pk__in=[])
    if client_message_id:
        keys |= Q(client_message_id=client_message_id)
    if external_id:
        keys |= Q(external_id=external_id)
    return Message.objects.filter(keys, conversation_id=conversation.pk).order_by("sent_at", "id").first()


# Every stored column of a message, in the order of ``_insert_sql``'s placeholders.
_MESSAGE_FIELDS = [field for field in Message._meta.local_concrete_fields if not field.generated]


@cache
def _insert_sql(vendor: str) -> str:
    """``INSERT ... ON CONFLICT DO NOTHING`` for one message, built once per database vendor (the
    key; quoting differs). Both PostgreSQL and SQLite accept this form, and it skips only rows that
    break a unique constraint (SQLite's ``INSERT OR IGNORE``, which Django's ``ignore_conflicts``
    emits, would also swallow NOT NULL and CHECK failures). A retry of a stored send (same client
    or external id in the conversation) inserts nothing, without a savepoint to keep the
    transaction usable, and a concurrent duplicate waits for the first writer's commit before it
    is skipped."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in _MESSAGE_FIELDS)
    placeholders = ", ".join(["%s"] * len(_MESSAGE_FIELDS))
    return f"INSERT INTO {quote(Message._meta.db_table)} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"


def _insert_params(message: Message) -> list[Any]:
    """``_insert_sql``'s parameters; fills in the timestamps the model sets on insert, which the
    event payload then carries."""
    return [field.get_db_prep_save(field.pre_save(message, True), connection) for field in _MESSAGE_FIELDS]


def _activity_changes(row: dict[str, Any], message: Message) -> dict[str, Any]:
    """The conversation columns a new message moves forward, from the conversation's locked row;
    the keys are both model attributes and row columns."""
    now = timezone.now()
    changes: dict[str, Any] = {"last_activity_at": now, "updated_at": now}
    # A late-arriving older message (history sync) must not replace the newer preview.
    if row["last_message_at"] is None or message.sent_at >= row["last_message_at"]:
        changes |= {"last_message_id": message.pk, "last_message_at": message.sent_at}
    if message.direction == Message.Direction.INCOMING:
        changes["unread_count"] = row["unread_count"] + 1
        if row["first_incoming_at"] is None:
            changes["first_incoming_at"] = message.sent_at
        if row["status"] == Conversation.Status.SNOOZED:
            changes |= {"status": Conversation.Status.OPEN, "snoozed_until": None}  # the customer wrote back
    elif (
        message.message_type != Message.Type.NOTE
        and row["first_incoming_at"] is not None
        and row["first_response_at"] is None
    ):
        changes["first_response_at"] = message.sent_at
        changes["first_response_seconds"] = _seconds_between(row["first_incoming_at"], message.sent_at)
    return changes


@cache
def _update_sql(vendor: str, names: tuple[str, ...]) -> str:
    """``UPDATE ... SET`` of these attributes of one conversation, written directly: building and
    compiling ``QuerySet.update()`` cost more than the statement on this path, and its few column
    sets need no more than each field's own value preparation."""
    quote = connection.ops.quote_name
    meta = Conversation._meta
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"


def _update_params(conversation: Conversation, changes: dict[str, Any]) -> list[Any]:
    fields = [Conversation._meta.get_field(name) for name in changes]
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, changes.values(), strict=True)]
    params.append(Conversation._meta.pk.get_db_prep_value(conversation.pk, connection))
    return params


@cache
def _message_write_ctes(vendor: str, names: tuple[str, ...]) -> str:
    """PostgreSQL: the message insert and, only when it inserted, the conversation update, as the
    CTEs that the events' statement runs first (see ``_store_with_activity``)."""
    return (
        f"written AS ({_insert_sql(vendor)} RETURNING 1), "
        f"touched AS ({_update_sql(vendor, names)} AND EXISTS (SELECT FROM written))"
    )


def _locked_row(conversation: Conversation) -> dict[str, Any]:
    """The conversation's row, locked until commit, from its own workspace only: this read is
    also the tenancy check of a message create, so the view need not load the conversation first."""
    rows = conversation_rows(ids=[conversation.pk], locked_in_workspace=conversation.workspace_id)
    if not rows:
        raise NotFoundError("Conversation not found.")
    return rows[0]


def _conversation_after(row: dict[str, Any], changes: dict[str, Any], message: Message) -> dict[str, Any]:
    """The conversation's API object once ``changes`` are applied to its locked ``row``, for the
    event, without reading the row a second time."""
    from messaging.api.serializers import conversation_representation

    row |= changes
    if "last_message_id" in changes:
        row |= {f"last_message__{field}": getattr(message, field) for field in LAST_MESSAGE_FIELDS}
    return conversation_representation(row)


def _store_with_activity(conversation: Conversation, row: dict[str, Any], message: Message) -> bool:
    """Inserts ``message``, moves its conversation forward from the locked ``row`` and publishes
    both events; False, with nothing written, when a retry of the same send is already stored.

    On PostgreSQL the three writes are one statement, the insert being the precondition of the
    rest: a send then costs two round trips fewer inside the conversation's row lock. Elsewhere
    they are separate statements, the update and the events only after the insert.
    """
    params = _insert_params(message)
    changes = _activity_changes(row, message)
    events = [
        ("message:created", _message_payload(message)),
        ("conversation:updated", _conversation_after(row, changes, message)),
    ]
    if connection.vendor == "postgresql":
        ctes = _message_write_ctes(connection.vendor, tuple(changes))
        after = Precondition(ctes, [*params, *_update_params(conversation, changes)], guard="written")
        inserted = bool(publish_many(conversation.workspace_id, events, after=after))
    else:
        with prepared_cursor() as cursor:
            cursor.execute(_insert_sql(connection.vendor), params)
            inserted = cursor.rowcount == 1
            if inserted:
                cursor.execute(_update_sql(connection.vendor, tuple(changes)), _update_params(conversation, changes))
                publish_many(conversation.workspace_id, events)
    if inserted:
        message._state.adding = False
        message._state.db = connection.alias
    return inserted


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
    that is not in that workspace is a NotFoundError. Returns (message, created). Retries of a send,
    however concurrent, resolve to the first row: the per-conversation unique constraints decide,
    and the loser reads the winner's row.
    """
    # The lock orders concurrent messages to one conversation: each reads its predecessor's counts.
    row = _locked_row(conversation)
    # No read-before-insert: the unique constraints answer for retries, so a new message (the
    # common case) costs no extra query and a concurrent duplicate cannot slip between the two.
    is_outgoing = direction == Message.Direction.OUTGOING
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        direction=direction,
        message_type=message_type,
        content=content,
        media_url=media_url,
        status=Message.Status.SENT if is_outgoing else Message.Status.DELIVERED,
        sent_at=sent_at or timezone.now(),
        external_id=external_id or None,
        client_message_id=client_message_id or None,
        sender=sender if is_outgoing else None,
    )
    if not is_outgoing:
        message.delivered_at = message.sent_at
    if not _store_with_activity(conversation, row, message):
        existing = _existing_message(conversation, client_message_id, external_id)
        if existing is None:
            raise Conflict("The message collided with another one; retry.", code="MESSAGE_CONFLICT")
        return existing, False
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
    publish(message.workspace_id, "message:updated", _message_payload(message))
    return message


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation, user: User) -> Conversation:
    """Clears the unread counter (a shared inbox: one counter per conversation) and records who read."""
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        unread_count=0, last_read_at=now, last_read_by=user, updated_at=now
    )
    publish(conversation.workspace_id, "conversation:updated", _conversation_payload(conversation))
    return conversation


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    if not lock_for_delete(conversation):
        return  # a concurrent delete won and announced it
    conversation_id = str(conversation.pk)
    workspace_id = conversation.workspace_id
    conversation.delete()
    publish(workspace_id, "conversation:deleted", {"id": conversation_id})
