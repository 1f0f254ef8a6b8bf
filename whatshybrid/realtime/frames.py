"""The event shapes shared by the publisher, the relay, the consumers and the changes feed."""

from __future__ import annotations

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
