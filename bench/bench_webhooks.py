"""Webhook delivery throughput.

The outbox holds N deliveries (one ``publish_many`` of N events to a workspace with one
webhook); ``deliveries_send_due`` claims them in batches, signs each (Standard Webhooks), POSTs
it through the SSRF-guarded client and records the attempt (log row, delivery update). The
baseline is a bare ``requests.Session`` loop POSTing the same bodies to the same 127.0.0.1
receiver (keep-alive, answering 200), in the same process and run. Target: ≥ 0.5× its throughput.

Runs in its own process (``python -m bench.bench_webhooks worker N``) against a fresh database.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.common import ROOT, Result, higher_is_better, isolated_database


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like any real receiver

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: without this, Nagle and the client's delayed
        # ACK add 40 ms to every response and both sides measure that instead.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def worker(count: int) -> None:
    import django

    django.setup()
    # The receiver is a process of its own: in this one its threads would take the GIL from
    # the sender at every blocking call, and both sides would measure that.
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_webhooks", "receiver"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}/hook"
    try:
        _measure(count, url)
    finally:
        server.kill()
        server.wait(10)


def receiver() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def _measure(count: int, url: str) -> None:
    import requests

    from accounts.models import User
    from accounts.services import workspace_create
    from webhooks.delivery import deliveries_send_due
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_create
    from whatshybrid.realtime.publisher import publish_many

    user = User.objects.create_user(email="bench@example.com", password="s3cret-Passw0rd", name="B")
    workspace = workspace_create(name="Bench", owner=user)
    webhook_create(workspace=workspace, name="bench", url=url, events=["task:created"])
    session = requests.Session()

    def ours() -> float:
        events = [("task:created", {"n": n, "text": "Olá " * 20}) for n in range(count)]
        publish_many(workspace, events)
        bodies = list(WebhookDelivery.objects.filter(status="pending").values_list("body", flat=True))
        assert len(bodies) == count
        started = time.perf_counter()
        sent = deliveries_send_due()
        elapsed = time.perf_counter() - started
        assert sent == count and not WebhookDelivery.objects.filter(status="pending").exists()
        ours.bodies = bodies  # type: ignore[attr-defined]
        return count / elapsed

    def baseline(bodies: list[str]) -> float:
        started = time.perf_counter()
        for body in bodies:
            response = session.post(url, data=body.encode(), headers={"Content-Type": "application/json"}, timeout=15)
            assert response.status_code == 200
        return len(bodies) / (time.perf_counter() - started)

    rates: dict[str, list[float]] = {"ours": [], "baseline": []}
    for _ in range(3):  # interleaved, best of each: the machine is shared and noisy
        rates["ours"].append(ours())
        rates["baseline"].append(baseline(ours.bodies))  # type: ignore[attr-defined]
    print(json.dumps({name: max(values) for name, values in rates.items()}))


def run(quick: bool) -> list[Result]:
    count = 200 if quick else 1000
    with isolated_database("webhooks") as env:
        done = subprocess.run(
            [sys.executable, "-m", "bench.bench_webhooks", "worker", str(count)],
            cwd=ROOT,
            env={**os.environ, **env, "OUTGOING_HTTP_ALLOW_NETWORKS": "127.0.0.1/32", "LOG_LEVEL": "WARNING"},
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    rates = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        higher_is_better(
            f"webhook deliveries/s ({count}, signed, logged) vs bare requests loop",
            rates["ours"],
            rates["baseline"],
            "req/s",
            0.5,
        )
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatshybrid.settings")
    sys.path.insert(0, str(ROOT))
    worker(int(sys.argv[2]))
elif __name__ == "__main__" and sys.argv[1:2] == ["receiver"]:
    receiver()
