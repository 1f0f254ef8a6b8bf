from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts import services
from contacts.importing import contact_import_rows
from contacts.models import Contact, ContactImport
from contacts.tests.factories import contact_factory
from whatshybrid.api.testing import assert_json_error
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

IMPORT_URL = "/api/v1/contacts/import"


def post_csv(client: Any, content: bytes, **options: Any) -> Any:
    upload = SimpleUploadedFile("contacts.csv", content, content_type="text/csv")
    return client.post(IMPORT_URL, {"file": upload, **options}, format="multipart")


def results_of(response: Any, rows: int) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert results["created"] + results["updated"] + results["skipped"] + len(results["errors"]) == rows
    return results


def phones(workspace: Any) -> set[str]:
    return set(Contact.objects.filter(workspace=workspace).values_list("phone", flat=True))


def test_json_import_reports_every_row(api_client, workspace):
    contact_factory(workspace=workspace, phone="+5511999990001", name="Old")
    rows = [
        {"phone": "5511999990001@c.us", "name": "Ana"},  # exists → skipped
        {"phone": "(11) 99999-0002", "name": "Bia", "email": "BIA@X.COM", "tags": "a; b"},
        {"phone": "11 9999-0002", "name": "Bia again"},  # same identity as the row above
        {"phone": "nope"},
        {"name": "no phone"},
        {"phone": "+5511999990003", "email": "bad"},
        {"phone": "+5511999990004", "notes": "x" * 10_000},
        {"phone": ["+5511999990006"]},
        {"phone": "+5511999990005", "city": "Recife"},
    ]
    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows, "update_existing": False}), len(rows))
    assert (results["created"], results["updated"], results["skipped"]) == (2, 0, 1)
    assert [(e["row"], e["field"], e["code"]) for e in results["errors"]] == [
        (3, "phone", "duplicate_in_file"),
        (4, "phone", "invalid"),
        (5, "phone", "required"),
        (6, "email", "invalid"),
        (7, "notes", "max_length"),
        (8, "phone", "invalid"),
    ]
    assert all(e["message"] for e in results["errors"])
    bia = Contact.objects.get(workspace=workspace, phone="+5511999990002")
    assert (bia.email, bia.tags, bia.source) == ("bia@x.com", ["a", "b"], "import")
    assert Contact.objects.get(workspace=workspace, phone="+5511999990005").custom_fields == {"city": "Recife"}
    assert Contact.objects.get(workspace=workspace, phone="+5511999990001").name == "Old"


def test_rerun_creates_no_duplicates_and_update_existing_updates(api_client, workspace):
    rows = [{"phone": f"+55119999900{i:02d}", "name": f"N{i}"} for i in range(10)]
    assert results_of(api_client.post(IMPORT_URL, {"contacts": rows}), 10)["created"] == 10
    again = results_of(api_client.post(IMPORT_URL, {"contacts": rows}), 10)
    assert (again["created"], again["skipped"]) == (0, 10)
    rows[0]["name"] = "Changed"
    updated = results_of(api_client.post(IMPORT_URL, {"contacts": rows, "update_existing": True}), 10)
    assert (updated["created"], updated["updated"], updated["skipped"]) == (0, 1, 9)
    assert Contact.objects.get(workspace=workspace, phone="+5511999990000").name == "Changed"
    assert Contact.objects.filter(workspace=workspace).count() == 10


def test_dry_run_writes_nothing(api_client, workspace):
    rows = [{"phone": "+5511999990001"}, {"phone": "bad"}]
    response = api_client.post(IMPORT_URL, {"contacts": rows, "dry_run": True})
    results = results_of(response, 2)
    assert (results["created"], len(results["errors"])) == (1, 1)
    assert "Checked" in response.json()["message"]
    assert not Contact.objects.filter(workspace=workspace).exists()
    assert not Event.objects.filter(workspace=workspace).exists()


