"""The serving stack of ``manage.py serve`` as a client and an operator meet it, on a real process:
body limits for every transfer encoding, JSON errors from the server itself, polling headers,
no credentials in the server's log output, and every child stopped by every stop signal."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import urllib3
from django.conf import settings

from tests.secret_scan import SecretScanner
from whatshybrid.api.tests.test_serve import alive, free_port

pytestmark = pytest.mark.live

BODY_LIMIT = 64 * 1024
IMPORT_LIMIT = 128 * 1024


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return "".join(self.output)


def _start(tmp_path: Path, **overrides: str) -> Served:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        SQLITE_PATH=str(tmp_path / "serve.sqlite3"),
        PYTHONUNBUFFERED="1",
        RATELIMIT_ENABLE="0",
        MAX_BODY_BYTES=str(BODY_LIMIT),
        IMPORT_MAX_BYTES=str(IMPORT_LIMIT),
    )
    env.update(overrides)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(process, port)
    threading.Thread(target=lambda: served.output.extend(iter(process.stdout.readline, "")), daemon=True).start()
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, served.text()
        assert time.monotonic() < deadline, "server did not come up:\n" + served.text()
        try:
            if requests.get(f"{served.base}/health", timeout=2).status_code == 200:
                return served
        except requests.ConnectionError:
            time.sleep(0.3)


def _stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.kill()
        served.process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = _start(tmp_path_factory.mktemp("serving"))
    try:
        yield served
    finally:
        _stop(served)


def _chunked(served: Served, path: str, chunks: Iterator[bytes], headers: dict[str, str]) -> tuple[int, dict, str]:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        conn.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read().decode()
    finally:
        conn.close()


def _register(served: Served, email: str) -> str:
    body = {"email": email, "password": "s3cret-Passw0rd", "name": "Serving"}
    reply = requests.post(f"{served.base}/api/v1/auth/register", json=body, timeout=30)
    assert reply.status_code == 201, reply.text
    return reply.json()["accessToken"]


def test_chunked_json_keeps_its_body(server: Served) -> None:
    body = b'{"email": "chunked@example.com", "password": "s3cret-Passw0rd", "name": "Chunked"}'
    parts = iter([body[:10], body[10:40], body[40:]])
    status, _, text = _chunked(server, "/api/v1/auth/register", parts, {"Content-Type": "application/json"})
    assert status == 201, text


def _send_until_answered(served: Served, path: str, total: int) -> bytes:
    """Streams a chunked body of up to ``total`` bytes, stopping as soon as the server answers."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    piece = b" " * 16384
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        for _ in range(total // len(piece)):
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed; its answer waits in our receive buffer
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


@pytest.mark.parametrize(
    ("path", "limit"), [("/api/v1/auth/login", BODY_LIMIT), ("/api/v1/contacts/import", IMPORT_LIMIT)]
)
def test_chunked_bodies_past_the_limit_get_a_413_json_error(server: Served, path: str, limit: int) -> None:
    answer = _send_until_answered(server, path, 4 * 1024 * 1024)  # the server must refuse long before
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)
    assert error["code"] == "PAYLOAD_TOO_LARGE" and str(limit) in error["message"]


def test_a_body_within_the_import_limit_passes_the_general_limit(server: Served) -> None:
    token = _register(server, "importer@example.com")
    csv = "name,phone\n" + "".join(f"Cliente {i},+5511987{i:06d}\n" for i in range(3000))
    body, content_type = urllib3.encode_multipart_formdata({"file": ("contacts.csv", csv.encode(), "text/csv")})
    assert BODY_LIMIT < len(body) < IMPORT_LIMIT
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
    status, _, text = _chunked(server, "/api/v1/contacts/import", iter([body[:50000], body[50000:]]), headers)
    assert status in (200, 202), text


def test_overlong_urls_get_json_errors(server: Served) -> None:
    for length in (20_000, 200_000):
        reply = requests.get(f"{server.base}/api/v1/contacts?search={'a' * length}", timeout=30)
        assert 400 <= reply.status_code < 500, (length, reply.status_code)
        assert reply.headers["content-type"].startswith("application/json"), (length, reply.text[:200])
        assert reply.json()["code"]


def test_polling_responses_are_not_sniffed(server: Served) -> None:
    handshake = requests.get(f"{server.base}/socket.io/?EIO=4&transport=polling", timeout=10)
    assert handshake.headers["x-content-type-options"] == "nosniff"
    preflight = requests.options(
        f"{server.base}/socket.io/?EIO=4&transport=polling",
        headers={"Origin": "https://web.whatsapp.com", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.headers["x-content-type-options"] == "nosniff"


def test_tokens_and_sids_never_reach_the_servers_log(server: Served) -> None:
    import websockets.sync.client

    token = _register(server, "logged@example.com")
    polled = requests.get(f"{server.base}/socket.io/?EIO=4&transport=polling&token={token}", timeout=10)
    sid = re.search(r'"sid":"([^"]+)"', polled.text).group(1)
    requests.get(f"{server.base}/socket.io/?EIO=4&transport=polling&sid={sid}&token={token}", timeout=30)
    ws_url = f"ws://127.0.0.1:{server.port}/ws/v1/events?token={token}"
    with websockets.sync.client.connect(ws_url, origin="http://127.0.0.1", open_timeout=10) as ws:
        ws.recv(timeout=10)
    requests.get(f"{server.base}/api/v1/auth/me?token={token}&access_token={token}", timeout=10)
    time.sleep(0.5)  # the access log is written after the response
    log = server.text()
    assert "GET /socket.io/" in log, log[-2000:]  # the access log is on and was read
    scanner = SecretScanner()
    scanner.remember(token, "access token")
    scanner.remember(sid, "polling sid")
    assert not scanner.scan_text(log, where="the server's log output"), scanner.leaks


def http_worker_pids(served: Served) -> list[int]:
    pids = re.search(r"HTTP worker processes started \(pids ([\d, ]+)\)", served.text()).group(1)
    return [int(pid) for pid in pids.split(", ")]


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_every_stop_signal_stops_every_child(tmp_path: Path, signum: int) -> None:
    served = _start(tmp_path)
    try:
        worker_pid = int(re.search(r"background worker started \(pid (\d+)\)", served.text()).group(1))
        http_workers = http_worker_pids(served)
        spawner = parent_pid(http_workers[0])
        children = {"background worker": [worker_pid], "HTTP workers": http_workers, "their spawner": [spawner]}
        assert all(alive(pid) for pids in children.values() for pid in pids)
        served.process.send_signal(signum)
        code = served.process.wait(timeout=30)
        if signum != signal.SIGKILL:
            assert code == 0, served.text()
        for name, pids in children.items():
            deadline = time.monotonic() + 15
            while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not any(map(alive, pids)), f"the {name} outlived the server ({signal.Signals(signum).name})"
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", served.port), timeout=2):
            pass
    finally:
        _stop(served)
