"""``/socket.io/``: the endpoint the extension's socket.io-client v4 talks to (websocket transport).

Engine.IO 4 framing and Socket.IO 5 packets come from python-engineio/python-socketio's codecs;
the session logic is ours. Contract rules (docs/realtime.md): the token comes from the CONNECT
packet's ``auth`` (or ``?token=``), a refusal is a CONNECT_ERROR with ``{message}``, the socket
joins its workspace on connect, ``join:workspace`` is idempotent and never disconnects (at most
an ``error`` event), ``ping`` gets a ``pong``, and the server drives Engine.IO heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from engineio import packet as eio
from socketio import packet as sio

from whatshybrid import strict_json
from whatshybrid.realtime.consumers.base import (
    MISSING_TOKEN_MESSAGE,
    WorkspaceStreamConsumer,
    authenticate,
    dumps,
    frame_cache,
)
from whatshybrid.realtime.consumers.native import parse_seq

logger = logging.getLogger(__name__)

NAMESPACE = "/"
CLOSE_INVALID_PAYLOAD = 1007  # RFC 6455: "data within a message that was not consistent with the type"
CLOSE_TOO_BIG = 1009  # RFC 6455: "a message that is too big for it to process"


class UnauthenticatedClients:
    """Connections of this process (both transports) that have not CONNECTed with a valid token
    yet, per client address: one client cannot hold more than ``SOCKETIO_UNAUTHENTICATED_PER_CLIENT``
    of them, and each lives at most ``SOCKETIO_CONNECT_TIMEOUT_MS``, so handshakes alone cannot
    fill the polling session table or the process's sockets."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def full(self, client: str) -> bool:
        return self._counts.get(client, 0) >= settings.SOCKETIO_UNAUTHENTICATED_PER_CLIENT

    def add(self, client: str) -> bool:
        if self.full(client):
            return False
        self._counts[client] = self._counts.get(client, 0) + 1
        return True

    def clear(self) -> None:
        self._counts.clear()

    def discard(self, client: str) -> None:
        left = self._counts.get(client, 0) - 1
        if left > 0:
            self._counts[client] = left
        else:
            self._counts.pop(client, None)


unauthenticated = UnauthenticatedClients()


