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
from dataclasses import dataclass
from functools import cache
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from whatshybrid.api.expressions import prepared_cursor
from whatshybrid.realtime.frames import batch_dispatch_message, dispatch_message, event_message, workspace_group
from whatshybrid.realtime.hub import embedded_mode, relay
from whatshybrid.realtime.models import Event, EventSequence

__all__ = ["Precondition", "event_message", "publish", "publish_many", "workspace_group"]

logger = logging.getLogger(__name__)


# SQL texts are cached per vendor (``vendor`` is only the key): quoting differs between backends,
# and rebuilding them cost a string assembly on every publish.
@cache
def _upsert_counter_sql(vendor: str, guard: str | None = None) -> str:
    """Adds the second parameter to the workspace's counter (creating it at that value) and
    returns the new last number. The upsert takes the row lock and reads the value it wrote.
    With ``guard`` (the name of a CTE before it), only when that CTE returned a row."""
    quote = connection.ops.quote_name
    table = quote(EventSequence._meta.db_table)
    key = quote(EventSequence._meta.pk.column)
    last = quote(EventSequence._meta.get_field("last_seq").column)
    source = "VALUES (%s, %s)" if guard is None else f"SELECT %s, %s WHERE EXISTS (SELECT FROM {guard})"
    return (
        f"INSERT INTO {table} ({key}, {last}) {source} "
        f"ON CONFLICT ({key}) DO UPDATE SET {last} = {table}.{last} + EXCLUDED.{last} RETURNING {last}"
    )


@dataclass(frozen=True)
class Precondition:
    """A write the events depend on, run in the same PostgreSQL statement as their insert.

    ``ctes`` are data-modifying CTE definitions (``name AS (...)``, comma-separated, with ``%s``
    placeholders for ``params``) that go in front of the counter bump; ``guard`` names the one
    that returns a row when the write happened. Without that row no number is taken and no event
    is stored. It saves the round trips of separate statements on a hot write path, such as a
    message insert that a retry may skip and the conversation update that follows it.
    """

    ctes: str
    params: list[Any]
    guard: str


# Far below SQLite's 32,766 bound parameters per statement.
_ROWS_PER_INSERT = 500


@cache
def _event_columns(vendor: str) -> tuple[str, str]:
    quote = connection.ops.quote_name
    meta = Event._meta
    columns = ", ".join(
        quote(meta.get_field(name).column) for name in ("workspace", "seq", "name", "payload", "created_at")
    )
    returning = f"{quote(meta.pk.column)}, {quote(meta.get_field('seq').column)}"
    return columns, returning


def _append(
    workspace_id: Any, events: Sequence[tuple[str, dict[str, Any]]], now: Any, after: Precondition | None
) -> list[Event]:
    """Reserves ``len(events)`` numbers and inserts the rows; returns them saved. Hand-written:
    ``bulk_create`` spent more time building and compiling its query than the database spent on
    it, on every write that publishes."""
    meta = Event._meta
    workspace_param = meta.get_field("workspace").get_db_prep_save(workspace_id, connection)
    now_param = meta.get_field("created_at").get_db_prep_save(now, connection)
    payload_field = meta.get_field("payload")
    named = [(name, payload_field.get_db_prep_save(payload, connection)) for name, payload in events]
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql" and len(events) <= _ROWS_PER_INSERT:
            first, ids = _insert_with_counter(cursor, workspace_param, now_param, named, after)
        else:
            first, ids = _insert_after_counter(cursor, workspace_param, now_param, named)
    if not ids:
        return []
    rows = []
    for offset, (name, payload) in enumerate(events):
        row = Event(
            id=ids[first + offset],
            workspace_id=workspace_id,
            seq=first + offset,
            name=name,
            payload=payload,
            created_at=now,
        )
        row._state.adding, row._state.db = False, connection.alias
        rows.append(row)
    return rows


@cache
def _counter_and_insert_sql(vendor: str, count: int, ctes: str | None = None, guard: str | None = None) -> str:
    """PostgreSQL's counter bump feeding the insert of ``count`` rows (a data-modifying CTE),
    after a ``Precondition``'s CTEs when given."""
    columns, returning = _event_columns(vendor)
    return (
        f"WITH {f'{ctes}, ' if ctes else ''}reserved AS ({_upsert_counter_sql(vendor, guard)}) "
        f"INSERT INTO {connection.ops.quote_name(Event._meta.db_table)} ({columns}) "
        f"SELECT %s, reserved.last_seq - %s + batch.position, batch.name, batch.payload, %s FROM reserved, "
        f"(VALUES {', '.join(['(%s, %s, %s)'] * count)}) AS batch(position, name, payload) RETURNING {returning}"
    )


