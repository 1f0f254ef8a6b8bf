"""Jobs whose worker died: a real ``kill -9`` of a real ``db_worker`` mid-import, then recovery.

Before leases the import stayed ``running`` at its last committed batch for good.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from bench.common import ROOT
from contacts.models import ContactImport
from contacts.services import contact_import_start
from whatshybrid.scheduling.leases import jobs_reclaim

ROWS = 20_000
SETUP = f"""
from accounts.models import User
from accounts.services import workspace_create
from contacts.services import contact_import_start
user = User.objects.create_user(email="w@example.com", password="s3cret-Passw0rd", name="W")
workspace = workspace_create(name="W", owner=user)
rows = [{{"phone": f"+55119{{i:08d}}", "name": f"Cliente {{i}}"}} for i in range({ROWS})]
print(contact_import_start(workspace=workspace, rows=rows).pk)
"""


def wait_for(probe: Callable[[], object], *, seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


@pytest.mark.live
def test_an_import_whose_worker_was_killed_resumes_and_finishes(tmp_path: Path) -> None:
    database = tmp_path / "worker.sqlite3"
    env = {
        **os.environ,
        "SQLITE_PATH": str(database),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "whatshybrid.settings",
        "CONTACTS_IMPORT_BATCH_SIZE": "250",
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_LEASE_SECONDS": "3",
    }
    manage = [sys.executable, "manage.py"]
    run = {"cwd": ROOT, "env": env, "check": True, "timeout": 120, "capture_output": True, "text": True}
    subprocess.run([*manage, "migrate", "-v0"], **run)
    import_id = subprocess.run([*manage, "shell", "-c", SETUP], **run).stdout.split()[-1].replace("-", "")
    db = sqlite3.connect(database, timeout=30)

    def progress() -> tuple[str, int]:
        return db.execute(
            "SELECT status, processed_rows FROM contacts_contactimport WHERE id = ?", [import_id]
        ).fetchone()

    worker_command = [*manage, "db_worker", "--no-startup-delay", "--interval", "0.1", "-v0"]
    worker = subprocess.Popen(worker_command, cwd=ROOT, env=env)
    try:
        wait_for(lambda: 0 < progress()[1] < ROWS // 2, seconds=90, what="the import to start")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    status, stopped_at = progress()
    assert status == "running" and stopped_at < ROWS
    time.sleep(3.5)  # the lease expires: nobody renews it

    # What happens on a restart: a new worker, and the scheduler enqueueing the reclaim.
    def job_result() -> tuple[str, str]:
        return db.execute(
            "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path LIKE 'contacts.%'"
        ).fetchone()

    worker = subprocess.Popen(worker_command, cwd=ROOT, env=env)
    try:
        subprocess.run([*manage, "scheduler", "--once"], **run)
        wait_for(lambda: progress()[0] == "succeeded", seconds=120, what="the import to finish")
        # The worker records the job's result only after the import's own row says it is done.
        wait_for(lambda: job_result()[0] == "SUCCESSFUL", seconds=30, what="the job's result")
    finally:
        worker.kill()
        worker.wait(timeout=10)
    status, processed = progress()
    created, errors = db.execute(
        "SELECT created_count, errors FROM contacts_contactimport WHERE id = ?", [import_id]
    ).fetchone()
    assert (processed, created, json.loads(errors)) == (ROWS, ROWS, [])
    assert db.execute("SELECT count(*) FROM contacts_contact").fetchone()[0] == ROWS
    result_status, worker_ids = job_result()
    assert result_status == "SUCCESSFUL" and len(json.loads(worker_ids)) == 2
    db.close()


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_workers_keep_dying_fails_visibly(workspace, django_capture_on_commit_callbacks) -> None:
    job = contact_import_start(workspace=workspace, rows=[{"phone": "+5511988887777"}])
    result = DBTaskResult.objects.get(task_path="contacts.jobs.contact_import_job")
    long_ago = timezone.now() - timedelta(hours=1)
    DBTaskResult.objects.filter(pk=result.pk).update(
        status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["a", "b", "c"]
    )
    ContactImport.objects.filter(pk=job.pk).update(status=ContactImport.Status.RUNNING)

    assert jobs_reclaim() == {"requeued": 0, "failed": 1}
    result.refresh_from_db()
    job.refresh_from_db()
    assert result.status == TaskResultStatus.FAILED and result.exception_class_path.endswith("WorkerLost")
    assert job.status == ContactImport.Status.FAILED and "job failed" in job.message
    assert jobs_reclaim() == {"requeued": 0, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_a_job_with_a_fresh_lease_or_a_recent_start_is_left_alone(workspace) -> None:
    contact_import_start(workspace=workspace, rows=[{"phone": "+5511988887777"}])
    result = DBTaskResult.objects.get(task_path="contacts.jobs.contact_import_job")
    DBTaskResult.objects.filter(pk=result.pk).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now(), worker_ids=["a"]
    )
    assert jobs_reclaim() == {"requeued": 0, "failed": 0}
    assert jobs_reclaim(now=timezone.now() + timedelta(minutes=5)) == {"requeued": 1, "failed": 0}
    result.refresh_from_db()
    assert result.status == TaskResultStatus.READY
