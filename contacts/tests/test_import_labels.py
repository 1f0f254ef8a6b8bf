"""Labels in contact import/export and in the create/update API."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.exporting import contact_export_rows, write_csv, write_json
from contacts.importing import contact_import_rows
from contacts.models import Contact, ContactImport
from contacts.tests.factories import contact_factory
from contacts.tests.test_import import IMPORT_URL, post_csv, results_of
from crm.models import Label
from whatshybrid.api.testing import assert_json_error
from whatshybrid.realtime.publisher import publish

pytestmark = pytest.mark.django_db


def label_names(workspace: Any, phone: str) -> list[str]:
    contact = Contact.objects.get(workspace=workspace, phone=phone)
    return sorted(contact.labels.values_list("name", flat=True))


def codes(results: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(e["row"], e["field"], e["code"]) for e in results["errors"]]


@pytest.fixture
def hot(workspace):
    return Label.objects.create(workspace=workspace, name="Hot")


@pytest.fixture
def vip(workspace):
    # New workspaces start with a few labels (VIP among them); "Hot" is not one of them.
    return Label.objects.get_or_create(workspace=workspace, name="VIP")[0]


def all_labels(workspace: Any) -> set[str]:
    return set(Label.objects.filter(workspace=workspace).values_list("name", flat=True))


def test_json_labels_match_names_in_any_case_within_the_workspace(api_client, workspace, other_workspace, hot, vip):
    Label.objects.create(workspace=other_workspace, name="Cold")
    before = all_labels(workspace), all_labels(other_workspace)
    rows = [
        {"phone": "+5511999990001", "labels": ["hot", "Vip", "HOT"]},
        {"phone": "+5511999990002", "labels": "vip; hot"},
        {"phone": "+5511999990003", "labels": ["Cold"]},  # only another workspace has it
        {"phone": "+5511999990004", "labels": [{"id": "ignored", "name": "Hot", "color": "#000000"}]},
        {"phone": "+5511999990005", "labels": []},
    ]
    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows}), len(rows))
    assert results["created"] == 4
    assert codes(results) == [(3, "labels", "unknown_label")]
    assert "'Cold'" in results["errors"][0]["message"]
    assert label_names(workspace, "+5511999990001") == ["Hot", "VIP"]
    assert label_names(workspace, "+5511999990002") == ["Hot", "VIP"]
    assert label_names(workspace, "+5511999990004") == ["Hot"]
    assert label_names(workspace, "+5511999990005") == []
    assert (all_labels(workspace), all_labels(other_workspace)) == before


def test_non_ascii_label_names_match(api_client, workspace):
    # SQLite's lower() folds ASCII only: the exact spelling must still match there.
    Label.objects.create(workspace=workspace, name="Équipe Ação")
    rows = [
        {"phone": "+5511999990001", "labels": ["Équipe Ação"]},
        {"phone": "+5511999990002", "labels": ["équipe AÇÃO"]},
    ]
    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows}), 2)
    assert label_names(workspace, "+5511999990001") == ["Équipe Ação"]
    if connection.vendor == "postgresql":
        assert (results["created"], results["errors"]) == (2, [])
        assert label_names(workspace, "+5511999990002") == ["Équipe Ação"]


def test_csv_labels_column_uses_the_tags_separators(api_client, workspace, hot, vip):
    content = (
        b"telefone;etiquetas;tags\n"
        b"+5511999990001;hot, vip;a, b\n"
        b'+5511999990002;"[""VIP""]";\n'
        b"+5511999990003;Hot, Missing;\n"
    )
    results = results_of(post_csv(api_client, content), 3)
    assert results["created"] == 2
    assert codes(results) == [(3, "labels", "unknown_label")]
    assert "'Missing'" in results["errors"][0]["message"] and "'Hot'" not in results["errors"][0]["message"]
    assert label_names(workspace, "+5511999990001") == ["Hot", "VIP"]
    assert label_names(workspace, "+5511999990002") == ["VIP"]


@pytest.mark.parametrize(
    ("labels", "code"),
    [
        (["x" * 61], "max_length"),
        ([f"L{i}" for i in range(101)], "max_length"),
        (["a\x00"], "invalid"),
        ([1], "invalid"),
        ({"name": "Hot"}, "invalid"),
        ("=HYPERLINK(1)", "formula"),
        ("[not json", "invalid"),
    ],
)
def test_bad_label_values_are_row_errors(api_client, workspace, hot, labels, code):
    rows = [{"phone": "+5511999990001", "labels": labels}, {"phone": "+5511999990002", "labels": ["hot"]}]
    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows}), 2)
    assert codes(results) == [(1, "labels", code)]
    assert results["created"] == 1


def test_create_labels_option_creates_missing_ones_once(api_client, workspace, other_workspace, hot):
    Label.objects.create(workspace=other_workspace, name="Lead")
    before = all_labels(workspace), all_labels(other_workspace)
    rows = [
        {"phone": "+5511999990001", "labels": ["Lead", "hot"]},
        {"phone": "+5511999990002", "labels": ["LEAD", "Evento 2026"]},
    ]
    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows, "create_labels": True}), 2)
    assert (results["created"], results["errors"]) == (2, [])
    # Spelled as the first row wrote them.
    assert (all_labels(workspace), all_labels(other_workspace)) == (before[0] | {"Lead", "Evento 2026"}, before[1])
    assert label_names(workspace, "+5511999990002") == ["Evento 2026", "Lead"]


def test_dry_run_with_create_labels_writes_no_label(api_client, workspace, hot):
    before = all_labels(workspace)
    contact_factory(workspace=workspace, phone="+5511999990001", labels=[hot])
    rows = [{"phone": "+5511999990001", "labels": ["hot", "New"]}, {"phone": "+5511999990002", "labels": ["New"]}]
    body = {"contacts": rows, "dry_run": True, "create_labels": True, "update_existing": True}
    results = results_of(api_client.post(IMPORT_URL, body), 2)
    assert (results["created"], results["updated"], results["errors"]) == (1, 1, [])
    assert all_labels(workspace) == before
    assert label_names(workspace, "+5511999990001") == ["Hot"]
    # Without create_labels the dry run reports the rows a real run would refuse.
    body["create_labels"] = False
    results = results_of(api_client.post(IMPORT_URL, body), 2)
    assert codes(results) == [(1, "labels", "unknown_label"), (2, "labels", "unknown_label")]


def test_update_existing_replaces_labels_and_a_missing_key_keeps_them(api_client, workspace, hot, vip):
    contact_factory(workspace=workspace, phone="+5511999990001", labels=[hot])
    contact_factory(workspace=workspace, phone="+5511999990002", labels=[hot])
    contact_factory(workspace=workspace, phone="+5511999990003", labels=[hot, vip])
    contact_factory(workspace=workspace, phone="+5511999990004", labels=[hot], name="Same")
    rows = [
        {"phone": "+5511999990001", "labels": ["vip"]},
        {"phone": "+5511999990002", "labels": []},
        {"phone": "+5511999990003", "labels": ["VIP", "hot"]},  # the same set: nothing to do
        {"phone": "+5511999990004", "name": "Changed"},
    ]
    skipped = results_of(api_client.post(IMPORT_URL, {"contacts": rows, "update_existing": False}), 4)
    assert (skipped["updated"], skipped["skipped"]) == (0, 4)
    assert label_names(workspace, "+5511999990001") == ["Hot"]

    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows, "update_existing": True}), 4)
    assert (results["updated"], results["skipped"]) == (3, 1)
    assert label_names(workspace, "+5511999990001") == ["VIP"]
    assert label_names(workspace, "+5511999990002") == []
    assert label_names(workspace, "+5511999990003") == ["Hot", "VIP"]
    assert label_names(workspace, "+5511999990004") == ["Hot"]
    assert Contact.objects.get(workspace=workspace, phone="+5511999990004").name == "Changed"


def test_a_label_change_alone_bumps_updated_at_for_resync(api_client, workspace, hot):
    contact = contact_factory(workspace=workspace, phone="+5511999990001")
    before = contact.updated_at
    rows = [{"phone": "+5511999990001", "labels": ["Hot"]}]
    results = results_of(api_client.post(IMPORT_URL, {"contacts": rows, "update_existing": True}), 1)
    assert results["updated"] == 1
    contact.refresh_from_db()
    assert contact.updated_at > before


def test_label_linking_queries_do_not_grow_with_rows(workspace, hot, vip):
    def queries(count: int, offset: int) -> int:
        rows = [{"phone": f"+551199{offset + i:07d}", "labels": ["hot", "vip"]} for i in range(count)]
        with CaptureQueriesContext(connection) as ctx:
            report = contact_import_rows(workspace=workspace, rows=rows, update_existing=True)
        assert report.created == count and not report.errors
        updates = [{**row, "labels": ["vip"]} for row in rows]
        with CaptureQueriesContext(connection) as update_ctx:
            report = contact_import_rows(workspace=workspace, rows=updates, update_existing=True)
        assert report.updated == count
        return len(ctx.captured_queries) + len(update_ctx.captured_queries)

    # A workspace's first event creates its counter row (once per workspace, not per row).
    publish(workspace, "contacts:imported", {})
    assert queries(3, 0) == queries(60, 1000)
    assert Contact.labels.through.objects.filter(label=vip).count() == 63
    assert not Contact.labels.through.objects.filter(label=hot).exists()


def test_background_job_keeps_the_create_labels_option(
    api_client, workspace, settings, django_capture_on_commit_callbacks
):
    settings.CONTACTS_IMPORT_ASYNC_ROWS = 1
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    rows = [{"phone": "+5511999990001", "labels": ["New"]}, {"phone": "+5511999990002", "labels": ["new"]}]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(IMPORT_URL, {"contacts": rows, "create_labels": True})
    assert response.status_code == 202, response.content
    job = ContactImport.objects.get(pk=response.json()["job_id"])
    assert (job.status, job.create_labels, job.created_count, job.errors) == ("succeeded", True, 2, [])
    assert label_names(workspace, "+5511999990002") == ["New"]


def test_csv_export_carries_labels_and_round_trips(api_client, client_for, workspace, other_workspace, other_user):
    odd = Label.objects.create(workspace=workspace, name="=odd, name")
    hot = Label.objects.create(workspace=workspace, name="Hot")
    contact_factory(workspace=workspace, phone="+5511999990001", labels=[hot, odd])
    contact_factory(workspace=workspace, phone="+5511999990002", labels=[hot])
    contact_factory(workspace=workspace, phone="+5511999990003")
    stream = io.StringIO()
    for _ in write_csv(contact_export_rows(workspace=workspace), stream):
        pass
    text = stream.getvalue()
    assert text.splitlines()[0].split(",")[6] == "labels"

    # Into the same workspace, after the labels were taken off: update_existing puts them back.
    Contact.labels.through.objects.all().delete()
    results = results_of(post_csv(api_client, text.encode(), update_existing="true"), 3)
    assert (results["updated"], results["skipped"]) == (2, 1)
    assert label_names(workspace, "+5511999990001") == ["=odd, name", "Hot"]

    # Into another workspace: the labels are created there, never borrowed.
    other = client_for(other_user, other_workspace)
    before = all_labels(other_workspace)
    results = results_of(post_csv(other, text.encode(), create_labels="true"), 3)
    assert (results["created"], results["errors"]) == (3, [])
    for phone in ("+5511999990001", "+5511999990002", "+5511999990003"):
        assert label_names(other_workspace, phone) == label_names(workspace, phone)
    assert all_labels(other_workspace) == before | {"Hot", "=odd, name"}


def test_json_export_lists_label_names(workspace, other_workspace, hot):
    contact_factory(workspace=workspace, labels=[hot])
    Label.objects.create(workspace=other_workspace, name="HOT")
    stream = io.StringIO()
    for _ in write_json(contact_export_rows(workspace=workspace), stream):
        pass
    body = json.loads(stream.getvalue())
    assert body["contacts"][0]["labels"] == ["Hot"]
    report = contact_import_rows(workspace=other_workspace, rows=body["contacts"])
    assert (report.created, report.errors) == (1, [])
    assert Contact.objects.get(workspace=other_workspace).labels.get().name == "HOT"


def test_command_create_labels_flag(tmp_path, workspace):
    from django.core.management import call_command

    path = tmp_path / "contacts.csv"
    path.write_text("phone,labels\n+5511999990001,Lead\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_contacts", str(path), "--workspace", str(workspace.pk), "--no-progress", stdout=out)
    assert "row 1: labels [unknown_label]" in out.getvalue()
    call_command(
        "import_contacts", str(path), "--workspace", str(workspace.pk), "--no-progress", "--create-labels", stdout=out
    )
    assert label_names(workspace, "+5511999990001") == ["Lead"]


# --- create/update API -------------------------------------------------------------------------
def test_api_labels_by_id_name_or_echoed_object(api_client, workspace, hot, vip):
    response = api_client.post("/api/v1/contacts", {"phone": "+5511999990001", "labels": [str(hot.pk), "vip"]})
    assert response.status_code == 201, response.content
    contact = response.json()["contact"]
    assert [label["name"] for label in contact["labels"]] == ["Hot", "VIP"]
    # The object the API returned goes back as it is (labels as {id, name, color}).
    response = api_client.put(f"/api/v1/contacts/{contact['id']}", {**contact, "name": "Ana"})
    assert response.status_code == 200, response.content
    assert response.json()["contact"]["labels"] == contact["labels"]
    response = api_client.patch(f"/api/v1/contacts/{contact['id']}", {"labels": [{"name": "HOT"}]})
    assert [label["name"] for label in response.json()["contact"]["labels"]] == ["Hot"]
    Label.objects.create(workspace=workspace, name="Équipe")
    response = api_client.patch(f"/api/v1/contacts/{contact['id']}", {"labels": ["Équipe"]})
    assert [label["name"] for label in response.json()["contact"]["labels"]] == ["Équipe"]


@pytest.mark.parametrize(
    "labels",
    [["Cold"], ["nope"], ["a\x00"], [""], [5], [{"color": "#000000"}], ["00000000-0000-0000-0000-000000000000"]],
)
def test_api_unknown_or_foreign_labels_are_400(api_client, workspace, other_workspace, labels):
    Label.objects.create(workspace=other_workspace, name="Cold")
    body = assert_json_error(
        api_client.post("/api/v1/contacts", {"phone": "+5511999990001", "labels": labels}), 400, "VALIDATION_ERROR"
    )
    assert "labels" in body["errors"]
    assert not Contact.objects.filter(workspace=workspace).exists()
