"""The event shapes shared by the publisher, the relay, the consumers and the changes feed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from whatshybrid.realtime.models import Event


def workspace_group(workspace_id: Any) -> str:
    return f"workspace.{workspace_id}"


def event_message(event: Event) -> dict[str, Any]:
    """The wire frame shared by every transport: ``{seq, event, data, ts}``."""
    return {"seq": event.seq, "event": event.name, "data": event.payload, "ts": event.created_at.isoformat()}


def dispatch_message(event: Event) -> dict[str, Any]:
    """The channel-layer group message consumers handle (``event_dispatch``)."""
    return {"type": "event.dispatch", **event_message(event)}


def batch_dispatch_message(events: Sequence[Event]) -> dict[str, Any]:
    """Consecutive events of one workspace as one group message (``events_dispatch``): a group
    send on Redis is several round trips, paid once per batch instead of once per event."""
    return {"type": "events.dispatch", "events": [event_message(event) for event in events]}
