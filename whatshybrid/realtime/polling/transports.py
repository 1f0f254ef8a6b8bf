"""The HTTP side of Engine.IO long-polling (handshake, GET, POST), the polling-to-websocket
upgrade, and ``SocketIORouter``, which sends ``/socket.io/`` to them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlparse

from django.conf import settings

from whatshybrid.realtime.consumers.socketio import client_address, unauthenticated
from whatshybrid.realtime.origins import origin_allowed
from whatshybrid.realtime.polling.sessions import (
    CLOSE,
    CLOSED,
    NOOP,
    POLLING,
    UPGRADING,
    WEBSOCKET,
    EngineSession,
    Receive,
    Scope,
    Send,
    registry,
)

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PATHS = ("/socket.io/", "/socket.io")
RECORD_SEPARATOR = "\x1e"
# Per process: beyond this a new handshake gets a 503 rather than more memory.
DEFAULT_MAX_SESSIONS = 10_000
HANDSHAKE_SECONDS = 10
ERROR_TRANSPORT_UNKNOWN = (0, "Transport unknown")
ERROR_SESSION_UNKNOWN = (1, "Session ID unknown")
ERROR_BAD_HANDSHAKE_METHOD = (2, "Bad handshake method")
ERROR_BAD_REQUEST = (3, "Bad request")
ERROR_FORBIDDEN = (4, "Forbidden")
ERROR_UNSUPPORTED_PROTOCOL = (5, "Unsupported protocol version")


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