def test_dedupe_never_matches_another_workspace(api_client, workspace, other_workspace):
    theirs = contact_factory(workspace=other_workspace, phone="+5511999990001", name="Theirs")
    results = results_of(
        api_client.post(
            IMPORT_URL, {"contacts": [{"phone": "+5511999990001", "name": "Mine"}], "update_existing": True}
        ),
        1,
    )
    assert results["created"] == 1
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_import_publishes_one_event_per_batch(api_client, workspace, settings):
    settings.CONTACTS_IMPORT_BATCH_SIZE = 3
    rows = [{"phone": f"+55119999900{i:02d}"} for i in range(7)]
    results_of(api_client.post(IMPORT_URL, {"contacts": rows}), 7)
    payloads = list(
        Event.objects.filter(workspace=workspace, name="contacts:imported").values_list("payload", flat=True)
    )
    assert [p["created"] for p in payloads] == [3, 3, 1]
    assert all(p["since"] and p["import_id"] is None for p in payloads)
    assert not Event.objects.filter(workspace=workspace, name="contact:created").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"contacts": "x"},
        {"contacts": [{}], "dry_run": "maybe"},
        {},
        {"contacts": [], "extra": 1},
        {"contacts": [{"phone": "+5511999990001"}, "not an object"]},
        {"contacts": ["00000000-0000-0000-0000-000000000000"]},
    ],
)
def test_bad_import_body_is_400(api_client, body):
    assert_json_error(api_client.post(IMPORT_URL, body), 400)


# --- CSV -------------------------------------------------------------------------------------
def test_csv_utf8_with_bom_and_semicolons(api_client, workspace):
    content = "\ufeffNome;Telefone;Email;Tags\nJoão;(11) 99999-0001;j@x.com;vip,lead\n".encode()
    assert results_of(post_csv(api_client, content), 1)["created"] == 1
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.name, contact.phone, contact.tags) == ("João", "+5511999990001", ["vip", "lead"])


def test_csv_latin1(api_client, workspace):
    content = "name,phone\nConceição,+5511999990001\n".encode("latin-1")
    assert results_of(post_csv(api_client, content), 1)["created"] == 1
    assert Contact.objects.get(workspace=workspace).name == "Conceição"


@pytest.mark.parametrize(
    ("content", "code", "status"),
    [
        (b"name,email\nAna,a@x.com\n", "MISSING_PHONE_COLUMN", 400),
        (b"", "VALIDATION_ERROR", 400),
        (b"\n\nphone\n", "EMPTY_FILE", 400),
        (b"phone,name\n+5511999990001,\x00\x01\x02\n", "MALFORMED_CSV", 400),
        (b'phone,name\n+5511999990001,"Ana\n', "MALFORMED_CSV", 400),
        (b'phone,name\n+5511999990001,"An"a\n', "MALFORMED_CSV", 400),
    ],
)
def test_malformed_csv_is_a_clear_request_error(api_client, workspace, content, code, status):
    assert_json_error(post_csv(api_client, content), status, code)
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_csv_over_the_size_limit_is_413(api_client, workspace, settings):
    settings.IMPORT_MAX_BYTES = 1000
    content = b"phone,notes\n" + b"".join(f"+55119999{i:05d},{'x' * 40}\n".encode() for i in range(40))
    assert len(content) > 1000
    assert_json_error(post_csv(api_client, content), 413)
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_csv_row_errors_formulas_long_fields_and_extra_cells(api_client, workspace):
    content = (
        "phone,name,notes\n"
        '+5511999990001,=HYPERLINK("http://evil"),ok\n'
        "+5511999990002,'=literal,fine\n"
        f"+5511999990003,Ana,{'y' * 10_000}\n"
        "+5511999990004,Bia,ok,extra\n"
        "+5511999990005,-2+3 apples,+55 is a phone prefix\n"
    ).encode()
    results = results_of(post_csv(api_client, content), 5)
    assert [(e["row"], e["field"], e["code"]) for e in results["errors"]] == [
        (1, "name", "formula"),
        (3, "notes", "max_length"),
        (4, "", "too_many_columns"),
    ]
    assert phones(workspace) == {"+5511999990002", "+5511999990005"}
    assert Contact.objects.get(phone="+5511999990002").name == "=literal"


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return stream.getvalue().encode()


