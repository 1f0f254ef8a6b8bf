"""Real processes on 127.0.0.1: uvicorn servers, the npm socket.io-client, python-socketio.

The servers run over the configured database (a fresh SQLite file by default, ``DATABASE_URL``
when set) and are driven only from outside: HTTP for users and contacts, ``manage.py shell``
subprocesses for events committed by another process (what the background worker does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio

from bench.common import ROOT, LiveServer

pytestmark = [pytest.mark.live, pytest.mark.slow]

JS_DIR = ROOT / "tests" / "js"
EVENT_TIMEOUT = 15


@pytest.fixture(scope="module")
def database_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Server environment over a migrated database of its own (never the test run's database)."""
    env = {"RATELIMIT_ENABLE": "0", "REALTIME_SESSION_CHECK_SECONDS": "1", "DEBUG": "0"}
    if not os.environ.get("DATABASE_URL"):
        env.update(DATABASE_URL="", SQLITE_PATH=str(tmp_path_factory.mktemp("live") / "live.sqlite3"))
    manage(env, "migrate", "--no-input", "-v", "0")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def embedded(env: dict[str, str]) -> dict[str, str]:
    return {**env, "REDIS_URL": ""}


def register(server: LiveServer) -> dict[str, Any]:
    response = requests.post(
        f"{server.url}/api/v1/auth/register",
        json={"email": f"live-{uuid.uuid4().hex[:10]}@example.com", "password": "Live-passw0rd!", "name": "Live"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def create_contact(server: LiveServer, token: str) -> dict[str, Any]:
    phone = f"+5511{uuid.uuid4().int % 10**8 + 9 * 10**8}"
    response = requests.post(
        f"{server.url}/api/v1/contacts",
        json={"phone": phone, "name": "Cliente ao vivo"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["contact"]


def assert_event_line(line: dict[str, Any], server: LiveServer, token: str, contact: dict[str, Any]) -> None:
    """The npm client's report of ``contact:created``: the REST object as the listener's argument,
    and the event's log ``seq`` (as the changes feed has it) in the second one."""
    feed = requests.get(f"{server.url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    (seq,) = [e["seq"] for e in feed.json()["events"] if e["event"] == "contact:created" and e["data"] == contact]
    meta = line.pop("meta")
    assert line == {"status": "event", "event": "contact:created", "data": contact}
    assert meta["seq"] == seq and set(meta) == {"seq", "ts"}


def publish_from_another_process(env: dict[str, str], workspace_id: str, name: str, marker: str) -> None:
    code = (
        "from django.db import transaction\n"
        "from whatshybrid.realtime.publisher import publish\n"
        "with transaction.atomic():\n"
        f"    publish({workspace_id!r}, {name!r}, {{'marker': {marker!r}}})\n"
    )
    manage(env, "shell", "-c", code)


class SocketIOListener:
    """A python-socketio client collecting every event it is sent."""

    def __init__(self, url: str, token: str, transports: list[str] | None = None) -> None:
        self.client = socketio.Client(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.seqs: list[int] = []
        self.received = threading.Condition()
        self.client.on("*", self._record)
        self.client.connect(url, auth={"token": token}, transports=transports or ["websocket"], wait_timeout=10)

    def _record(self, event: str, data: Any = None, meta: Any = None) -> None:
        with self.received:
            self.events.append((event, data))
            if isinstance(meta, dict):
                self.seqs.append(meta["seq"])
            self.received.notify_all()

    def wait_for(self, predicate: Any, timeout: float = EVENT_TIMEOUT) -> tuple[str, Any]:
        with self.received:
            found = self.received.wait_for(lambda: next(filter(predicate, self.events), None), timeout=timeout)
        assert found, f"no matching event in {self.events!r}"
        return found

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def embedded_server(database_env: dict[str, str]) -> Iterator[LiveServer]:
    with LiveServer(embedded(database_env)) as server:
        yield server


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is required for the socket.io-client test")
def test_npm_socketio_client_receives_contact_created(embedded_server: LiveServer) -> None:
    assert (JS_DIR / "node_modules" / "socket.io-client").exists(), "run: (cd tests/js && npm install)"
    account = register(embedded_server)
    node = subprocess.Popen(
        [
            "node",
            str(JS_DIR / "socketio_client.mjs"),
            embedded_server.url,
            account["accessToken"],
            account["workspace"]["id"],
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None
        connected = json.loads(node.stdout.readline())
        assert connected == {"status": "connected", "transport": "websocket"}
        contact = create_contact(embedded_server, account["accessToken"])
        lines = [json.loads(line) for line in node.stdout]
        assert node.wait(timeout=EVENT_TIMEOUT) == 0, lines
    finally:
        node.kill()
    assert {"status": "pong"} in lines
    assert not [line for line in lines if line["status"] == "error_event"]  # joining its own workspace is fine
    assert_event_line(lines[-1], embedded_server, account["accessToken"], contact)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is required for the socket.io-client test")
def test_npm_socketio_client_gets_connect_error_for_a_bad_token(embedded_server: LiveServer) -> None:
    node = subprocess.run(
        ["node", str(JS_DIR / "socketio_client.mjs"), embedded_server.url, "not-a-token"],
        capture_output=True,
        text=True,
        timeout=EVENT_TIMEOUT + 10,
    )
    assert node.returncode == 2, node.stdout
    line = json.loads(node.stdout.splitlines()[-1])
    assert line["status"] == "connect_error" and line["message"]


def test_python_socketio_client_and_events_from_another_process(
    embedded_server: LiveServer, database_env: dict[str, str]
) -> None:
    ours, theirs = register(embedded_server), register(embedded_server)
    listener = SocketIOListener(embedded_server.url, ours["accessToken"])
    foreign = SocketIOListener(embedded_server.url, theirs["accessToken"])
    try:
        contact = create_contact(embedded_server, ours["accessToken"])
        assert listener.wait_for(lambda e: e[0] == "contact:created")[1] == contact
        # Committed by a management-command process: the web process relays it from the log.
        publish_from_another_process(embedded(database_env), ours["workspace"]["id"], "task:completed", "worker-1")
        assert listener.wait_for(lambda e: e[0] == "task:completed")[1] == {"marker": "worker-1"}
        create_contact(embedded_server, theirs["accessToken"])
        foreign.wait_for(lambda e: e[0] == "contact:created")
        assert [name for name, _ in listener.events] == ["contact:created", "task:completed"]
        assert len(listener.seqs) == 2 and listener.seqs[0] < listener.seqs[1]
    finally:
        listener.close()
        foreign.close()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="scale mode needs REDIS_URL")
def test_two_servers_on_redis_share_events(database_env: dict[str, str]) -> None:
    env = {**database_env, "REDIS_URL": os.environ["REDIS_URL"], "CHANNEL_PREFIX": f"whl-live-{uuid.uuid4().hex[:6]}"}
    with LiveServer(env) as first, LiveServer(env) as second:
        account = register(first)
        on_first = SocketIOListener(first.url, account["accessToken"])
        on_second = SocketIOListener(second.url, account["accessToken"])
        try:
            contact = create_contact(second, account["accessToken"])  # written through the other server
            for listener in (on_first, on_second):
                assert listener.wait_for(lambda e: e[0] == "contact:created")[1] == contact
            publish_from_another_process(env, account["workspace"]["id"], "deal:updated", "worker-2")
            for listener in (on_first, on_second):
                assert listener.wait_for(lambda e: e[0] == "deal:updated")[1] == {"marker": "worker-2"}
                assert [name for name, _ in listener.events] == ["contact:created", "deal:updated"]
        finally:
            on_first.close()
            on_second.close()


def test_native_endpoint_with_websockets_library_and_resume(embedded_server: LiveServer) -> None:
    from websockets.sync.client import connect

    account = register(embedded_server)
    url = embedded_server.url.replace("http", "ws") + "/ws/v1/events"
    token = account["accessToken"]
    with connect(url, subprotocols=["whatshybrid.v1", f"bearer.{token}"], open_timeout=10) as socket:
        assert socket.subprotocol == "whatshybrid.v1"
        assert json.loads(socket.recv(timeout=10))["type"] == "ready"
        first = create_contact(embedded_server, token)
        frame = json.loads(socket.recv(timeout=EVENT_TIMEOUT))
        assert (frame["event"], frame["data"]) == ("contact:created", first)
    missed = [create_contact(embedded_server, token) for _ in range(2)]
    with connect(f"{url}?token={token}&resume_from={frame['seq']}", open_timeout=10) as socket:
        replayed = [json.loads(socket.recv(timeout=10)) for _ in missed]
        assert [f["data"] for f in replayed] == missed
        assert [f["seq"] for f in replayed] == [frame["seq"] + 1, frame["seq"] + 2]
        assert json.loads(socket.recv(timeout=10))["type"] == "ready"


def test_origin_check_on_the_real_server(embedded_server: LiveServer) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = embedded_server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    with connect(url, origin="chrome-extension://abcdefghijklmnop", open_timeout=10) as socket:
        assert socket.recv(timeout=10).startswith("0{")
    with pytest.raises(InvalidStatus), connect(url, origin="https://evil.example.com", open_timeout=10):
        pass
