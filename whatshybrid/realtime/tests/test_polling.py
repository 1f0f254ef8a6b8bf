"""Engine.IO long-polling and the polling → websocket upgrade, against a real uvicorn server.

Real clients on 127.0.0.1: python-socketio, the npm socket.io-client, and plain HTTP/websocket
requests for the protocol's edges (engine.io's protocol test suite is the reference). The server
pings every second so heartbeat behaviour shows within the tests' time.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import socketio
from channels.testing import HttpCommunicator

from bench.common import LiveServer
from whatshybrid.asgi import application
from whatshybrid.realtime.polling import registry
from whatshybrid.realtime.tests.test_live import (
    EVENT_TIMEOUT,
    JS_DIR,
    SocketIOListener,
    assert_event_line,
    create_contact,
    database_env,  # noqa: F401  (the fixture the servers run on)
    embedded,
    publish_from_another_process,
    register,
)

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(120)]

PING_MS = 1000
HEARTBEAT_ENV = {"SOCKETIO_PING_INTERVAL_MS": str(PING_MS), "SOCKETIO_PING_TIMEOUT_MS": str(PING_MS)}
SESSION_UNKNOWN = {"code": 1, "message": "Session ID unknown"}


@pytest.fixture(scope="module")
def server(database_env: dict[str, str]) -> Iterator[LiveServer]:  # noqa: F811
    with LiveServer({**embedded(database_env), **HEARTBEAT_ENV}) as live:
        yield live


@pytest.fixture(scope="module")
def account(server: LiveServer) -> dict[str, Any]:
    return register(server)


class Polling:
    """Engine.IO over plain HTTP requests, one call per protocol step."""

    def __init__(self, server: LiveServer, query: str = "", headers: dict[str, str] | None = None) -> None:
        self.base = f"{server.url}/socket.io/?EIO=4&transport=polling{query}"
        self.headers = headers or {}
        self.sid = ""

    def open(self) -> dict[str, Any]:
        response = requests.get(self.base, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        assert response.text.startswith("0"), response.text
        handshake = json.loads(response.text[1:])
        self.sid = handshake["sid"]
        return handshake

    def get(self) -> requests.Response:
        return requests.get(f"{self.base}&sid={self.sid}", headers=self.headers, timeout=10)

    def post(self, *frames: str) -> requests.Response:
        return requests.post(f"{self.base}&sid={self.sid}", data="\x1e".join(frames).encode(), timeout=10)

    def packets(self) -> list[str]:
        response = self.get()
        assert response.status_code == 200, response.text
        return response.text.split("\x1e")

    def until(self, predicate: Any, polls: int = 10) -> list[str]:
        """Polls until a packet matches, answering server pings; returns everything seen."""
        seen: list[str] = []
        for _ in range(polls):
            packets = self.packets()
            seen += packets
            if "2" in packets:
                assert self.post("3").status_code == 200
            if any(predicate(packet) for packet in packets):
                return seen
        raise AssertionError(f"no matching packet in {seen!r}")

    def connect(self, token: str, **auth: Any) -> list[str]:
        """Opens the session and CONNECTs; returns the packets seen up to the CONNECT answer."""
        self.open()
        assert self.post("40" + json.dumps({"token": token, **auth})).text == "ok"
        seen = self.until(lambda p: p.startswith("40{"))
        assert not [p for p in seen if p.startswith("44")], seen
        return seen


def eventually(predicate: Any, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_python_client_on_polling_only(server: LiveServer, account: dict[str, Any], database_env) -> None:  # noqa: F811
    listener = SocketIOListener(server.url, account["accessToken"], transports=["polling"])
    try:
        assert listener.client.transport() == "polling"
        ack = listener.client.call("join:workspace", account["workspace"]["id"], timeout=10)
        assert ack == {"ok": True, "workspace_id": account["workspace"]["id"]}
        listener.client.emit("ping")
        listener.wait_for(lambda e: e[0] == "pong")
        time.sleep(2.5 * PING_MS / 1000)  # heartbeats go both ways over polling; the session lives on
        contact = create_contact(server, account["accessToken"])
        assert listener.wait_for(lambda e: e[0] == "contact:created")[1] == contact
        env = {**embedded(database_env), **HEARTBEAT_ENV}
        publish_from_another_process(env, account["workspace"]["id"], "task:completed", "poll-1")
        assert listener.wait_for(lambda e: e[0] == "task:completed")[1] == {"marker": "poll-1"}
        assert [name for name, _ in listener.events] == ["pong", "contact:created", "task:completed"]
        assert len(listener.seqs) == 2 and listener.seqs[0] < listener.seqs[1]
        assert listener.client.transport() == "polling"
    finally:
        listener.close()


def test_python_client_with_default_transports_upgrades(server: LiveServer, account: dict[str, Any]) -> None:
    listener = SocketIOListener(server.url, account["accessToken"], transports=["polling", "websocket"])
    try:
        assert listener.client.transport() == "websocket"  # opened on polling, then upgraded
        contact = create_contact(server, account["accessToken"])
        assert listener.wait_for(lambda e: e[0] == "contact:created")[1] == contact
    finally:
        listener.close()


def test_bad_token_is_a_connect_error_on_polling(server: LiveServer) -> None:
    client = socketio.Client(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, auth={"token": "not-a-token"}, transports=["polling"], wait_timeout=10)
    assert errors and errors[0]["message"]
    client.disconnect()


def test_logout_disconnects_a_polling_client(server: LiveServer) -> None:
    account = register(server)
    listener = SocketIOListener(server.url, account["accessToken"], transports=["polling"])
    gone = threading.Event()
    listener.client.on("disconnect", lambda *reason: gone.set())
    sid = listener.client.eio.sid
    try:
        response = requests.post(
            f"{server.url}/api/v1/auth/logout",
            json={"refreshToken": account["refreshToken"]},
            headers={"Authorization": f"Bearer {account['accessToken']}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        error = listener.wait_for(lambda e: e[0] == "error")[1]
        assert error["code"] == "SESSION_ENDED"
        assert gone.wait(EVENT_TIMEOUT)
    finally:
        listener.close()
    # The close comes in a GET of its own, after the error and the DISCONNECT; then the session is gone.
    leftover = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=10)
    assert (leftover.status_code, leftover.text) == (200, "1")
    gone_now = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=10)
    assert (gone_now.status_code, gone_now.json()) == (400, SESSION_UNKNOWN)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is required for the socket.io-client test")
@pytest.mark.parametrize("transports", ["polling", "polling,websocket"])
def test_npm_socketio_client(server: LiveServer, account: dict[str, Any], transports: str) -> None:
    assert (JS_DIR / "node_modules" / "socket.io-client").exists(), "run: (cd tests/js && npm install)"
    token, workspace_id = account["accessToken"], account["workspace"]["id"]
    node = subprocess.Popen(
        ["node", str(JS_DIR / "socketio_client.mjs"), server.url, token, workspace_id],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRANSPORTS": transports},
    )
    try:
        assert node.stdout is not None
        # The pong is awaited too: over polling the ping's POST can reach the server after the
        # contact is created, and the client stops at the event before the pong arrives.
        expected = {"connected", "pong"} | ({"upgraded"} if "websocket" in transports else set())
        before: list[dict[str, Any]] = []
        while not expected <= {line["status"] for line in before}:
            before.append(json.loads(node.stdout.readline()))
            assert before[-1]["status"] in {"connected", "upgraded", "pong"}, before
        contact = create_contact(server, token)
        lines = before + [json.loads(line) for line in node.stdout]
        assert node.wait(timeout=EVENT_TIMEOUT) == 0, lines
    finally:
        node.kill()
    if transports == "polling":
        assert {"status": "connected", "transport": "polling"} in lines
        assert not [line for line in lines if line["status"] == "upgraded"]
    else:
        assert {"status": "upgraded", "transport": "websocket"} in lines
    assert {"status": "pong"} in lines
    assert not [line for line in lines if line["status"] == "error_event"]
    assert_event_line(lines[-1], server, token, contact)


def test_handshake_and_request_errors(server: LiveServer) -> None:
    handshake = Polling(server).open()
    assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert (handshake["upgrades"], handshake["pingInterval"], handshake["pingTimeout"]) == (["websocket"], 1000, 1000)
    base = f"{server.url}/socket.io/"
    cases = [
        ("get", "?EIO=4&transport=polling&sid=nope", 400, 1),
        ("post", "?EIO=4&transport=polling&sid=nope", 400, 1),
        ("get", "?EIO=3&transport=polling", 400, 5),
        ("get", "?transport=polling", 400, 5),
        ("get", "?EIO=4&transport=flashsocket", 400, 0),
        ("post", "?EIO=4&transport=polling", 400, 2),
        ("put", f"?EIO=4&transport=polling&sid={handshake['sid']}", 400, 3),
    ]
    for method, query, status, code in cases:
        response = requests.request(method, base + query, timeout=10)
        assert (response.status_code, response.json()["code"]) == (status, code), (method, query)
    assert requests.get(base + "?EIO=4&transport=polling&sid=nope", timeout=10).json() == SESSION_UNKNOWN


def test_origins_and_cors(server: LiveServer) -> None:
    extension = "chrome-extension://abcdefghijklmnop"
    polling = Polling(server, headers={"Origin": extension})
    polling.open()
    response = polling.get()
    assert response.headers["access-control-allow-origin"] == extension
    preflight = requests.options(
        polling.base,
        headers={"Origin": "https://web.whatsapp.com", "Access-Control-Request-Headers": "content-type"},
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://web.whatsapp.com"
    refused = requests.get(polling.base, headers={"Origin": "https://evil.example.com"}, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (403, 4)


def test_token_in_the_query_string_and_join_of_another_workspace(server: LiveServer, account: dict[str, Any]) -> None:
    polling = Polling(server, query=f"&token={account['accessToken']}")
    polling.open()
    assert polling.post("40").text == "ok"
    assert polling.until(lambda p: p.startswith("40{"))
    assert polling.post('42["join:workspace","someone-elses"]', '423["ping"]').text == "ok"
    seen = polling.until(lambda p: p.startswith("433"))
    error = next(json.loads(p[2:]) for p in seen if p.startswith('42["error"'))
    assert error[1]["workspace_id"] == account["workspace"]["id"]
    assert polling.post("41").text == "ok"  # leaving the namespace keeps the Engine.IO session


def test_resume_from_replays_missed_events(server: LiveServer) -> None:
    account = register(server)
    token = account["accessToken"]
    missed = create_contact(server, token)
    feed = requests.get(f"{server.url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    polling = Polling(server)
    seen = polling.connect(token, resume_from=feed.json()["last_seq"] - 1)
    if not any(p.startswith("42") for p in seen):  # the replay may follow the CONNECT in a later GET
        seen += polling.until(lambda p: p.startswith("42"))
    last_seq = feed.json()["last_seq"]
    assert [json.loads(p[2:])[:2] for p in seen if p.startswith("42")] == [["contact:created", missed]]
    assert [json.loads(p[2:])[2]["seq"] for p in seen if p.startswith("42")] == [last_seq]


def test_a_second_pending_get_closes_the_session(server: LiveServer) -> None:
    polling = Polling(server)
    polling.open()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(polling.get)
        time.sleep(0.2)
        second = pool.submit(polling.get)
        assert second.result().status_code == 400
        assert (first.result().status_code, first.result().text) == (200, "1")
    assert polling.get().json() == SESSION_UNKNOWN


def test_client_close_ends_the_pending_get_with_a_noop(server: LiveServer) -> None:
    polling = Polling(server)
    polling.open()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(polling.get)
        time.sleep(0.2)
        assert polling.post("1").text == "ok"
        assert pending.result().text == "6"
    assert polling.get().json() == SESSION_UNKNOWN


def test_malformed_or_oversized_payloads_close_the_session(server: LiveServer) -> None:
    for body in ("abc", "", "4" * 1_000_001):
        polling = Polling(server)
        polling.open()
        response = polling.post(body)
        assert response.status_code == (413 if len(body) > 1000 else 400)
        assert polling.post("3").json() == SESSION_UNKNOWN


def test_unanswered_pings_end_the_session(server: LiveServer) -> None:
    polling = Polling(server)
    polling.open()
    started = time.monotonic()
    assert polling.packets() == ["2"]  # the server's ping, held until pingInterval
    assert polling.packets() == ["1"]  # no pong within pingTimeout: closed
    assert time.monotonic() - started < 4 * PING_MS / 1000
    assert polling.get().json() == SESSION_UNKNOWN


@contextlib.contextmanager
def probed_upgrade(server: LiveServer, polling: Polling) -> Iterator[tuple[str, Any]]:
    """The upgrade websocket of ``polling``'s session, its probe answered; yields (url, socket)."""
    from websockets.sync.client import connect

    url = f"{server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid={polling.sid}"
    with connect(url, open_timeout=10) as socket:
        socket.send("2probe")
        assert socket.recv(timeout=10) == "3probe"
        yield url, socket


