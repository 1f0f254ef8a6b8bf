"""``manage.py serve`` with its API in worker processes (``whatshybrid.wsgi_processes``), on a real
server: the workers share one rate-limit budget, their events reach sockets on the serving
process at once, and a worker that dies fails only its own requests and is replaced."""

from __future__ import annotations

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from whatshybrid.api.tests.test_serve import alive
from whatshybrid.api.tests.test_serving_stack import Served, _register, _start, _stop, http_worker_pids, parent_pid
from whatshybrid.realtime.tests.test_live import SocketIOListener

pytestmark = pytest.mark.live


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def workers_of(spawner: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                if parent_pid(int(entry.name)) == spawner:
                    found.add(int(entry.name))
            except OSError:
                continue  # exited meanwhile
    return found


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Served:
    server = _start(tmp_path, HTTP_PROCESSES="2", **getattr(request, "param", {}))
    yield server
    _stop(server)


@pytest.mark.parametrize("served", [{"RATELIMIT_ENABLE": "1", "RATELIMIT_GENERAL": "40/15m"}], indirect=True)
def test_both_workers_serve_one_rate_limit_budget(served: Served) -> None:
    token = _register(served, f"budget-{uuid.uuid4().hex[:8]}@example.com")
    workers = http_worker_pids(served)
    before = {pid: cpu_ticks(pid) for pid in workers}

    def me(_: int) -> int:
        return requests.get(
            f"{served.base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(me, range(100), timeout=120))
    # Per process, each worker would have let 40 through.
    assert codes.count(200) == 40 and codes.count(429) == 60, codes
    assert all(cpu_ticks(pid) > before[pid] for pid in workers), "one worker served the whole burst"


@pytest.mark.parametrize("served", [{"REALTIME_RELAY_INTERVAL_MS": "30000"}], indirect=True)
def test_an_event_committed_in_a_worker_reaches_a_socket_at_once(served: Served) -> None:
    token = _register(served, f"relay-{uuid.uuid4().hex[:8]}@example.com")
    listener = SocketIOListener(served.base, token)
    try:
        phone = f"+5511{uuid.uuid4().int % 10**8 + 9 * 10**8}"
        created = requests.post(
            f"{served.base}/api/v1/contacts",
            json={"phone": phone, "name": "Do worker"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        # The relay's own tick is 30 s: only the worker's word after the commit wakes it sooner.
        event, data = listener.wait_for(lambda e: e[0] == "contact:created", timeout=10)
        assert data["id"] == created.json()["contact"]["id"]
    finally:
        listener.close()


def test_a_dead_worker_fails_only_its_requests_and_is_replaced(served: Served) -> None:
    token = _register(served, f"crash-{uuid.uuid4().hex[:8]}@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    workers = http_worker_pids(served)
    spawner = parent_pid(workers[0])
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(requests.get, f"{served.base}/api/v1/auth/me", headers=headers, timeout=30)
        time.sleep(0.5)  # the request now waits in a stopped worker
        assert not pending.done()
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        lost = pending.result(timeout=30)
    assert lost.status_code == 502 and lost.headers["Content-Type"] == "application/json"
    assert lost.json()["code"] == "WORKER_LOST" and lost.json()["message"]

    deadline = time.monotonic() + 30
    while len(workers_of(spawner) - set(workers)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    replacements = workers_of(spawner) - set(workers)
    assert len(replacements) == 2, served.text()
    answers = [requests.get(f"{served.base}/api/v1/auth/me", headers=headers, timeout=30) for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200] * 5
    assert "HTTP worker process" in served.text() and "forking another" in served.text()
