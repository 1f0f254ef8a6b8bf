"""``/ws/v1/events``: the native event stream (JSON frames ``{seq, event, data, ts}``).

Auth: ``Sec-WebSocket-Protocol: whatshybrid.v1, bearer.<jwt>`` (only ``whatshybrid.v1`` is
echoed back) or ``?token=``. ``?resume_from=<seq>`` or a ``{"type": "resume", "resume_from": N}``
message replays the missed events before live ones. A refused token closes with 4401.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from whatshybrid import strict_json
from whatshybrid.realtime.consumers.base import WorkspaceStreamConsumer, authenticate, dumps, frame_cache

SUBPROTOCOL = "whatshybrid.v1"
BEARER_PREFIX = "bearer."
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_REQUEST = 4400


def _event_frame(message: dict[str, Any]) -> str:
    return dumps({"seq": message["seq"], "event": message["event"], "data": message["data"], "ts": message["ts"]})


def parse_seq(raw: Any) -> int | None:
    """A non-negative integer, or None when ``raw`` is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


class EventStreamConsumer(WorkspaceStreamConsumer):
    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        offered = self.scope.get("subprotocols") or []
        token = next((p[len(BEARER_PREFIX) :] for p in offered if p.startswith(BEARER_PREFIX)), None)
        token = token or (query.get("token") or [None])[0]
        # Accept first: a close before accepting is an HTTP 403 without our close code.
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        identity = await authenticate(token)
        if isinstance(identity, str):
            await self.send_control("error", message=identity, code="UNAUTHENTICATED")
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        resume_from = None
        if "resume_from" in query:
            resume_from = parse_seq(query["resume_from"][0])
            if resume_from is None:
                await self.send_control("error", message="resume_from must be a non-negative integer.")
                await self.close(code=CLOSE_BAD_REQUEST)
                return
        await self.start_stream(identity, resume_from=resume_from)
        await self.send_control("ready", workspace_id=identity.workspace_id, last_seq=self.last_seq)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = strict_json.loads(text_data or "")
        except strict_json.UnsafeJSON as exc:
            await self.send_control("error", message=str(exc), code="INVALID_JSON")
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send_control("pong")
        elif kind == "resume" and self.identity is not None:
            resume_from = parse_seq(message.get("resume_from"))
            if resume_from is None:
                await self.send_control("error", message="resume_from must be a non-negative integer.")
                return
            await self.replay(resume_from)
            await self.send_control("ready", workspace_id=self.identity.workspace_id, last_seq=self.last_seq)
        else:
            await self.send_control("error", message='Unknown message; send {"type": "ping"} or "resume".')

    async def send_control(self, kind: str, **fields: Any) -> None:
        await self.send(text_data=dumps({"type": kind, **fields}))

    async def send_event(self, message: dict[str, Any]) -> None:
        assert self.identity is not None
        await self.send(text_data=frame_cache.get("native", self.identity.workspace_id, message, _event_frame))

    async def replay_gap(self, resume_from: int) -> None:
        await self.send_control("gap", resume_from=resume_from, message="Older events were pruned; resync via REST.")

    async def end_session(self) -> None:
        await self.send_control("error", message="Your session has ended. Please log in again.", code="SESSION_ENDED")
        await self.close(code=CLOSE_UNAUTHENTICATED)
