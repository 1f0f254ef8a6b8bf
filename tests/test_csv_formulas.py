"""Gate: no CSV the project writes has a cell a spreadsheet would run, and the importer detects
formulas by the same rule (``whatshybrid.csvsafe``), leading whitespace included."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from contacts.models import Contact
from messaging.tests.factories import contact_factory, conversation_factory, message_factory
from whatshybrid.csvsafe import FORMULA_STARTS, is_formula, neutralize

pytestmark = pytest.mark.django_db

ATTACKS = ['=HYPERLINK("http://evil","x")', " =1+1", '\t=cmd|"/c calc"!A1', "  @SUM(A1:A9)", "-2+3+cmd|x!A", "+1(2)"]


@pytest.mark.parametrize("cell", ATTACKS)
def test_the_rule_catches_formulas_also_after_leading_whitespace(cell):
    assert is_formula(cell) and neutralize(cell) == f"'{cell}"


@pytest.mark.parametrize("cell", ["Ana", "5511", "", " Ana", "a=b"])
def test_plain_text_is_left_alone(cell):
    assert not is_formula(cell) and neutralize(cell) == cell


def spreadsheet_would_run(cell: str) -> bool:
    return cell.lstrip(" \t\r\n")[:1] in FORMULA_STARTS and not cell.startswith("'")


def test_messaging_export_csv_writes_no_runnable_cell(workspace):
    contact = contact_factory(workspace=workspace, name=ATTACKS[0])
    conversation = conversation_factory(workspace=workspace, contact=contact)
    for attack in ATTACKS:
        message_factory(conversation=conversation, content=attack)
    out = io.StringIO()
    call_command("messaging_export", workspace=str(workspace.pk), contact=str(contact.pk), format="csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == len(ATTACKS)
    assert not [cell for row in rows for cell in row.values() if spreadsheet_would_run(cell)]
    assert [row["content"] for row in rows] == [f"'{attack}" for attack in ATTACKS]


def test_contacts_export_csv_writes_no_runnable_cell(workspace):
    Contact.objects.create(workspace=workspace, phone="+5511999990001", name=ATTACKS[1], notes=ATTACKS[2])
    out = io.StringIO()
    call_command("export_contacts", workspace=str(workspace.pk), format="csv", stdout=out, stderr=io.StringIO())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows and not [cell for row in rows for cell in row.values() if spreadsheet_would_run(cell)]


@pytest.mark.parametrize("cell", [' =HYPERLINK("http://evil")', '\t=HYPERLINK("http://evil")', "  =1+1"])
def test_the_importer_refuses_formulas_after_leading_whitespace(api_client, workspace, cell):
    content = f'phone,name\n+5511999990001,"{cell.replace(chr(34), chr(34) * 2)}"\n'.encode()
    upload = SimpleUploadedFile("contacts.csv", content, content_type="text/csv")
    response = api_client.post("/api/v1/contacts/import", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content[:300]
    assert [error["code"] for error in response.json()["results"]["errors"]] == ["formula"]
    assert not Contact.objects.filter(workspace=workspace).exists()
