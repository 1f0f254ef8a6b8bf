"""``publish()``: every service announces its changes here, inside its own transaction.

The event row commits or rolls back with the change it describes; the live fan-out to the
workspace's channel group runs only after commit, and a failing fan-out never fails the write.

Sequence numbers come from the workspace's ``EventSequence`` row, bumped by one upsert
(``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``, PostgreSQL and SQLite >= 3.35). Its row lock
(PostgreSQL) or write lock (SQLite, IMMEDIATE transactions) is held until the surrounding
transaction ends, so writers take numbers one at a time, in commit order, and a rolled-back
writer gives its numbers back: the sequence has no gaps and no reorderings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from whatshybrid.realtime.frames import batch_dispatch_message, dispatch_message, event_message, workspace_group
from whatshybrid.realtime.hub import embedded_mode, relay
from whatshybrid.realtime.models import Event, EventSequence

__all__ = ["event_message", "publish", "publish_many", "workspace_group"]

logger = logging.getLogger(__name__)


def _reserve_numbers(workspace_id: Any, count: int) -> int:
    """Adds ``count`` to the workspace's counter (creating it at ``count``); returns the new last
    number. One statement: the upsert takes the row lock and reads the value it wrote."""
    quote = connection.ops.quote_name
    table = quote(EventSequence._meta.db_table)
    key = quote(EventSequence._meta.pk.column)
    last = quote(EventSequence._meta.get_field("last_seq").column)
    sql = (
        f"INSERT INTO {table} ({key}, {last}) VALUES (%s, %s) "
        f"ON CONFLICT ({key}) DO UPDATE SET {last} = {table}.{last} + EXCLUDED.{last} RETURNING {last}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [EventSequence._meta.pk.get_db_prep_value(workspace_id, connection), count])
        return cursor.fetchone()[0]


_INSERTED = ("workspace", "seq", "name", "payload", "created_at")
# Far below SQLite's 32,766 bound parameters per statement.
_ROWS_PER_INSERT = 500


def _insert(rows: list[Event]) -> None:
    """One multi-row ``INSERT ... RETURNING``: ``bulk_create`` spent more time building and
    compiling its query than the database spent on it, twice per message sent."""
    quote = connection.ops.quote_name
    meta = Event._meta
    fields = [meta.get_field(name) for name in _INSERTED]
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    ids: dict[int, Any] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"
                f" VALUES {', '.join([row_marks] * len(chunk))}"
                f" RETURNING {quote(meta.pk.column)}, {quote(meta.get_field('seq').column)}",
                [field.get_db_prep_save(getattr(row, field.attname), connection) for row in chunk for field in fields],
            )
            ids.update((seq, pk) for pk, seq in cursor.fetchall())
    for row in rows:
        row.pk = ids[row.seq]
        row._state.adding, row._state.db = False, connection.alias


async def _send(layer: BaseChannelLayer, events: Sequence[Event]) -> None:
    message = dispatch_message(events[0]) if len(events) == 1 else batch_dispatch_message(events)
    await layer.group_send(workspace_group(events[0].workspace_id), message)


def _fan_out(events: Sequence[Event]) -> None:
    if embedded_mode():
        # The in-memory layer only reaches this process; the relay of the web process delivers
        # every committed row (ours included), so here we only wake it up.
        relay.notify()
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send)(layer, events)
    except Exception:  # the write is committed; sockets catch up from the log on resume
        logger.exception("Fan-out of events #%s-#%s failed", events[0].seq, events[-1].seq)


def publish_many(workspace: Any, events: Sequence[tuple[str, dict[str, Any]]]) -> list[Event]:
    """Appends ``(name, payload)`` events to the workspace's log in the caller's transaction, with
    consecutive numbers in the given order: one counter bump and one bulk insert."""
    if not events:
        return []
    workspace_id = getattr(workspace, "pk", workspace)
    # No savepoint: nothing here is caught and retried, so a failure belongs to the caller's
    # transaction anyway. The block only opens a transaction when the caller has none, so the
    # lock taken by the counter bump lasts until the rows are in.
    with transaction.atomic(savepoint=False):
        first = _reserve_numbers(workspace_id, len(events)) - len(events) + 1
        now = timezone.now()
        rows = [
            Event(workspace_id=workspace_id, seq=first + offset, name=name, payload=payload, created_at=now)
            for offset, (name, payload) in enumerate(events)
        ]
        _insert(rows)
    transaction.on_commit(lambda: _fan_out(rows))
    return rows


def publish(workspace: Any, event_name: str, payload: dict[str, Any]) -> Event:
    """Appends ``event_name`` to the workspace's log in the caller's transaction."""
    return publish_many(workspace, [(event_name, payload)])[0]