def _insert_with_counter(
    cursor: Any, workspace: Any, now: Any, named: list[tuple[str, Any]], after: Precondition | None
) -> tuple[int, dict]:
    """PostgreSQL: one statement. Returns the first number and the ids by number (none when
    ``after`` wrote nothing)."""
    cursor.execute(
        _counter_and_insert_sql(connection.vendor, len(named), *((after.ctes, after.guard) if after else ())),
        [*(after.params if after else ()), workspace, len(named), workspace, len(named), now]
        + [value for position, (name, payload) in enumerate(named, start=1) for value in (position, name, payload)],
    )
    ids = {seq: pk for pk, seq in cursor.fetchall()}
    return min(ids, default=0), ids


def _insert_after_counter(cursor: Any, workspace: Any, now: Any, named: list[tuple[str, Any]]) -> tuple[int, dict]:
    """The counter bump, then multi-row inserts (SQLite has no data-modifying CTEs)."""
    cursor.execute(_upsert_counter_sql(connection.vendor), [workspace, len(named)])
    first = cursor.fetchone()[0] - len(named) + 1
    columns, returning = _event_columns(connection.vendor)
    table = connection.ops.quote_name(Event._meta.db_table)
    row_marks = "(" + ", ".join(["%s"] * 5) + ")"
    ids: dict[int, Any] = {}
    for start in range(0, len(named), _ROWS_PER_INSERT):
        chunk = named[start : start + _ROWS_PER_INSERT]
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_marks] * len(chunk))} RETURNING {returning}",
            [
                value
                for seq, (name, payload) in enumerate(chunk, start=first + start)
                for value in (workspace, seq, name, payload, now)
            ],
        )
        ids.update((seq, pk) for pk, seq in cursor.fetchall())
    return first, ids


def _fan_out(events: Sequence[Event]) -> None:
    if embedded_mode():
        # The in-memory layer only reaches this process; the relay of the web process delivers
        # every committed row (ours included), so here we only wake it up.
        relay.notify()
        return
    layer = get_channel_layer()
    if layer is None:
        return
    group = workspace_group(events[0].workspace_id)
    message = dispatch_message(events[0]) if len(events) == 1 else batch_dispatch_message(events)
    send_blocking = getattr(layer, "group_send_blocking", None)
    try:
        if send_blocking is None or not send_blocking(group, message):
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # the write is committed; sockets catch up from the log on resume
        logger.exception("Fan-out of events #%s-#%s failed", events[0].seq, events[-1].seq)


def publish_many(
    workspace: Any, events: Sequence[tuple[str, dict[str, Any]]], *, after: Precondition | None = None
) -> list[Event]:
    """Appends ``(name, payload)`` events to the workspace's log in the caller's transaction, with
    consecutive numbers in the given order: one counter bump and one bulk insert, sent as a single
    statement on PostgreSQL. ``after`` (PostgreSQL only) runs a write in that same statement and
    appends nothing, returning ``[]``, when the write wrote nothing."""
    if not events:
        return []
    if after is not None and (connection.vendor != "postgresql" or len(events) > _ROWS_PER_INSERT):
        raise ValueError("A precondition rides only in PostgreSQL's single-statement insert.")
    workspace_id = getattr(workspace, "pk", workspace)
    # No savepoint: nothing here is caught and retried, so a failure belongs to the caller's
    # transaction anyway. The block only opens a transaction when the caller has none, so the
    # lock taken by the counter bump lasts until the rows are in.
    with transaction.atomic(savepoint=False):
        rows = _append(workspace_id, events, timezone.now(), after)
    if rows:
        transaction.on_commit(lambda: _fan_out(rows))
    return rows


def publish(workspace: Any, event_name: str, payload: dict[str, Any]) -> Event:
    """Appends ``event_name`` to the workspace's log in the caller's transaction."""
    return publish_many(workspace, [(event_name, payload)])[0]
