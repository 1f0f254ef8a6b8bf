"""The event catalog and the event log's subscribers.

**Catalog.** Every event name the log carries, with a one-line description and the builder of
its payload (a dotted path, resolved on first use, so registering imports nothing). Apps
register their events in ``AppConfig.ready``; ``EVENTS`` is what the webhooks' event list, the
docs' event table (``docs/realtime.md``, checked against ``event_table()`` by a test) and anyone
else who needs "every event" read.

**Subscribers.** Other apps attach to the log here instead of wrapping ``publish()``:

- ``subscribe_in_transaction(callback)``: ``callback(events)`` runs inside the publishing
  transaction, right after the ``Event`` rows are stored. What it writes commits with the events
  and rolls back with them (a webhook outbox row); if it raises, the write fails. Keep it to a
  few set-based queries: it runs while the workspace's event counter is held.
  With ``opt_in="name"`` it runs only in workspaces that opted in (``opt_in_update`` in
  ``whatshybrid.realtime.publisher``; the flag is read with the counter, so checking it costs no
  query): a subscriber with nothing to do in most workspaces then costs them nothing. Webhooks
  measured one query per publish, 16% of a message create on PostgreSQL.
- ``subscribe_after_commit(callback)``: ``callback(events)`` runs after the transaction
  commits, never after a rollback (fan-out: sockets, caches). A raising subscriber is logged and
  neither fails the write nor stops the other subscribers.

``events`` is the list of ``realtime.Event`` rows one ``publish``/``publish_many`` call stored,
one workspace, consecutive ``seq`` in order. Subscribe in ``AppConfig.ready``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from whatshybrid.realtime.models import Event

__all__ = [
    "EVENTS",
    "EventType",
    "event_table",
    "register_event",
    "subscribe_after_commit",
    "subscribe_in_transaction",
]

logger = logging.getLogger(__name__)

Subscriber = Callable[[Sequence["Event"]], None]


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # Dotted path of the function building ``data`` from the resource, or None when the payload
    # is a literal the service writes itself (deletions: ``{id}``; batch counts).
    payload: str | None = None

    @cached_property
    def payload_builder(self) -> Callable[..., dict[str, Any]] | None:
        return import_string(self.payload) if self.payload else None


@dataclass(frozen=True)
class _InTransaction:
    callback: Subscriber
    opt_in: str | None


EVENTS: dict[str, EventType] = {}
_IN_TRANSACTION: list[_InTransaction] = []
_AFTER_COMMIT: list[Subscriber] = []


def register_event(name: str, description: str, *, payload: str | None = None) -> None:
    """Adds ``name`` (``<entity>:<verb>``) to the catalog; a second, different entry stops startup."""
    entry = EventType(name, description, payload)
    if name in EVENTS and EVENTS[name] != entry:  # the same entry again: ready() ran twice
        raise ImproperlyConfigured(f"The event {name!r} is registered twice.")
    EVENTS.setdefault(name, entry)


def subscribe_in_transaction(callback: Subscriber, *, opt_in: str | None = None) -> None:
    """Runs ``callback(events)`` inside every publishing transaction, or with ``opt_in`` only in
    the workspaces that opted in (see the module docstring)."""
    entry = _InTransaction(callback, opt_in)
    if entry not in _IN_TRANSACTION:
        _IN_TRANSACTION.append(entry)


def subscribe_after_commit(callback: Subscriber) -> None:
    """Runs ``callback(events)`` after every publishing transaction commits."""
    if callback not in _AFTER_COMMIT:
        _AFTER_COMMIT.append(callback)


def notify_in_transaction(events: Sequence[Event], opted_in: Collection[str]) -> None:
    """Called by the publisher with the rows it just stored and the names the workspace opted
    in to; an exception fails the write."""
    for entry in _IN_TRANSACTION:
        if entry.opt_in is None or entry.opt_in in opted_in:
            entry.callback(events)


def notify_after_commit(events: Sequence[Event]) -> None:
    """Called by the publisher once the rows committed."""
    for callback in _AFTER_COMMIT:
        try:
            callback(events)
        except Exception:  # the write is committed; one subscriber's failure is not the caller's
            logger.exception("Subscriber %r failed on events #%s-#%s", callback, events[0].seq, events[-1].seq)


def event_table() -> str:
    """The catalog as the Markdown table of ``docs/realtime.md``, in registration order."""
    lines = ["| Event | `data` |", "|---|---|"]
    lines += [f"| `{event.name}` | {event.description} |" for event in EVENTS.values()]
    return "\n".join(lines)
