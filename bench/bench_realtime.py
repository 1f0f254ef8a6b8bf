"""Realtime benchmark: Socket.IO fan-out to one workspace's sockets.

N clients (1,000; ``quick``: 100) of one workspace hold Socket.IO websocket connections to a
uvicorn server (``/socket.io/``, the extension's protocol), plus N/10 clients of a second
workspace. We measure:

1. one ``contact:created`` (a real ``POST /api/v1/contacts``: request, transaction, event log,
   fan-out) — time from the request until the last of the N clients has the event;
2. a burst of 100 creates (4 concurrent writers) — every one of the 100 × N deliveries must arrive (0 lost), and the
   second workspace's clients must receive nothing (0 cross-workspace).

Baseline, in the same run: a raw ``websockets`` server process that keeps the same N sockets and
``websockets.broadcast``\\ s the same frames when told to. Target: time-to-last-client ≤ 10× the
baseline, 0 lost, 0 cross-workspace. The server runs in embedded mode (in-memory layer), or on
Redis when ``REDIS_URL`` is set, over a fresh SQLite file (or ``DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import websockets

from bench.common import ROOT, LiveServer, Result, free_port, higher_is_better, lower_is_better

BURST = 100
BURST_WRITERS = 4
CONNECT_BATCH = 50
PHASE_TIMEOUT = 120.0


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- the baseline server (runs in its own process) --------------------------------------------
async def _baseline_main(port: int) -> None:
    clients: set[Any] = set()

    async def handler(socket: Any) -> None:
        if socket.request.path == "/control":
            async for frame in socket:  # each control frame is broadcast as is
                websockets.broadcast(clients, frame)
            return
        clients.add(socket)
        try:
            await socket.wait_closed()
        finally:
            clients.discard(socket)

    async with websockets.serve(handler, "127.0.0.1", port, max_queue=None, ping_interval=None):
        await asyncio.Future()


def baseline_server(port: int) -> None:
    asyncio.run(_baseline_main(port))


# --- clients ------------------------------------------------------------------------------------
class Fleet:
    """N websocket clients in this process that note when each event marker reaches them."""

    def __init__(self) -> None:
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task] = []
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.per_socket: list[int] = []
        self._waiters: list[tuple[str, int, asyncio.Future]] = []

    async def connect(self, count: int, opener: Callable[[], Awaitable[Any]]) -> None:
        for start in range(0, count, CONNECT_BATCH):
            batch = await asyncio.gather(*(opener() for _ in range(min(CONNECT_BATCH, count - start))))
            for socket in batch:
                self.per_socket.append(0)
                self.sockets.append(socket)
                self.tasks.append(asyncio.create_task(self._read(socket, len(self.sockets) - 1)))

    async def _read(self, socket: Any, index: int) -> None:
        try:
            async for frame in socket:
                if frame == "2":  # Engine.IO ping
                    await socket.send("3")
                elif frame.startswith("42"):
                    data = json.loads(frame[2:])[1]  # [name, payload, {seq, ts}]
                    self._arrived(data.get("name", ""), index)
        except websockets.ConnectionClosed:
            pass

    def _arrived(self, marker: str, index: int) -> None:
        now = time.perf_counter()
        self.per_socket[index] += 1
        arrivals = self.arrivals[marker]
        arrivals.append(now)
        for waiter in self._waiters:
            if waiter[0] == marker and len(arrivals) >= waiter[1] and not waiter[2].done():
                waiter[2].set_result(now)

    async def wait_all(self, marker: str, count: int, timeout: float) -> float | None:
        """When the ``count``-th copy of ``marker`` arrived, or None on timeout."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters.append((marker, count, future))
        if len(self.arrivals[marker]) >= count:
            future.set_result(self.arrivals[marker][count - 1])
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def _socketio_open(url: str, token: str) -> Any:
    socket = await websockets.connect(url, max_queue=None, ping_interval=None, open_timeout=60)
    assert (await socket.recv()).startswith("0{")
    await socket.send("40" + json.dumps({"token": token}))
    reply = await socket.recv()
    if not reply.startswith("40"):
        raise RuntimeError(f"Socket.IO connect refused: {reply[:200]}")
    return socket


# --- scenarios ------------------------------------------------------------------------------------
def _frame(payload: dict[str, Any], marker: str) -> str:
    return "42" + json.dumps(["contact:created", {**payload, "name": marker}], separators=(",", ":"))


async def _run_baseline(clients: int, payload: dict[str, Any]) -> dict[str, float]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", f"from bench.bench_realtime import baseline_server; baseline_server({port})"], cwd=ROOT
    )
    fleet = Fleet()
    try:
        control = None
        for _ in range(100):
            try:
                control = await websockets.connect(f"ws://127.0.0.1:{port}/control", ping_interval=None)
                break
            except OSError:
                await asyncio.sleep(0.1)
        assert control is not None, "baseline server did not start"
        url = f"ws://127.0.0.1:{port}/"
        await fleet.connect(clients, lambda: websockets.connect(url, max_queue=None, ping_interval=None))
        await asyncio.sleep(0.5)
        marker = f"one-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        await control.send(_frame(payload, marker))
        done = await fleet.wait_all(marker, clients, PHASE_TIMEOUT)
        one = (done - started) * 1000 if done else float("inf")
        markers = [f"burst-{i}-{uuid.uuid4().hex[:6]}" for i in range(BURST)]
        started = time.perf_counter()
        for marker in markers:
            await control.send(_frame(payload, marker))
        finished = [await fleet.wait_all(m, clients, PHASE_TIMEOUT) for m in markers]
        burst = (max(finished) - started) * 1000 if all(finished) else float("inf")
        delivered = sum(len(fleet.arrivals[m]) for m in markers)
        await control.close()
        return {"one_ms": one, "burst_ms": burst, "delivered": delivered}
    finally:
        await fleet.close()
        process.terminate()
        process.wait(timeout=10)