def test_upgrade_by_hand(server: LiveServer, account: dict[str, Any]) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    polling = Polling(server)
    polling.connect(account["accessToken"])
    with probed_upgrade(server, polling) as (url, socket):
        paused = polling.packets()  # returns at once so the client can pause polling
        assert set(paused) <= {"6", "2"}, paused
        if "2" in paused:
            polling.post("3")
        socket.send("5")
        contact = create_contact(server, account["accessToken"])
        while (frame := socket.recv(timeout=EVENT_TIMEOUT)) == "2":
            socket.send("3")
        assert json.loads(frame[2:])[:2] == ["contact:created", contact]
        assert polling.get().status_code == 400  # the session now lives on the websocket
        with pytest.raises(InvalidStatus), connect(url, open_timeout=10):
            pass  # one upgrade per session
        socket.send('421["join:workspace",null]')
        while (frame := socket.recv(timeout=10)) == "2":
            socket.send("3")
        assert json.loads(frame[3:]) == [{"ok": True, "workspace_id": account["workspace"]["id"]}]
    assert eventually(lambda: polling.get().json() == SESSION_UNKNOWN)  # closing the websocket ends the session
    unknown = url.replace(polling.sid, "nope")
    with pytest.raises(InvalidStatus), connect(unknown, open_timeout=10):
        pass