@pytest.fixture
def default_csv_field_limit():
    """The csv module's own limit (131,072 characters), whatever an earlier import raised it to."""
    previous = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(previous)


LONG = "x" * 10_000
LONG_ROWS = [
    ({"phone": "+5511999990001", "name": LONG}, "name", "max_length"),
    ({"phone": "+5511999990002", "email": f"{LONG}@example.com"}, "email", "max_length"),
    ({"phone": "+5511999990003", "company": LONG}, "company", "max_length"),
    ({"phone": "+5511999990004", "notes": LONG}, "notes", "max_length"),
    ({"phone": "+5511999990005", "source": LONG}, "source", "max_length"),
    ({"phone": "+5511999990006", "tags": LONG}, "tags", "max_length"),
    ({"phone": "+5511999990007", "tags": ";".join(f"t{i}" for i in range(2_000))}, "tags", "max_length"),
    ({"phone": "+5511999990008", "labels": LONG}, "labels", "max_length"),
    ({"phone": "+5511999990009", "city": LONG}, "city", "max_length"),
    ({"phone": "+5511999990010", "custom_fields": json.dumps({"bio": LONG})}, "custom_fields", "max_length"),
    ({"phone": "+55119" + "9" * 10_000}, "phone", "invalid"),
]


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_10k_character_fields_are_row_errors_naming_the_field(api_client, workspace, kind):
    rows = [row for row, _, _ in LONG_ROWS] + [{"phone": "+5511999990099", "name": "Ok"}]
    body = {"contacts": rows}
    response = api_client.post(IMPORT_URL, body) if kind == "json" else post_csv(api_client, as_csv(rows))
    results = results_of(response, len(rows))
    expected = [(number, field, code) for number, (_, field, code) in enumerate(LONG_ROWS, start=1)]
    assert [(e["row"], e["field"], e["code"]) for e in results["errors"]] == expected
    assert all(e["message"] for e in results["errors"])
    assert phones(workspace) == {"+5511999990099"}


def test_csv_cells_over_the_csv_modules_field_limit_are_row_errors(api_client, workspace, default_csv_field_limit):
    huge = "y" * 200_000
    rows = [
        {"phone": "+5511999990001", "notes": huge},
        {"phone": huge},
        {"phone": "+5511999990003", "bio": huge},
        {"phone": "+5511999990004", "tags": ";".join(f"t{i}" for i in range(60_000))},
        {"phone": "+5511999990005", "notes": "fine"},
    ]
    results = results_of(post_csv(api_client, as_csv(rows)), 5)
    assert [(e["row"], e["field"], e["code"]) for e in results["errors"]] == [
        (1, "notes", "max_length"),
        (2, "phone", "invalid"),
        (3, "bio", "max_length"),
        (4, "tags", "max_length"),
    ]
    assert phones(workspace) == {"+5511999990005"}