def client_address(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _event_frame(message: dict[str, Any]) -> str:
    # Engine.IO MESSAGE ("4") carrying a Socket.IO EVENT ("2"): 42["contact:created",{...},{"seq",..}].
    # The payload stays the first argument, exactly the REST object; the sequence number rides as
    # a second one, which listeners that take one argument (the extension) never see.
    meta = {"seq": message["seq"], "ts": message["ts"]}
    return f"{eio.MESSAGE}{sio.EVENT}" + dumps([message["event"], message["data"], meta])


def _named(data: Any) -> bool:
    """An EVENT payload is ``[name, *args]``."""
    return isinstance(data, list) and bool(data) and isinstance(data[0], str)


class EnginePacket(eio.Packet):
    json = strict_json  # frames decode like request bodies: deep or unstorable JSON is refused


class SocketPacket(sio.Packet):
    json = strict_json


def _engine(sio_packet: sio.Packet) -> str:
    return eio.Packet(eio.MESSAGE, data=sio_packet.encode()).encode()


class SocketIOConsumer(WorkspaceStreamConsumer):
    # The polling transport (whatshybrid/realtime/polling/) runs this same consumer behind an
    # HTTP adapter: it names its transport, the upgrades it offers and the session id it routes by.
    transport = "websocket"
    upgrades: tuple[str, ...] = ()
    sid = ""
    _heartbeat: asyncio.Task | None = None
    _connect_deadline: asyncio.TimerHandle | None = None
    _counted_client: str | None = None
    _pong: asyncio.Event

    async def connect(self) -> None:
        self.query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        if self.query.get("EIO", [""])[0] != "4" or self.query.get("transport", ["websocket"])[0] != self.transport:
            await self.close()  # Engine.IO 3 and other transports are not spoken here
            return
        client = client_address(self.scope)
        if not unauthenticated.add(client):
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self._counted_client = client
        self._connect_deadline = asyncio.get_running_loop().call_later(
            settings.SOCKETIO_CONNECT_TIMEOUT_MS / 1000, self._connect_timed_out
        )
        await self.accept()
        self.sid = self.scope.get("engineio_sid") or secrets.token_urlsafe(15)
        self.ping_interval = settings.SOCKETIO_PING_INTERVAL_MS
        self.ping_timeout = settings.SOCKETIO_PING_TIMEOUT_MS
        handshake = {
            "sid": self.sid,
            "upgrades": list(self.upgrades),
            "pingInterval": self.ping_interval,
            "pingTimeout": self.ping_timeout,
            "maxPayload": settings.SOCKETIO_MAX_PAYLOAD,
        }
        await self.send(text_data=eio.Packet(eio.OPEN, data=handshake).encode())
        self._pong = asyncio.Event()
        self._heartbeat = asyncio.get_running_loop().create_task(self.heartbeat())

    async def heartbeat(self) -> None:
        """Engine.IO 4: the server pings; no pong within pingTimeout means the peer is gone."""
        while True:
            await asyncio.sleep(self.ping_interval / 1000)
            self._pong.clear()
            await self.send(text_data=eio.Packet(eio.PING).encode())
            try:
                await asyncio.wait_for(self._pong.wait(), timeout=self.ping_timeout / 1000)
            except TimeoutError:
                await self.close()
                return

    def _connect_timed_out(self) -> None:
        if self.identity is None:
            asyncio.get_running_loop().create_task(self.close())

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self._authenticated()  # a closed connection no longer counts, whoever ends it
        await super().close(code=code, reason=reason)

    def _authenticated(self) -> None:
        """Counts no longer against the client's unauthenticated connections."""
        if self._connect_deadline is not None:
            self._connect_deadline.cancel()
            self._connect_deadline = None
        if self._counted_client is not None:
            unauthenticated.discard(self._counted_client)
            self._counted_client = None

    async def disconnect(self, code: int) -> None:
        self._authenticated()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await super().disconnect(code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not text_data:
            return  # binary attachments are not part of this protocol's use
        if (
            len(text_data) > settings.SOCKETIO_MAX_PAYLOAD // 4
            and len(text_data.encode()) > settings.SOCKETIO_MAX_PAYLOAD
        ):
            # The handshake announces maxPayload; a larger packet ends the connection, as in engine.io.
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            engine_packet = EnginePacket(encoded_packet=text_data)
        except Exception:
            logger.debug("undecodable Engine.IO packet %r", text_data[:100])
            return
        if engine_packet.packet_type == eio.PONG:
            self._pong.set()
        elif engine_packet.packet_type == eio.PING:
            await self.send(text_data=eio.Packet(eio.PONG, data=engine_packet.data).encode())
        elif engine_packet.packet_type == eio.CLOSE:
            await self.close()
        elif engine_packet.packet_type == eio.MESSAGE and isinstance(engine_packet.data, str):
            try:
                packet = SocketPacket(encoded_packet=engine_packet.data)
            except strict_json.UnsafeJSON as exc:
                # A protocol error, as a malformed packet is in engine.io: reported, then closed.
                await self.emit("error", {"message": str(exc), "code": "INVALID_JSON"})
                await self.close(code=CLOSE_INVALID_PAYLOAD)
                return
            except Exception:
                logger.debug("undecodable Socket.IO packet %r", engine_packet.data[:100])
                return
            await self.handle_packet(packet)

    async def handle_packet(self, packet: sio.Packet) -> None:
        namespace = packet.namespace or NAMESPACE
        if packet.packet_type == sio.CONNECT:
            await self.namespace_connect(namespace, packet.data)
        elif packet.packet_type == sio.DISCONNECT and namespace == NAMESPACE:
            await self.stop_stream()
        elif packet.packet_type == sio.EVENT and namespace == NAMESPACE and _named(packet.data) and self.identity:
            await self.handle_event(packet.data[0], packet.data[1:], packet.id)

    async def namespace_connect(self, namespace: str, auth: Any) -> None:
        if namespace != NAMESPACE:
            await self.send_packet(sio.Packet(sio.CONNECT_ERROR, {"message": "Invalid namespace"}, namespace))
            return
        if self.identity is not None:  # a repeated CONNECT is answered, not re-joined
            await self.send_packet(sio.Packet(sio.CONNECT, {"sid": self.sid}))
            return
        auth = auth if isinstance(auth, dict) else {}
        token = auth.get("token") or (self.query.get("token") or [None])[0]
        identity = await authenticate(token) if token else MISSING_TOKEN_MESSAGE
        if isinstance(identity, str):
            await self.send_packet(sio.Packet(sio.CONNECT_ERROR, {"message": identity}))
            return
        # Joined before the client hears "connect", so an event it triggers right after
        # connecting is never missed; a replay follows the CONNECT like any other event.
        await self.start_stream(identity)
        self._authenticated()
        await self.send_packet(sio.Packet(sio.CONNECT, {"sid": self.sid}))
        resume_from = parse_seq(auth.get("resume_from"))
        if resume_from is not None:
            await self.replay(resume_from)

    async def handle_event(self, name: str, args: list[Any], ack_id: int | None) -> None:
        assert self.identity is not None
        reply: list[Any] | None = None
        if name == "join:workspace":
            # Always joined already (the token names the workspace); the original client sends its
            # id, possibly null. A different id is reported, never a reason to disconnect.
            requested = args[0] if args else None
            if isinstance(requested, dict):
                requested = requested.get("workspaceId") or requested.get("workspace_id") or requested.get("id")
            if requested in (None, "", self.identity.workspace_id):
                reply = [{"ok": True, "workspace_id": self.identity.workspace_id}]
            else:
                message = "This connection belongs to another workspace; it stays joined to its own."
                await self.emit("error", {"message": message, "workspace_id": self.identity.workspace_id})
                reply = [{"ok": False, "message": message, "workspace_id": self.identity.workspace_id}]
        elif name == "ping":
            reply = [{"ok": True}]
            await self.emit("pong", {"ts": int(time.time() * 1000)})
        if ack_id is not None:
            await self.send_packet(sio.Packet(sio.ACK, reply or [], id=ack_id))

    async def emit(self, event: str, data: Any) -> None:
        await self.send_packet(sio.Packet(sio.EVENT, [event, data]))

    async def send_packet(self, packet: sio.Packet) -> None:
        await self.send(text_data=_engine(packet))

    async def send_event(self, message: dict[str, Any]) -> None:
        assert self.identity is not None
        await self.send(text_data=frame_cache.get("socketio", self.identity.workspace_id, message, _event_frame))

    async def end_session(self) -> None:
        await self.emit("error", {"message": "Your session has ended. Please log in again.", "code": "SESSION_ENDED"})
        await self.send_packet(sio.Packet(sio.DISCONNECT))
        await self.close()