def test_failed_probe_keeps_the_session_polling(server: LiveServer, account: dict[str, Any]) -> None:
    polling = Polling(server)
    polling.connect(account["accessToken"])
    with probed_upgrade(server, polling):
        pass  # closed without the upgrade packet
    contact = create_contact(server, account["accessToken"])
    seen = polling.until(lambda p: p.startswith("42"))
    assert json.loads(next(p for p in seen if p.startswith("42"))[2:])[:2] == ["contact:created", contact]


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="scale mode needs REDIS_URL")
def test_polling_clients_on_two_servers_over_redis(database_env: dict[str, str]) -> None:  # noqa: F811
    env = {
        **database_env,
        **HEARTBEAT_ENV,
        "REDIS_URL": os.environ["REDIS_URL"],
        "CHANNEL_PREFIX": f"whl-poll-{uuid.uuid4().hex[:6]}",
    }
    with LiveServer(env) as first, LiveServer(env) as second:
        account = register(first)
        on_first = SocketIOListener(first.url, account["accessToken"], transports=["polling"])
        on_second = SocketIOListener(second.url, account["accessToken"], transports=["polling", "websocket"])
        try:
            contact = create_contact(second, account["accessToken"])
            for listener in (on_first, on_second):
                assert listener.wait_for(lambda e: e[0] == "contact:created")[1] == contact
            publish_from_another_process(env, account["workspace"]["id"], "deal:updated", "poll-2")
            for listener in (on_first, on_second):
                assert listener.wait_for(lambda e: e[0] == "deal:updated")[1] == {"marker": "poll-2"}
                assert [name for name, _ in listener.events] == ["contact:created", "deal:updated"]
        finally:
            on_first.close()
            on_second.close()


async def _http(method: str, query: str) -> dict[str, Any]:
    return await HttpCommunicator(application, method, f"/socket.io/?EIO=4&transport=polling{query}").get_response(
        timeout=5
    )


async def test_a_client_that_stops_polling_is_bounded(settings) -> None:
    settings.SOCKETIO_POLLING_MAX_BUFFERED = 10
    handshake = json.loads((await _http("GET", ""))["body"][1:])
    session = registry.get(handshake["sid"])
    assert session is not None
    for n in range(11):
        session.push(f'42["contact:updated",{n}]')
    assert (await _http("GET", f"&sid={session.sid}"))["body"] == b"1"  # frames dropped, then closed
    assert (await _http("GET", f"&sid={session.sid}"))["status"] == 400
    await session.task


async def test_new_sessions_are_refused_past_the_limit(settings) -> None:
    settings.SOCKETIO_POLLING_MAX_SESSIONS = len(registry)
    response = await _http("GET", "")
    assert response["status"] == 503
    assert dict(response["headers"])[b"retry-after"] == str(settings.SOCKETIO_CONNECT_TIMEOUT_MS // 1000).encode()