def test_csv_over_10_mb_is_413_at_the_default_limit(api_client, workspace, settings, tmp_path):
    from django.core.management import CommandError, call_command

    assert settings.IMPORT_MAX_BYTES == 10 * 1024 * 1024
    line = b"+5511999990001,Ana\n"
    content = b"phone,name\n" + line * (settings.IMPORT_MAX_BYTES // len(line) + 1)
    assert_json_error(post_csv(api_client, content), 413)
    path = tmp_path / "big.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="larger than"):
        call_command("import_contacts", str(path), "--workspace", str(workspace.pk), stdout=io.StringIO())
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_malformed_csv_after_good_rows_writes_nothing(api_client, workspace, settings):
    settings.CONTACTS_IMPORT_BATCH_SIZE = 10
    good = "".join(f"+55119999{i:05d},Ana\n" for i in range(50))
    body = assert_json_error(post_csv(api_client, f'phone,name\n{good}+5511999990999,"Bia\n'.encode()), 400)
    assert body["code"] == "MALFORMED_CSV" and "file" in body["errors"]
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_csv_latin1_semicolons_and_accented_header(api_client, workspace):
    content = "Nome;Número;Observações\nJosé Ação;(11) 99999-0001;à vista\n".encode("latin-1")
    assert results_of(post_csv(api_client, content), 1)["created"] == 1
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.name, contact.phone, contact.custom_fields) == (
        "José Ação",
        "+5511999990001",
        {"observações": "à vista"},
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("name", "@SUM(A1:A9)"),
        ("company", "+cmd|' /C calc'!A0"),
        ("notes", "-1+cmd|' /C notepad'!A0"),
        ("email", "=1+1"),
        ("tags", "=IMPORTXML(1)"),
        ("labels", "=HYPERLINK(1)"),
        ("city", "\t=1+1"),
    ],
)
def test_formula_cells_are_row_errors_in_every_column(api_client, workspace, column, value):
    rows = [{"phone": "+5511999990001", column: value}, {"phone": "+5511999990002", column: ""}]
    results = results_of(post_csv(api_client, as_csv(rows)), 2)
    assert [(e["row"], e["field"], e["code"]) for e in results["errors"]] == [(1, column, "formula")]
    assert phones(workspace) == {"+5511999990002"}


# --- background imports ------------------------------------------------------------------------
def test_large_import_runs_as_a_job_with_status(
    api_client, other_client, workspace, settings, django_capture_on_commit_callbacks
):
    settings.CONTACTS_IMPORT_ASYNC_ROWS = 3
    settings.CONTACTS_IMPORT_BATCH_SIZE = 2
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    rows = [{"phone": f"+55119999900{i:02d}"} for i in range(5)] + [{"phone": "bad"}]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(IMPORT_URL, {"contacts": rows})
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    status = api_client.get(f"{IMPORT_URL}/{job_id}")
    assert status.status_code == 200
    job = status.json()["job"]
    assert (job["status"], job["processed_rows"], job["total_rows"], job["progress"]) == ("succeeded", 6, 6, 1.0)
    assert status.json()["results"]["created"] == 5
    assert [e["row"] for e in status.json()["results"]["errors"]] == [6]
    assert len(phones(workspace)) == 5
    assert_json_error(other_client.get(f"{IMPORT_URL}/{job_id}"), 404)
    assert_json_error(api_client.get(f"{IMPORT_URL}/00000000-0000-0000-0000-000000000000"), 404)
    assert ContactImport.objects.get(pk=job_id).rows == []
    payloads = Event.objects.filter(workspace=workspace, name="contacts:imported").values_list("payload", flat=True)
    assert [(p["import_id"], p["created"]) for p in payloads] == [(job_id, 2), (job_id, 2), (job_id, 1)]


class Interrupted(Exception):
    pass


