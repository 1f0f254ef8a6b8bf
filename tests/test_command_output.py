"""Management commands as a shell uses them: progress bars redraw one line, a closed pipe ends an
export quietly, and a UTF-16 CSV (Excel's "Unicode text") imports or says what it is."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from bench.common import ROOT
from contacts.models import Contact

pytestmark = pytest.mark.django_db


def test_the_progress_bar_redraws_in_place(workspace, tmp_path: Path):
    source = tmp_path / "contacts.csv"
    source.write_text("phone,name\n" + "".join(f"+55119{i:08d},C{i}\n" for i in range(300)), encoding="utf-8")
    err = io.StringIO()
    call_command("import_contacts", str(source), workspace=str(workspace.pk), stdout=io.StringIO(), stderr=err)
    # tqdm redraws with "\r"; Django's OutputWrapper used to end every redraw with a newline.
    assert "\r" in err.getvalue() and err.getvalue().count("\n") <= 2, err.getvalue()[:300]


def import_file(api_client, content: bytes):
    upload = SimpleUploadedFile("contacts.csv", content, content_type="text/csv")
    return api_client.post("/api/v1/contacts/import", {"file": upload}, format="multipart")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_csv_with_its_byte_order_mark_imports(api_client, workspace, encoding):
    text = "phone\tname\n+5511999990001\tJoão\n"
    data = text.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + text.encode(encoding)
    response = import_file(api_client, data)
    assert response.status_code == 200, response.content[:300]
    assert Contact.objects.get(workspace=workspace).name == "João"


def test_a_utf16_csv_without_byte_order_mark_is_named(api_client):
    response = import_file(api_client, "phone,name\n+5511999990001,Ana\n".encode("utf-16-le"))
    assert response.status_code == 400
    assert "UTF-16" in response.json()["message"] and "UTF-8" in response.json()["message"]


@pytest.mark.live
def test_an_export_into_a_closed_pipe_ends_quietly(tmp_path: Path):
    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "pipe.sqlite3"), "DATABASE_URL": "", "REDIS_URL": ""}
    manage = [sys.executable, "manage.py"]
    run = {"cwd": ROOT, "env": env, "check": True, "timeout": 120, "capture_output": True, "text": True}
    subprocess.run([*manage, "migrate", "-v0"], **run)
    seed = (
        "from accounts.models import User; from accounts.services import workspace_create;"
        "from contacts.models import Contact;"
        "w = workspace_create(name='P', owner=User.objects.create_user(email='p@example.com', password='x'));"
        "Contact.objects.bulk_create([Contact(workspace=w, phone=f'+55119{i:08d}') for i in range(20000)]);"
        "print(w.pk)"
    )
    workspace_id = subprocess.run([*manage, "shell", "-c", seed], **run).stdout.split()[-1]
    export = subprocess.Popen(
        [*manage, "export_contacts", "--workspace", workspace_id, "--no-progress"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout.read(200)  # like `| head -c 200`: read a little, then close the pipe
    export.stdout.close()
    _, errors = export.communicate(timeout=60)
    assert b"Traceback" not in errors and b"BrokenPipe" not in errors, errors.decode()[-500:]
    assert export.returncode in (0, 1)
