"""Shared pieces of the benchmark suite.

Every benchmark module is ``bench/bench_<area>.py`` with ``run(quick: bool) -> list[Result]``.
Each result compares our number with a baseline measured in the same run (these machines are
noisy, so only ratios are meaningful) and states its target.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    metric: str
    ours: float
    baseline: float
    unit: str
    target: str  # human text, e.g. ">= 0.5x baseline throughput"
    passed: bool
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")


def higher_is_better(metric: str, ours: float, baseline: float, unit: str, min_ratio: float, note: str = "") -> Result:
    return Result(metric, ours, baseline, unit, f">= {min_ratio}x baseline", ours >= min_ratio * baseline, note)


def lower_is_better(metric: str, ours: float, baseline: float, unit: str, max_ratio: float, note: str = "") -> Result:
    return Result(metric, ours, baseline, unit, f"<= {max_ratio}x baseline", ours <= max_ratio * baseline, note)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A real server process on 127.0.0.1 (uvicorn on ASGI by default) over its own database."""

    def __init__(self, env: dict[str, str], *, command: list[str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.command = command or [
            sys.executable,
            "-m",
            "uvicorn",
            "whatshybrid.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"server on port {self.port} did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextlib.contextmanager
def isolated_database(label: str) -> Iterator[dict[str, str]]:
    """A fresh, migrated database for a live server; yields the env that points a process at it.

    PostgreSQL when ``DATABASE_URL`` names one (a sibling database, dropped afterwards), else a
    temporary SQLite file. Redis (``REDIS_URL``) is shared, with a key prefix of its own.
    """
    suffix = f"{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    env = {"CACHE_KEY_PREFIX": f"whl{suffix}", "CHANNEL_PREFIX": f"whl{suffix}"}
    url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix=f"whl-{label}-") as tmp:
        if url.startswith(("postgres://", "postgresql://")):
            import psycopg

            parsed = urllib.parse.urlsplit(url)
            name = f"{parsed.path.lstrip('/') or 'whl'}_{suffix}"[:63]
            admin = urllib.parse.urlunsplit(parsed._replace(path="/postgres"))
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            env["DATABASE_URL"] = urllib.parse.urlunsplit(parsed._replace(path=f"/{name}"))
        else:
            name = ""
            env["DATABASE_URL"] = ""
            env["SQLITE_PATH"] = str(Path(tmp) / "live.sqlite3")
        try:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                cwd=ROOT,
                env={**os.environ, **env},
                check=True,
            )
            yield env
        finally:
            if name:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Sample:
    name: str
    status: int  # 0 when the request failed without an HTTP answer
    seconds: float


def drive(
    base_url: str,
    headers: dict[str, str],
    next_request: Callable[[int, int], tuple[str, str, str, Any]],
    *,
    clients: int,
    duration: float,
    max_requests: int = 1_000_000,
) -> list[Sample]:
    """``clients`` threads, each with its own keep-alive session, sending requests until ``duration``
    seconds or ``max_requests`` in total. ``next_request(client, n)`` -> (name, method, path, json)."""
    samples: list[Sample] = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    budget = itertools.count()

    def client(index: int) -> None:
        session = requests.Session()
        session.headers.update(headers)
        mine: list[Sample] = []
        n = 0
        while time.monotonic() < deadline and next(budget) < max_requests:
            name, method, path, body = next_request(index, n)
            n += 1
            started = time.perf_counter()
            try:
                status = session.request(method, base_url + path, json=body, timeout=30).status_code
            except requests.RequestException:
                status = 0
            mine.append(Sample(name, status, time.perf_counter() - started))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 60)
    return samples


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def register(base_url: str, email: str, password: str = "Bench-Passw0rd-2026") -> dict[str, Any]:
    """Registers a user on a live server; returns the auth payload (tokens, user, workspace)."""
    response = requests.post(
        f"{base_url}/api/v1/auth/register", json={"email": email, "password": password, "name": "Bench"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def grant_credits(env: dict[str, str], workspace_id: str, amount: int) -> None:
    """AI credits for a benchmark's workspace, granted as an operator does (``manage.py``)."""
    command = [sys.executable, "manage.py", "grant_credits", "--workspace", workspace_id, str(amount)]
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)


def bench_server_env(env: dict[str, str], *, settings_module: str, flag: str) -> dict[str, str]:
    """Environment for a benchmark's own server: its settings module (which adds the bare
    baseline views) and rate limits too high to trip, so the throttle's cost is still measured."""
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": settings_module,
        flag: "1",
        "RATELIMIT_GENERAL": "100000000/m",
        "RATELIMIT_AUTH": "100000/m",
    }


def register_bench_user(session: requests.Session, url: str) -> tuple[dict[str, str], dict]:
    """Registers the benchmark's user; returns the auth headers and the register body."""
    response = session.post(
        f"{url}/api/v1/auth/register",
        json={"email": "bench@example.com", "password": "Bench-Passw0rd!", "name": "Bench"},
        timeout=30,
    )
    response.raise_for_status()
    body = response.json()
    return {"Authorization": f"Bearer {body['accessToken']}"}, body
