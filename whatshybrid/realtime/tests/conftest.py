"""Helpers for the realtime tests: tokens, publishing from a worker thread, socket clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User, Workspace
from accounts.services import session_start
from whatshybrid.asgi import application
from whatshybrid.realtime.consumers.socketio import unauthenticated
from whatshybrid.realtime.models import Event
from whatshybrid.realtime.publisher import publish


@pytest.fixture(autouse=True)
def _no_unauthenticated_left_over() -> Iterator[None]:
    """In-process test sockets all come from one (absent) client address, and a test's event loop
    may end with sockets still open: each test starts from an empty per-client count."""
    unauthenticated.clear()
    yield
    unauthenticated.clear()


@pytest.fixture
def token_for() -> Callable[[User, Workspace], Awaitable[str]]:
    async def make(user: User, workspace: Workspace) -> str:
        pair = await database_sync_to_async(session_start)(user=user, workspace=workspace)
        return pair.access

    return make


@pytest.fixture
def expired_token() -> Callable[[User, Workspace], Awaitable[str]]:
    """A correctly signed token of a live session whose ``exp`` has passed."""

    async def make(user: User, workspace: Workspace) -> str:
        pair = await database_sync_to_async(session_start)(user=user, workspace=workspace)
        token = AccessToken(pair.access)
        token.set_exp(lifetime=-timedelta(seconds=5))
        return str(token)

    return make


def _publish_many(workspace: Workspace, names: list[str]) -> list[int]:
    seqs = []
    for name in names:
        with transaction.atomic():  # one commit per event, like one service call each
            seqs.append(publish(workspace, name, {"name": name, "workspace": str(workspace.pk)}).seq)
    return seqs


async def publish_events(workspace: Workspace, *names: str) -> list[int]:
    """Publishes from a worker thread, as a view or job would, and returns the seq numbers."""
    return await database_sync_to_async(_publish_many)(workspace, list(names))


async def event_count(workspace: Workspace) -> int:
    return await database_sync_to_async(Event.objects.filter(workspace=workspace).count)()


def native(path: str = "/ws/v1/events", *, subprotocols: list[str] | None = None, origin: str | None = None):
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)


async def receive_json(communicator: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_until_event(communicator: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    """The next event frame, skipping control frames (``{"type": ...}``)."""
    while True:
        frame = await receive_json(communicator, timeout)
        if "type" not in frame:
            return frame


async def assert_silent(communicator: WebsocketCommunicator, wait: float = 0.6) -> None:
    assert await communicator.receive_nothing(timeout=wait)


class SocketIOTestClient:
    """Speaks Engine.IO 4 / Socket.IO 5 over a WebsocketCommunicator, frame by frame."""

    def __init__(self, query: str = "", origin: str | None = None) -> None:
        headers = [(b"origin", origin.encode())] if origin else []
        self.communicator = WebsocketCommunicator(
            application, f"/socket.io/?EIO=4&transport=websocket{query}", headers=headers
        )
        self.handshake: dict[str, Any] = {}

    async def open(self) -> dict[str, Any]:
        connected, _ = await self.communicator.connect()
        assert connected
        frame = await self.communicator.receive_from(timeout=3)
        assert frame.startswith("0")
        self.handshake = json.loads(frame[1:])
        return self.handshake

    async def connect_namespace(self, auth: dict[str, Any] | None = None) -> tuple[str, Any]:
        await self.communicator.send_to(text_data="40" + (json.dumps(auth) if auth is not None else ""))
        frame = await self.next_message()
        return frame[:1], json.loads(frame[1:])

    async def emit(self, event: str, *args: Any, ack: int | None = None) -> None:
        await self.communicator.send_to(text_data=f"42{'' if ack is None else ack}" + json.dumps([event, *args]))

    async def next_message(self, timeout: float = 3) -> str:
        """The next Engine.IO MESSAGE, answering server pings on the way."""
        while True:
            frame = await self.communicator.receive_from(timeout=timeout)
            if frame == "2":
                await self.communicator.send_to(text_data="3")
                continue
            assert frame.startswith("4"), frame
            return frame[1:]

    async def next_event(self, timeout: float = 3) -> list[Any]:
        while True:
            message = await self.next_message(timeout)
            if message.startswith("2"):
                return json.loads(message[1:])

    async def close(self) -> None:
        await self.communicator.disconnect()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 5) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False
