"""``manage.py serve`` (what ``bin/serve`` runs) really starts, answers and stops everything."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

pytestmark = pytest.mark.live


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_serve_starts_http_worker_and_scheduler_and_stops_them_on_sigint(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(SQLITE_PATH=str(tmp_path / "serve.sqlite3"), PYTHONUNBUFFERED="1", RATELIMIT_ENABLE="0")
    env.update(SCHEDULE_RECLAIM_JOBS_SECONDS="0")  # this test follows the three original jobs
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "".join(output)
            assert time.monotonic() < deadline, "server did not come up:\n" + "".join(output)
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        worker_pid = int(re.search(r"background worker started \(pid (\d+)\)", "".join(output)).group(1))
        assert alive(worker_pid)

        # A real API round trip through the ASGI app on the migrated database.
        headers = {"Content-Type": "application/json", "Authorization": "Bearer stale"}
        body = {"email": "serve@example.com", "password": "s3cret-Passw0rd", "name": "Serve"}
        registered = requests.post(f"{base}/api/v1/auth/register", json=body, headers=headers, timeout=10)
        assert registered.status_code == 201, registered.text
        token = registered.json()["accessToken"]
        me = requests.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["user"]["email"] == "serve@example.com"
        assert requests.get(f"{base}/api/health/ready", timeout=10).json()["status"] == "ok"
        missing = requests.get(f"{base}/api/v1/nope/", timeout=10)
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
        docs = requests.get(f"{base}/api/v1/docs", timeout=10)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        # Offline docs: the Swagger assets come from this server (WhiteNoise), DEBUG off.
        asset = re.search(r'src="(/static/[^"]+\.js)"', docs.text).group(1)
        assert requests.get(f"{base}{asset}", timeout=10).status_code == 200

        # The scheduler thread enqueued the periodic jobs at start and the worker ran them: no cron.
        ran: dict[str, str] = {}
        jobs_deadline = time.monotonic() + 30
        while (len(ran) < 4 or set(ran.values()) != {"SUCCESSFUL"}) and time.monotonic() < jobs_deadline:
            time.sleep(0.3)
            with sqlite3.connect(tmp_path / "serve.sqlite3", timeout=20) as db:
                ran = dict(db.execute("SELECT task_path, status FROM django_tasks_database_dbtaskresult").fetchall())
        assert ran == {
            "whatshybrid.api.jobs.prune_expired": "SUCCESSFUL",
            "whatshybrid.realtime.jobs.events_prune_job": "SUCCESSFUL",
            "tasks.jobs.task_reminders_sweep_job": "SUCCESSFUL",
            "webhooks.jobs.webhook_deliver_due_job": "SUCCESSFUL",
        }, ran

        probe = [sys.executable, "-m", "whatshybrid.api.healthcheck"]
        probe_env = {**env, "PORT": str(port), "ALLOWED_HOSTS": "localhost,127.0.0.1"}
        assert subprocess.run(probe, cwd=settings.BASE_DIR, env=probe_env, timeout=30).returncode == 0

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, "".join(output)
        deadline = time.monotonic() + 15
        while alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(worker_pid), "the background worker outlived the server"
        assert (
            subprocess.run(probe, cwd=settings.BASE_DIR, env=probe_env, timeout=30, capture_output=True).returncode == 1
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
