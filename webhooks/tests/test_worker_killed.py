"""A real ``kill -9`` of a real ``db_worker`` while it waits for the receiver's answer: after a
restart every delivery still arrives (the claim expires, the job is reclaimed, the sweep runs)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import ROOT
from webhooks.tests.receiver import Receiver
from whatshybrid.scheduling.tests.test_reclaim import wait_for

TASKS = 5
SETUP = """
from accounts.models import User
from accounts.services import workspace_create
from tasks.services import task_create
from webhooks.services import webhook_create
user = User.objects.create_user(email="w@example.com", password="s3cret-Passw0rd", name="W")
workspace = workspace_create(name="W", owner=user)
hook = webhook_create(workspace=workspace, name="R", url="{url}", events=["task:created"])
for i in range({tasks}):
    task_create(workspace=workspace, title=f"T{{i}}")
print(hook.secret)
"""


@pytest.mark.live
def test_deliveries_survive_a_worker_killed_mid_delivery(tmp_path: Path, receiver: Receiver) -> None:
    database = tmp_path / "worker.sqlite3"
    env = {
        **os.environ,
        "SQLITE_PATH": str(database),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "whatshybrid.settings",
        "OUTGOING_HTTP_ALLOW_NETWORKS": "127.0.0.1/32",
        "WEBHOOK_CLAIM_SECONDS": "3",
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_LEASE_SECONDS": "3",
    }
    manage = [sys.executable, "manage.py"]
    run = {"cwd": ROOT, "env": env, "check": True, "timeout": 120, "capture_output": True, "text": True}
    subprocess.run([*manage, "migrate", "-v0"], **run)
    setup = SETUP.format(url=receiver.url, tasks=TASKS)
    receiver.secrets = [subprocess.run([*manage, "shell", "-c", setup], **run).stdout.split()[-1]]
    receiver.hold_first = True
    db = sqlite3.connect(database, timeout=30)

    def statuses() -> list[str]:
        return [row[0] for row in db.execute("SELECT status FROM webhook_deliveries")]

    worker_command = [*manage, "db_worker", "--no-startup-delay", "--interval", "0.1", "-v0"]
    worker = subprocess.Popen(worker_command, cwd=ROOT, env=env)
    try:
        assert receiver.held.wait(60), "the worker never sent"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    receiver.release.set()
    assert statuses().count("pending") == TASKS  # the killed attempt recorded nothing
    time.sleep(3.5)  # the claim and the job's lease run out

    worker = subprocess.Popen(worker_command, cwd=ROOT, env=env)
    try:
        subprocess.run([*manage, "scheduler", "--once"], **run)
        wait_for(lambda: statuses() == ["succeeded"] * TASKS, seconds=90, what="every delivery to arrive")
    finally:
        worker.kill()
        worker.wait(timeout=10)
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    stored = {f"msg_{row[0]}" for row in db.execute("SELECT id FROM webhook_deliveries")}
    assert ids == {i.replace("-", "") for i in stored}
    assert all(r.verified_with == [0] for r in receiver.requests)
    db.close()