def _post_contact(server: LiveServer, token: str, marker: str, index: int) -> dict[str, Any]:
    response = requests.post(
        f"{server.url}/api/v1/contacts",
        json={"phone": f"+5511{900000000 + index}", "name": marker},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["contact"]


def _register(server: LiveServer) -> tuple[str, str]:
    body = requests.post(
        f"{server.url}/api/v1/auth/register",
        json={"email": f"bench-{uuid.uuid4().hex[:10]}@example.com", "password": "Bench-passw0rd!", "name": "Bench"},
        timeout=30,
    )
    body.raise_for_status()
    return body.json()["accessToken"], body.json()["workspace"]["id"]


async def _run_ours(server: LiveServer, clients: int) -> tuple[dict[str, float], dict[str, Any]]:
    token, _ = await asyncio.to_thread(_register, server)
    foreign_token, _ = await asyncio.to_thread(_register, server)
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    fleet, foreign = Fleet(), Fleet()
    try:
        await fleet.connect(clients, lambda: _socketio_open(url, token))
        await foreign.connect(max(1, clients // 10), lambda: _socketio_open(url, foreign_token))
        # Warm-up event: starts the relay, fills caches; not measured.
        warm = f"warm-{uuid.uuid4().hex[:8]}"
        payload = await asyncio.to_thread(_post_contact, server, token, warm, 0)
        assert await fleet.wait_all(warm, clients, PHASE_TIMEOUT), "warm-up event was not delivered"
        marker = f"one-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        await asyncio.to_thread(_post_contact, server, token, marker, 1)
        done = await fleet.wait_all(marker, clients, PHASE_TIMEOUT)
        one = (done - started) * 1000 if done else float("inf")
        markers = [f"burst-{i}-{uuid.uuid4().hex[:6]}" for i in range(BURST)]
        started = time.perf_counter()

        def create_all() -> None:
            # A burst: several clients creating at once, as after an import or a sync.
            with ThreadPoolExecutor(BURST_WRITERS) as pool:
                list(pool.map(lambda item: _post_contact(server, token, item[1], 2 + item[0]), enumerate(markers)))

        await asyncio.to_thread(create_all)
        finished = [await fleet.wait_all(m, clients, PHASE_TIMEOUT) for m in markers]
        burst = (max(finished) - started) * 1000 if all(finished) else float("inf")
        await asyncio.sleep(0.5)  # let any stray foreign delivery show up
        delivered = sum(len(fleet.arrivals[m]) for m in markers)
        duplicates = sum(max(0, len(fleet.arrivals[m]) - clients) for m in markers)
        return {
            "one_ms": one,
            "burst_ms": burst,
            "delivered": delivered - duplicates,
            "duplicates": duplicates,
            "foreign": sum(foreign.per_socket),
        }, payload
    finally:
        await fleet.close()
        await foreign.close()


def _server_env(tmp: str) -> dict[str, str]:
    env = {"RATELIMIT_ENABLE": "0", "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    if not os.environ.get("DATABASE_URL"):
        env.update(DATABASE_URL="", SQLITE_PATH=os.path.join(tmp, "bench.sqlite3"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    return env


def run(quick: bool) -> list[Result]:
    clients = 100 if quick else 1000
    _raise_fd_limit(4 * clients + 512)
    mode = "redis" if os.environ.get("REDIS_URL") else "embedded"
    with tempfile.TemporaryDirectory() as tmp, LiveServer(_server_env(tmp)) as server:
        ours, payload = asyncio.run(_run_ours(server, clients))
    base = asyncio.run(_run_baseline(clients, payload))
    expected = BURST * clients
    note = f"{clients} clients, {mode} mode"
    return [
        lower_is_better(
            f"realtime: 1 event -> {clients} sockets, last arrival", ours["one_ms"], base["one_ms"], "ms", 10, note
        ),
        lower_is_better(
            f"realtime: {BURST} events x {clients} sockets, last arrival",
            ours["burst_ms"],
            base["burst_ms"],
            "ms",
            10,
            note,
        ),
        higher_is_better(
            f"realtime: {BURST} x {clients} delivered (0 lost, 0 dup)",
            ours["delivered"] if not ours["duplicates"] else 0,
            base["delivered"],
            "msgs",
            1.0,
            f"expected {expected}, lost {expected - ours['delivered']}, duplicates {ours['duplicates']}",
        ),
        Result(
            "realtime: cross-workspace deliveries",
            ours["foreign"],
            0,
            "events",
            "== 0",
            ours["foreign"] == 0,
            f"{max(1, clients // 10)} sockets of another workspace",
        ),
    ]
