"""Engine.IO 4 HTTP long-polling for ``/socket.io/``, and the upgrade from polling to websocket.

socket.io-client falls back to long-polling where a websocket cannot be opened (corporate
proxies) and, with its default ``transports: ['polling', 'websocket']``, starts on polling and
then upgrades. Each polling session runs the very same ``SocketIOConsumer`` the websocket route
uses (auth, workspace group, ``join:workspace``, ping/pong, heartbeats, resume, session end),
fed through an in-memory "virtual websocket": POST bodies become received frames, and what the
consumer sends waits in the session's outbox until a GET (or, after an upgrade, the websocket)
takes it. So both transports behave identically by construction.

Sessions live in this process's memory: a scaled deployment must route every request of a
session to the same process (sticky sessions), as Socket.IO itself requires. A GET or upgrade
that reaches another process gets "Session ID unknown" and the client reconnects.

Protocol details follow engine.io's reference server and its protocol test suite: an unknown
sid is a 400 ``{"code": 1, "message": "Session ID unknown"}``; a second GET while one is pending
closes the session (the pending GET returns the close packet ``1``, the second gets a 400); a
client close (``1``) ends a pending GET with a noop (``6``); a malformed payload is a 400 that
closes the session; a GET or POST after the upgrade is a 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.conf import settings

from whatshybrid.realtime.consumers.socketio import SocketIOConsumer, client_address, unauthenticated
from whatshybrid.realtime.origins import origin_allowed

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATHS = ("/socket.io/", "/socket.io")
RECORD_SEPARATOR = "\x1e"
NOOP = "6"
CLOSE = "1"
# Per process: beyond this a new handshake gets a 503 rather than more memory.
DEFAULT_MAX_SESSIONS = 10_000
# Frames waiting for a client that does not poll (a burst is fine; a stalled client is closed
# and reconnects, catching up through resume or the changes feed).
DEFAULT_MAX_BUFFERED = 5_000
INBOX_SIZE = 64  # frames POSTed but not yet handled by the consumer: a POST waits beyond this
HANDSHAKE_SECONDS = 10
# While an upgrade is probed the client stops polling once it sees "3probe"; until then GETs
# are answered after at most this long (engine.io's 100 ms check interval) instead of spinning.
UPGRADE_POLL_SECONDS = 0.1

ERROR_TRANSPORT_UNKNOWN = (0, "Transport unknown")
ERROR_SESSION_UNKNOWN = (1, "Session ID unknown")
ERROR_BAD_HANDSHAKE_METHOD = (2, "Bad handshake method")
ERROR_BAD_REQUEST = (3, "Bad request")
ERROR_FORBIDDEN = (4, "Forbidden")
ERROR_UNSUPPORTED_PROTOCOL = (5, "Unsupported protocol version")


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


def _query(scope: Scope) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(scope.get("query_string", b"").decode("latin1")).items()}


def _origin(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin1")
    return None


# Polling bodies are text/plain packets that carry user content: browsers must not sniff them.
NOSNIFF = (b"x-content-type-options", b"nosniff")


async def _respond(
    send: Send,
    status: int,
    body: str,
    *,
    origin: str | None,
    content_type: str = "text/plain; charset=UTF-8",
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"cache-control", b"no-store"), NOSNIFF, *extra_headers]
    if origin is not None:
        # The origin was checked before anything else; browsers need it echoed to read the body.
        headers += [(b"access-control-allow-origin", origin.encode("latin1")), (b"vary", b"Origin")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


async def _error(send: Send, status: int, error: tuple[int, str], *, origin: str | None) -> None:
    code, message = error
    body = json.dumps({"code": code, "message": message})
    extra: tuple[tuple[bytes, bytes], ...] = ()
    if status in (429, 503):
        # Both are "too many sessions": unauthenticated ones end by the connect timeout, so
        # that is when a retry can be admitted (every 429 of the project carries Retry-After).
        wait = max(1, -(-settings.SOCKETIO_CONNECT_TIMEOUT_MS // 1000))
        extra = ((b"retry-after", str(wait).encode()),)
    await _respond(send, status, body, origin=origin, content_type="application/json", extra_headers=extra)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it grows past ``limit`` bytes."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return bytes(body)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def polling_app(scope: Scope, receive: Receive, send: Send) -> None:
    origin = _origin(scope)
    if origin is not None and not origin_allowed(urlparse(origin)):
        await _error(send, 403, ERROR_FORBIDDEN, origin=None)
        return
    method = scope["method"]
    if method == "OPTIONS":
        await _preflight(scope, send, origin)
        return
    query = _query(scope)
    if query.get("EIO") != "4":
        await _error(send, 400, ERROR_UNSUPPORTED_PROTOCOL, origin=origin)
        return
    if query.get("transport") != "polling":
        await _error(send, 400, ERROR_TRANSPORT_UNKNOWN, origin=origin)
        return
    sid = query.get("sid")
    if sid is None:
        if method != "GET":
            await _error(send, 400, ERROR_BAD_HANDSHAKE_METHOD, origin=origin)
            return
        await _handshake(scope, send, origin)
        return
    session = registry.get(sid)
    if session is None:
        await _error(send, 400, ERROR_SESSION_UNKNOWN, origin=origin)
        return
    if session.state == WEBSOCKET:
        await _error(send, 400, ERROR_BAD_REQUEST, origin=origin)
        return
    if method == "GET":
        await _poll(session, receive, send, origin)
    elif method == "POST":
        await _post(session, receive, send, origin)
    else:
        await _error(send, 400, ERROR_BAD_REQUEST, origin=origin)


async def _preflight(scope: Scope, send: Send, origin: str | None) -> None:
    headers = [
        (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
        (b"access-control-max-age", b"86400"),
        NOSNIFF,
    ]
    requested = dict(scope.get("headers", [])).get(b"access-control-request-headers")
    if requested:
        headers.append((b"access-control-allow-headers", requested))
    if origin is not None:
        headers += [(b"access-control-allow-origin", origin.encode("latin1")), (b"vary", b"Origin")]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _handshake(scope: Scope, send: Send, origin: str | None) -> None:
    if unauthenticated.full(client_address(scope)):
        await _error(
            send, 429, (ERROR_BAD_REQUEST[0], "Too many unauthenticated sessions; try again later"), origin=origin
        )
        return
    if len(registry) >= getattr(settings, "SOCKETIO_POLLING_MAX_SESSIONS", DEFAULT_MAX_SESSIONS):
        await _error(send, 503, (ERROR_BAD_REQUEST[0], "Too many sessions; try again later"), origin=origin)
        return
    session = registry.open(scope)
    try:
        await asyncio.wait_for(session.wake.wait(), HANDSHAKE_SECONDS)
    except TimeoutError:
        session.close()
    frames = session.take()
    if not frames or not frames[0].startswith("0"):
        session.close()
        await _error(send, 400, ERROR_BAD_REQUEST, origin=origin)
        return
    await _respond(send, 200, RECORD_SEPARATOR.join(frames), origin=origin)


async def _poll(session: EngineSession, receive: Receive, send: Send, origin: str | None) -> None:
    if session.poll_pending:
        # One GET at a time keeps packets in order; a second one is a broken or hostile client.
        session.close()
        await _error(send, 400, ERROR_BAD_REQUEST, origin=origin)
        return
    session.poll_pending = True
    poll = asyncio.ensure_future(session.poll(settings.SOCKETIO_PING_INTERVAL_MS / 1000))
    gone = asyncio.ensure_future(_until_disconnect(receive))
    try:
        await asyncio.wait((poll, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        session.poll_pending = False
        gone.cancel()
    if not poll.done():
        # The client dropped the request: what it was about to receive would be lost, so the
        # session ends (as in engine.io) and the client reconnects.
        poll.cancel()
        session.close()
        registry.remove(session)
        return
    await _respond(send, 200, RECORD_SEPARATOR.join(poll.result()), origin=origin)


async def _post(session: EngineSession, receive: Receive, send: Send, origin: str | None) -> None:
    body = await _read_body(receive, settings.SOCKETIO_MAX_PAYLOAD)
    if body is None:
        session.close()
        await _error(send, 413, (ERROR_BAD_REQUEST[0], "Payload too large"), origin=origin)
        return
    try:
        frames = body.decode().split(RECORD_SEPARATOR)
    except UnicodeDecodeError:
        frames = [""]
    if any(not frame or frame[0] not in "0123456b" for frame in frames):
        session.close()
        await _error(send, 400, ERROR_BAD_REQUEST, origin=origin)
        return
    if session.state == CLOSED:
        await _error(send, 400, ERROR_SESSION_UNKNOWN, origin=origin)
        return
    for frame in frames:
        if frame == CLOSE:
            session.close(farewell=NOOP)
            registry.remove(session)
            break
        if not frame.startswith("b"):  # base64 binary packets carry nothing this protocol uses
            await session.feed(frame)
    await _respond(send, 200, "ok", origin=origin)


async def upgrade_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A websocket carrying ``sid``: the client probes it, then moves its session onto it."""
    session = registry.get(_query(scope).get("sid", ""))
    if (await receive())["type"] != "websocket.connect":
        return
    if session is None or session.state != POLLING:
        await send({"type": "websocket.close"})  # the handshake is refused; the client keeps polling
        return
    await send({"type": "websocket.accept"})
    writer: asyncio.Task | None = None
    try:
        while (message := await receive())["type"] != "websocket.disconnect":
            text = message.get("text")
            if session.state == WEBSOCKET and text is not None:
                await session.feed(text)
            elif text == "2probe" and session.state == POLLING:
                await send({"type": "websocket.send", "text": "3probe"})
                session.state = UPGRADING
                session.wake.set()  # a pending GET returns so the client can pause polling
            elif text == "5" and session.state == UPGRADING:
                session.state = WEBSOCKET
                session.wake.set()
                writer = asyncio.ensure_future(_write(session, send))
            elif session.state == CLOSED:
                await send({"type": "websocket.close"})  # ended by the polling side mid-probe
    finally:
        if writer is not None:
            writer.cancel()
            session.close()
            registry.remove(session)
        elif session.state == UPGRADING:
            session.state = POLLING  # the probe failed: carry on polling


async def _write(session: EngineSession, send: Send) -> None:
    """After the upgrade: the outbox (frames queued meanwhile first) goes down the websocket."""
    while True:
        await session.wake.wait()
        session.wake.clear()
        for frame in session.take():
            await send({"type": "websocket.send", "text": frame})
        if session.state == CLOSED:
            await send({"type": "websocket.close"})
            return


class SocketIORouter:
    """Sends ``/socket.io/`` to the Engine.IO transports, everything else to ``application``.

    HTTP: long-polling. Websocket: a connection naming a polling session's ``sid`` is an upgrade;
    any other goes on to ``application`` (the Channels router with the plain websocket consumer).
    """

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] in PATHS:
            if scope["type"] == "http":
                return await polling_app(scope, receive, send)
            if scope["type"] == "websocket" and "sid" in _query(scope):
                return await upgrade_app(scope, receive, send)
        return await self.application(scope, receive, send)
