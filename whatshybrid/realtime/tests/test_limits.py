"""Issue #14 item 14: what one client can hold of a server's sockets, and how sockets end."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import requests
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator

from bench.common import LiveServer
from whatshybrid.asgi import application
from whatshybrid.realtime.frames import workspace_group
from whatshybrid.realtime.polling import registry
from whatshybrid.realtime.tests.conftest import SocketIOTestClient, wait_for
from whatshybrid.realtime.tests.test_live import (
    EVENT_TIMEOUT,
    JS_DIR,
    database_env,  # noqa: F401  (the fixture the servers run on)
    embedded,
    register,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def polling_handshake(client: str) -> dict[str, Any]:
    communicator = HttpCommunicator(application, "GET", "/socket.io/?EIO=4&transport=polling")
    communicator.scope["client"] = (client, 40000)  # the app has not started yet: it reads this scope
    return await communicator.get_response(timeout=5)


async def test_frames_above_max_payload_close_the_socket(settings, user, workspace, token_for):
    client = SocketIOTestClient()
    assert (await client.open())["maxPayload"] == settings.SOCKETIO_MAX_PAYLOAD
    await client.communicator.send_to(text_data='42["ping","' + "x" * settings.SOCKETIO_MAX_PAYLOAD + '"]')
    closed = await client.communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 1009}
    await client.close()


async def test_unauthenticated_websockets_per_client_are_capped(settings, user, workspace, token_for):
    settings.SOCKETIO_UNAUTHENTICATED_PER_CLIENT = 3
    held = [SocketIOTestClient() for _ in range(3)]
    for client in held:
        await client.open()
    refused = SocketIOTestClient()
    connected, _ = await refused.communicator.connect()
    assert connected is False  # the handshake is refused (HTTP 403 on a real server)
    kind, _ = await held[0].connect_namespace({"token": await token_for(user, workspace)})
    assert kind == "0"  # authenticated: no longer counted
    admitted = SocketIOTestClient()
    await admitted.open()
    for client in [*held, admitted]:
        await client.close()
    again = SocketIOTestClient()
    await again.open()
    await again.close()


async def test_unauthenticated_sockets_are_closed_after_the_connect_timeout(settings, user, workspace, token_for):
    settings.SOCKETIO_CONNECT_TIMEOUT_MS = 300
    idle, joined = SocketIOTestClient(), SocketIOTestClient()
    await idle.open()
    await joined.open()
    assert (await joined.connect_namespace({"token": await token_for(user, workspace)}))[0] == "0"
    assert (await idle.communicator.receive_output(timeout=3))["type"] == "websocket.close"
    assert await joined.communicator.receive_nothing(timeout=0.6)
    await joined.close()


async def test_one_client_cannot_fill_the_polling_session_table(settings):
    settings.SOCKETIO_UNAUTHENTICATED_PER_CLIENT = 5
    settings.SOCKETIO_CONNECT_TIMEOUT_MS = 500
    settings.SOCKETIO_POLLING_MAX_SESSIONS = len(registry) + 20
    responses = [await polling_handshake("203.0.113.9") for _ in range(40)]
    assert [response["status"] for response in responses] == [200] * 5 + [429] * 35
    # When to come back: once the unauthenticated sessions have timed out (every 429 says it).
    assert all(dict(response["headers"])[b"retry-after"] == b"1" for response in responses[5:])
    assert (await polling_handshake("198.51.100.7"))["status"] == 200  # another client is served
    # Sessions that never CONNECT are short-lived: the flooding client is admitted again.
    assert await wait_for(lambda: _status_async(polling_handshake("203.0.113.9"), 200), timeout=5)


async def _status_async(response: Any, status: int) -> bool:
    return (await response)["status"] == status


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="scale mode needs REDIS_URL")
async def test_300_sockets_closing_at_once_leave_no_channel_in_the_group(user, workspace, token_for):
    token = await token_for(user, workspace)
    clients = []
    for _ in range(300):
        client = SocketIOTestClient()
        await client.open()
        assert (await client.connect_namespace({"token": token}))[0] == "0"
        clients.append(client)
    layer = get_channel_layer()
    group_key = layer._group_key(workspace_group(workspace.pk))
    connection = layer.connection(layer.consistent_hash(workspace_group(workspace.pk)))
    assert await connection.zcard(group_key) == 300
    # A generous timeout: the test communicator cancels a consumer still closing after 1 s.
    await asyncio.gather(*(client.communicator.disconnect(timeout=30) for client in clients))
    assert await connection.zcard(group_key) == 0


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is required for the socket.io-client test")
def test_npm_client_on_polling_sees_session_ended_before_the_disconnect(database_env) -> None:  # noqa: F811
    with LiveServer({**embedded(database_env), "SOCKETIO_PING_INTERVAL_MS": "25000"}) as server:
        account = register(server)
        node = subprocess.Popen(
            ["node", str(JS_DIR / "socketio_client.mjs"), server.url, account["accessToken"], "", "never:sent"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "TRANSPORTS": "polling"},
        )
        try:
            assert node.stdout is not None
            assert json.loads(node.stdout.readline())["status"] == "connected"
            response = requests.post(
                f"{server.url}/api/v1/auth/logout",
                json={},
                headers={"Authorization": f"Bearer {account['accessToken']}"},
                timeout=10,
            )
            assert response.status_code == 200
            lines = [json.loads(line) for line in node.stdout]
            assert node.wait(timeout=EVENT_TIMEOUT) == 4, lines
        finally:
            node.kill()
    statuses = [line["status"] for line in lines if line["status"] != "pong"]
    assert statuses == ["error_event", "disconnected"], lines
    assert lines[-2]["data"]["code"] == "SESSION_ENDED" and lines[-1]["reason"] == "io server disconnect"


@pytest.mark.live
@pytest.mark.slow
def test_serve_stops_promptly_with_a_polling_client_connected(database_env) -> None:  # noqa: F811
    env = {**embedded(database_env), "SOCKETIO_PING_INTERVAL_MS": "25000"}
    command = [sys.executable, "manage.py", "serve", "--no-worker", "--no-scheduler", "--no-migrate", "--port"]
    server = LiveServer(env)
    server.command = [*command, str(server.port)]
    with server:
        base = f"{server.url}/socket.io/?EIO=4&transport=polling"
        sid = json.loads(requests.get(base, timeout=10).text[1:])["sid"]
        pending: dict[str, Any] = {}
        poll = threading.Thread(
            target=lambda: pending.update(response=requests.get(f"{base}&sid={sid}", timeout=30)), daemon=True
        )
        poll.start()
        time.sleep(0.5)  # the long-poll is held by the server
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        elapsed = time.monotonic() - started
        poll.join(timeout=5)
    assert elapsed < 2, f"shutdown took {elapsed:.1f} s"
    assert pending["response"].status_code == 200 and pending["response"].text == "1"
