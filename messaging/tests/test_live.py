"""Concurrent retries over HTTP against real server processes sharing one SQLite file.

The whole path as the extension drives it: 20 retries of one send hit four gunicorn worker
processes at once (a migrated temporary SQLite file of their own, whichever database the suite
runs on), and exactly one message comes out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest
import requests

from bench.common import ROOT, LiveServer, free_port

pytestmark = pytest.mark.live

SETUP = """
import json
from accounts.models import User
from accounts.services import session_start, workspace_create
from contacts.models import Contact
from messaging.services import conversation_open
user = User.objects.create_user(email="live@example.com", password="s3cret-Passw0rd", name="Live")
workspace = workspace_create(name="Live", owner=user)
contact = Contact.objects.create(workspace=workspace, name="Cliente", phone="+5511988887777")
conversation, _ = conversation_open(workspace=workspace, contact=contact)
print(json.dumps({"token": session_start(user=user, workspace=workspace).access, "conversation": str(conversation.pk)}))
"""


@pytest.fixture
def sqlite_server(tmp_path: Path):
    env = {
        **os.environ,
        "SQLITE_PATH": str(tmp_path / "live.sqlite3"),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "RATELIMIT_ENABLE": "0",
        "DJANGO_SETTINGS_MODULE": "whatshybrid.settings",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    setup = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True, text=True
    )
    seed = json.loads(setup.stdout.strip().splitlines()[-1])
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "whatshybrid.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "4",
        "--threads",
        "2",
        "--log-level",
        "warning",
    ]
    with LiveServer(env, command=command, port=port) as server:
        yield server, seed


def test_twenty_concurrent_http_retries_make_one_message(sqlite_server):
    server, seed = sqlite_server
    url = f"{server.url}/api/v1/conversations/{seed['conversation']}/messages"
    headers = {"Authorization": f"Bearer {seed['token']}", "Content-Type": "application/json"}
    body = {"content": "Pedido confirmado", "message_type": "text", "client_message_id": "retry-42"}
    barrier = Barrier(20)

    def post(_: int) -> requests.Response:
        session = requests.Session()
        barrier.wait(timeout=30)
        return session.post(url, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, range(20)))

    assert sorted(r.status_code for r in responses) == [200] * 19 + [201], [r.text[:200] for r in responses]
    assert len({r.json()["message"]["id"] for r in responses}) == 1
    listed = requests.get(url, headers=headers, timeout=30).json()
    assert [m["client_message_id"] for m in listed["messages"]] == ["retry-42"]
    conversation = requests.get(url.removesuffix("/messages"), headers=headers, timeout=30).json()["conversation"]
    assert conversation["last_message"]["id"] == responses[0].json()["message"]["id"]