def test_interrupted_job_keeps_committed_batches_and_resumes(workspace, settings):
    settings.CONTACTS_IMPORT_BATCH_SIZE = 2
    rows = [{"phone": f"+55119999900{i:02d}"} for i in range(5)]
    job = ContactImport.objects.create(workspace=workspace, rows=rows, total_rows=5)

    def stop_after_first_batch(done: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        contact_import_rows(workspace=workspace, rows=rows, job=job, on_progress=stop_after_first_batch)
    job.refresh_from_db()
    assert (job.processed_rows, job.created_count) == (2, 2)
    assert len(phones(workspace)) == 2

    job = services.contact_import_run(job=job)
    assert (job.status, job.processed_rows, job.created_count, job.skipped_count) == ("succeeded", 5, 5, 0)
    assert len(phones(workspace)) == 5
    # Running a finished job again changes nothing (idempotent).
    assert services.contact_import_run(job=job).created_count == 5


# --- export round trip -------------------------------------------------------------------------
def test_csv_export_neutralizes_formulas_and_round_trips(
    api_client, client_for, workspace, other_workspace, other_user
):
    from contacts.exporting import contact_export_rows, write_csv

    contact_factory(
        workspace=workspace,
        phone="+5511999990001",
        name="=cmd|' /C calc'!A0",
        notes="@SUM(1)",
        tags=["a,b", "c"],
        custom_fields={"city": "Recife"},
        opted_out=True,
    )
    contact_factory(workspace=workspace, phone="+14155552671", name="Plain", email="p@x.com")
    stream = io.StringIO()
    for _ in write_csv(contact_export_rows(workspace=workspace), stream):
        pass
    text = stream.getvalue()
    assert "'=cmd" in text and "'@SUM(1)" in text and "'+5511999990001" in text
    other = client_for(other_user, other_workspace)
    results = results_of(post_csv(other, text.encode()), 2)
    assert results["created"] == 2
    fields = ("phone", "name", "email", "notes", "tags", "custom_fields", "opted_out")
    original = sorted(Contact.objects.filter(workspace=workspace).values_list(*fields))
    copied = sorted(Contact.objects.filter(workspace=other_workspace).values_list(*fields))
    assert copied == original


def test_json_export_is_an_import_body(workspace, other_workspace):
    from contacts.exporting import contact_export_rows, write_json

    contact_factory(workspace=workspace, name="Ana", tags=["x"])
    stream = io.StringIO()
    for _ in write_json(contact_export_rows(workspace=workspace), stream):
        pass
    body = json.loads(stream.getvalue())
    report = contact_import_rows(workspace=other_workspace, rows=body["contacts"])
    assert report.created == 1 and not report.errors


def test_numeric_phones_in_json_are_read_as_digits(api_client, workspace):
    results = results_of(api_client.post(IMPORT_URL, {"contacts": [{"phone": 5511999990001}, {"phone": True}]}), 2)
    assert results["created"] == 1
    assert [(e["row"], e["code"]) for e in results["errors"]] == [(2, "invalid")]
    assert phones(workspace) == {"+5511999990001"}


def test_control_characters_are_row_errors_even_in_a_stored_job(workspace, settings):
    rows = [
        {"phone": "+5511999990001\x00"},
        {"phone": "+5511999990002", "name": "A\x00"},
        {"phone": "+5511999990003", "bad\x00key": "x"},
        {"phone": "+5511999990004", "tags": ["t\x00"]},
    ]
    job = ContactImport.objects.create(workspace=workspace, rows=rows, total_rows=len(rows))
    job = services.contact_import_run(job=job)
    assert job.status == "succeeded"
    assert [(e["row"], e["code"]) for e in job.errors] == [
        (1, "invalid"),
        (2, "invalid"),
        (3, "invalid"),
        (4, "invalid"),
    ]
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_json_import_updates_existing_phones_by_default_and_blanks_never_erase(api_client, workspace):
    """The extension's import expects an existing phone's name and email updated, as the original did."""
    contact_factory(workspace=workspace, phone="+5511999990001", name="Old", email="old@x.com", company="Loja")
    rows = [{"phone": "5511999990001", "name": "New", "email": ""}, {"phone": "5511999990002", "name": "Bia"}]
    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows}), 2)
    assert (results["created"], results["updated"], results["skipped"]) == (1, 1, 0)
    ana = Contact.objects.get(workspace=workspace, phone="+5511999990001")
    assert (ana.name, ana.email, ana.company) == ("New", "old@x.com", "Loja")
    again = results_of(api_client.post(IMPORT_URL, {"contacts": rows}), 2)
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 2)
    kept = results_of(
        api_client.post(IMPORT_URL, {"contacts": [{"phone": "5511999990001", "name": "X"}], "update_existing": False}),
        1,
    )
    assert kept["skipped"] == 1
    assert Contact.objects.get(workspace=workspace, phone="+5511999990001").name == "New"
