"""``publish()``: every service announces its changes here, inside its own transaction.

The event rows commit or roll back with the change they describe. The event log's subscribers
(``whatshybrid.events``) run with the stored rows: the in-transaction ones before the caller's
transaction goes on, the after-commit ones (the live fan-out among them) once it has committed;
a failing after-commit subscriber never fails the write.

Sequence numbers come from the workspace's ``EventSequence`` row: an ``UPDATE .. SET last_seq =
last_seq + n`` takes its row lock (PostgreSQL) or the database's write lock (SQLite, IMMEDIATE
transactions), held until the surrounding transaction ends, so writers take numbers one at a
time, in commit order, and a rolled-back writer gives its numbers back: the sequence has no gaps
and no reorderings. The lock is held from the first publish to the commit: see "How long a write
holds the counter" in ``docs/realtime.md``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F

from whatshybrid.db import bulk_insert
from whatshybrid.events import notify_after_commit, notify_in_transaction
from whatshybrid.realtime.frames import batch_dispatch_message, dispatch_message, event_message, workspace_group
from whatshybrid.realtime.hub import embedded_mode, relay
from whatshybrid.realtime.models import Event, EventSequence
from whatshybrid.write_turns import batch_turn

__all__ = ["batches", "event_message", "fan_out", "opt_in_update", "publish", "publish_many", "workspace_group"]

logger = logging.getLogger(__name__)


def _reserve(workspace_id: Any, count: int) -> tuple[int, list[str]]:
    """Takes ``count`` numbers from the workspace's counter (creating it on first use) and
    returns the first with the workspace's opted-in subscribers; the counter stays locked until
    the transaction ends."""
    counter = EventSequence.objects.filter(workspace_id=workspace_id)
    if not counter.update(last_seq=F("last_seq") + count):
        # First event of this workspace: concurrent creators all succeed, then all bump in turn.
        EventSequence.objects.bulk_create([EventSequence(workspace_id=workspace_id)], ignore_conflicts=True)
        counter.update(last_seq=F("last_seq") + count)
    last_seq, opted_in = counter.values_list("last_seq", "opted_in").get()
    return last_seq - count + 1, opted_in


def opt_in_update(workspace_id: Any, name: str, *, wanted: Callable[[], bool]) -> None:
    """Opts the workspace in to (or out of) the in-transaction subscriber ``name``, as ``wanted()``
    answers with the workspace's event counter locked.

    Call it in the transaction that changes what ``wanted()`` reads, after the change. The lock
    makes such transactions take turns, each one's ``wanted()`` seeing what the earlier ones
    committed, so the last to commit leaves the right answer; a publisher reads the flag under
    the same lock, so it never misses a change committed before its own write.
    """
    with transaction.atomic(savepoint=False):
        _first, opted_in = _reserve(workspace_id, 0)
        names = {*opted_in, name} if wanted() else set(opted_in) - {name}
        if names != set(opted_in):
            EventSequence.objects.filter(workspace_id=workspace_id).update(opted_in=sorted(names))


def fan_out(events: Sequence[Event]) -> None:
    """The live fan-out to the workspace's sockets: an after-commit subscriber of the log."""
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


def publish_many(workspace: Any, events: Sequence[tuple[str, dict[str, Any]]]) -> list[Event]:
    """Appends ``(name, payload)`` events to the workspace's log in the caller's transaction, with
    consecutive numbers in the given order: one counter bump and one bulk insert for all."""
    if not events:
        return []
    workspace_id = getattr(workspace, "pk", workspace)
    # No savepoint: nothing here is caught and retried, so a failure belongs to the caller's
    # transaction anyway. The block only opens a transaction when the caller has none, so the
    # lock taken by the counter bump lasts until the rows are in.
    with transaction.atomic(savepoint=False):
        first, opted_in = _reserve(workspace_id, len(events))
        rows = [
            Event(workspace_id=workspace_id, seq=seq, name=name, payload=payload)
            for seq, (name, payload) in enumerate(events, start=first)
        ]
        bulk_insert(rows, batch_size=len(rows))
        notify_in_transaction(rows, opted_in)
    transaction.on_commit(lambda: notify_after_commit(rows))
    return rows


def batches[T](items: Iterable[T], size: int) -> Iterator[tuple[T, ...]]:
    """Chunks of ``items`` for bulk work that publishes (campaigns, imports, sync): write each chunk
    in its own ``transaction.atomic()`` so the workspace's event counter is released between them.
    Size chunks so one takes about as long as an agent's request: measured (bench_counter.py,
    docs/realtime.md), about 5 rows through per-row services, 50 through set-based writes.

    On SQLite each chunk is a turn (``whatshybrid.write_turns.batch_turn``): it starts once the
    agents' requests in flight have finished, and requests that arrive meanwhile wait for its end.
    Keep work that writes nothing (validation, network calls) out of the chunk: they wait for it
    whole. While agents are writing, chunks shrink to a quarter of ``size``, so each of them waits
    less; with nobody there, full chunks keep the per-chunk cost of a long import down.
    PostgreSQL queues lock waiters in order and needs no turns."""
    iterator = iter(items)
    for first in iterator:
        with batch_turn() as turn:
            rest = size if turn.alone else max(1, size // 4)
            yield (first, *itertools.islice(iterator, rest - 1))


def publish(workspace: Any, event_name: str, payload: dict[str, Any]) -> Event:
    """Appends ``event_name`` to the workspace's log in the caller's transaction."""
    return publish_many(workspace, [(event_name, payload)])[0]
