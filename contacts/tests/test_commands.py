from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact
from contacts.tests.factories import contact_factory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_csv_prints_report_and_progress(tmp_path, workspace):
    path = tmp_path / "contacts.csv"
    path.write_text("phone,name\n+5511999990001,Ana\nbad,Bia\n+5511999990002,Caio\n", encoding="utf-8")
    out, err = run("import_contacts", str(path), "--workspace", str(workspace.pk))
    assert "row 2: phone [invalid]" in out
    assert "created 2, updated 0, skipped 0, errors 1 (of 3 rows)." in out
    assert "3/3" in err  # tqdm's bar
    assert Contact.objects.filter(workspace=workspace).count() == 2
    out, _ = run("import_contacts", str(path), "--workspace", str(workspace.pk))
    assert "created 0, updated 0, skipped 2, errors 1" in out


def test_import_dry_run_and_json(tmp_path, workspace):
    path = tmp_path / "contacts.json"
    path.write_text(json.dumps({"contacts": [{"phone": "+5511999990001"}]}), encoding="utf-8")
    out, _ = run("import_contacts", str(path), "--workspace", str(workspace.pk), "--dry-run")
    assert "Dry run: would have created 1" in out
    assert not Contact.objects.filter(workspace=workspace).exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"name\nAna\n", "no phone column"), (b"\x00\x01", "NUL")],
)
def test_import_bad_files_fail_clearly(tmp_path, workspace, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run("import_contacts", str(path), "--workspace", str(workspace.pk))


def test_unknown_workspace_and_missing_file(tmp_path, workspace):
    with pytest.raises(CommandError, match="not found"):
        run("import_contacts", str(tmp_path / "x.csv"), "--workspace", "nope")
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_contacts", str(tmp_path / "x.csv"), "--workspace", str(workspace.pk))


def test_export_csv_round_trips_through_import(tmp_path, workspace, other_workspace):
    contact_factory(workspace=workspace, name="=1+1", tags=["vip"])
    contact_factory(workspace=workspace, name="Ana")
    path = tmp_path / "out.csv"
    _, err = run("export_contacts", "--workspace", str(workspace.pk), "--format", "csv", "--output", str(path))
    assert "2/2" in err
    assert "'=1+1" in path.read_text(encoding="utf-8")
    out, _ = run("import_contacts", str(path), "--workspace", str(other_workspace.pk), "--no-progress")
    assert "created 2, updated 0, skipped 0, errors 0" in out
    assert sorted(Contact.objects.filter(workspace=other_workspace).values_list("name", flat=True)) == ["=1+1", "Ana"]


def test_export_json_to_stdout(workspace):
    contact_factory(workspace=workspace, name="Ana")
    out, _ = run("export_contacts", "--workspace", str(workspace.pk), "--format", "json", "--no-progress")
    assert [row["name"] for row in json.loads(out)["contacts"]] == ["Ana"]
