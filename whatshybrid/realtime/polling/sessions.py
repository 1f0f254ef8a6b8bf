"""Engine.IO polling sessions: each runs the websocket route's ``SocketIOConsumer`` behind an
in-memory outbox, kept in this process's ``registry``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from whatshybrid.realtime.consumers.socketio import SocketIOConsumer

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

NOOP = "6"
CLOSE = "1"
# Frames waiting for a client that does not poll (a burst is fine; a stalled client is closed
# and reconnects, catching up through resume or the changes feed).
DEFAULT_MAX_BUFFERED = 5_000
INBOX_SIZE = 64  # frames POSTed but not yet handled by the consumer: a POST waits beyond this
# While an upgrade is probed the client stops polling once it sees "3probe"; until then GETs
# are answered after at most this long (engine.io's 100 ms check interval) instead of spinning.
UPGRADE_POLL_SECONDS = 0.1


class PollingSocketIOConsumer(SocketIOConsumer):
    transport = "polling"
    upgrades = ("websocket",)


POLLING = "polling"
UPGRADING = "upgrading"  # probe answered, the client is pausing its polling
WEBSOCKET = "websocket"  # upgraded: the websocket owns the outbox
CLOSED = "closed"  # the outbox holds the last frames; the session disappears once taken


class EngineSession:
    """One Engine.IO session and the consumer task behind it."""

    def __init__(self, sid: str, scope: Scope) -> None:
        self.sid = sid
        self.state = POLLING
        self.outbox: list[str] = []
        self.wake = asyncio.Event()
        self.poll_pending = False
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=INBOX_SIZE)
        self.inbox.put_nowait({"type": "websocket.connect"})
        consumer_scope = {
            **scope,
            "type": "websocket",
            "scheme": "wss" if scope.get("scheme") == "https" else "ws",
            "subprotocols": [],
            "engineio_sid": sid,
        }
        self.task = asyncio.get_running_loop().create_task(self._run(consumer_scope), name=f"engineio-{sid}")

    async def _run(self, scope: Scope) -> None:
        try:
            await PollingSocketIOConsumer.as_asgi()(scope, self.inbox.get, self._from_consumer)
        except Exception:
            logger.exception("Socket.IO polling session %s crashed", self.sid)
        finally:
            self.close()  # the consumer has stopped, so nothing more will ever be sent

    async def _from_consumer(self, message: dict[str, Any]) -> None:
        """The consumer's ASGI ``send``."""
        if message["type"] == "websocket.send" and message.get("text") is not None:
            self.push(message["text"])
        elif message["type"] == "websocket.close":
            self.close()

    def push(self, frame: str) -> None:
        if self.state == CLOSED:
            return
        if len(self.outbox) >= getattr(settings, "SOCKETIO_POLLING_MAX_BUFFERED", DEFAULT_MAX_BUFFERED):
            logger.info("Socket.IO polling session %s stopped taking its frames; closing it", self.sid)
            self.outbox.clear()
            self.close()
            return
        self.outbox.append(frame)
        self.wake.set()

    async def feed(self, frame: str) -> None:
        """A frame the client sent, handed to the consumer in order (waits while it is busy)."""
        await self.inbox.put({"type": "websocket.receive", "text": frame})

    def close(self, *, farewell: str = CLOSE) -> None:
        """Ends the session; the next GET receives what is left followed by ``farewell``."""
        if self.state == CLOSED:
            return
        if self.state != WEBSOCKET:
            self.outbox.append(farewell)  # over a websocket the close is the socket closing
        self.state = CLOSED
        self.wake.set()
        self._stop_consumer()
        registry.expire(self)

    def _stop_consumer(self) -> None:
        if self.task.done():
            return
        while not self.inbox.empty():  # input of a closed session is moot; make room for the stop
            self.inbox.get_nowait()
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})

    def take(self) -> list[str]:
        frames, self.outbox = self.outbox, []
        if self.state == CLOSED and len(frames) > 1 and frames[-1] == CLOSE:
            # The close goes in a payload of its own: socket.io-client hands packets to the
            # application a tick later, and a close in the same payload disconnects it first,
            # so the packets before it (``error {SESSION_ENDED}``) were never seen.
            self.outbox = [frames.pop()]
        elif self.state == CLOSED:
            registry.remove(self)
        return frames

    async def poll(self, ping_interval: float) -> list[str]:
        if not self.outbox and self.state in (POLLING, UPGRADING):
            self.wake.clear()
            timeout = UPGRADE_POLL_SECONDS if self.state == UPGRADING else ping_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)
        if self.state == WEBSOCKET:
            return [NOOP]  # upgraded while this GET waited: the websocket delivers from now on
        return self.take() or [NOOP]


class SessionRegistry:
    def __init__(self) -> None:
        self._sessions: dict[str, EngineSession] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, sid: str) -> EngineSession | None:
        return self._sessions.get(sid)

    def open(self, scope: Scope) -> EngineSession:
        sid = secrets.token_urlsafe(15)
        session = self._sessions[sid] = EngineSession(sid, scope)
        return session

    def expire(self, session: EngineSession) -> None:
        """A closed session waits for one last GET, but not longer than a ping timeout."""
        if session.sid in self._sessions and session.sid not in self._expiry:
            delay = settings.SOCKETIO_PING_TIMEOUT_MS / 1000
            self._expiry[session.sid] = asyncio.get_running_loop().call_later(delay, self.remove, session)

    def close_all(self) -> None:
        """Server shutdown: every session closes now, so pending long-polls answer at once
        instead of holding the shutdown for up to a ping interval."""
        for session in list(self._sessions.values()):
            session.close()

    def remove(self, session: EngineSession) -> None:
        if self._sessions.get(session.sid) is session:
            del self._sessions[session.sid]
        timer = self._expiry.pop(session.sid, None)
        if timer is not None:
            timer.cancel()


registry = SessionRegistry()
