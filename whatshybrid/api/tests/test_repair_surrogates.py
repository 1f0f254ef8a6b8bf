"""Rows stored before the strict JSON parser with unpaired surrogates (issue 14.1): reads work
(U+FFFD in their place), and ``manage.py repair_surrogates`` repairs them at rest, idempotently.

Only SQLite ever stored them (PostgreSQL's jsonb refuses them at write), so the bad rows are
written here as they were then: by raw SQL, with the escape in the stored JSON text.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from contacts.models import Contact
from contacts.services import contact_create
from whatshybrid.realtime.consumers.base import dumps
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL never stored lone surrogates")
BAD_TAGS = '["\\ud83d", "ok \\ud83d\\ude00"]'  # half an emoji, then a whole one
BAD_FIELDS = '{"\\udc00key": "value \\udbff"}'


@pytest.fixture
def poisoned(workspace: Any) -> Contact:
    contact = contact_create(workspace=workspace, phone="+5511987650001", name="Ana")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Contact._meta.db_table} SET tags = %s, custom_fields = %s WHERE phone = %s",
            [BAD_TAGS, BAD_FIELDS, contact.phone],
        )
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET payload = %s WHERE workspace_id = %s", [BAD_TAGS, workspace.pk.hex]
        )
    return contact


def _repair() -> str:
    out = io.StringIO()
    call_command("repair_surrogates", "--batch-size", "2", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@sqlite_only
def test_reads_of_a_poisoned_workspace_answer(api_client: Any, poisoned: Contact) -> None:
    contacts = api_client.get("/api/v1/contacts")
    assert contacts.status_code == 200
    assert contacts.json()["contacts"][0]["tags"] == ["\ufffd", "ok \U0001f600"]
    assert contacts.json()["contacts"][0]["custom_fields"] == {"\ufffdkey": "value \ufffd"}
    events = api_client.get("/api/v1/events", {"after": 0})
    assert events.status_code == 200 and events.json()["events"][0]["data"] == ["\ufffd", "ok \U0001f600"]


@sqlite_only
def test_the_command_repairs_the_rows_once(api_client: Any, poisoned: Contact) -> None:
    first = _repair()
    assert "contacts.Contact: 1 row(s) repaired" in first and "realtime.Event: 1 row(s) repaired" in first
    poisoned.refresh_from_db()
    assert poisoned.tags == ["\ufffd", "ok \U0001f600"]
    assert poisoned.custom_fields == {"\ufffdkey": "value \ufffd"}
    assert Event.objects.get(workspace=poisoned.workspace).payload == ["\ufffd", "ok \U0001f600"]
    assert "Repaired 0 row(s)" in _repair()  # idempotent


def test_socket_frames_of_a_poisoned_event_encode() -> None:
    """A frame with an unpaired surrogate could not be sent as UTF-8 and dropped the socket."""
    assert dumps({"tags": ["\ud83d", "\ud83d\ude00"]}).encode() == '{"tags":["\ufffd","\U0001f600"]}'.encode()


def test_the_command_leaves_sound_text_alone(workspace: Any) -> None:
    """On either database: whole emoji (stored as escaped surrogate pairs on SQLite) are kept."""
    contact = contact_create(workspace=workspace, phone="+5511987650002", tags=["\U0001f600", "ok"])
    assert "Repaired 0 row(s)" in _repair()
    contact.refresh_from_db()
    assert contact.tags == ["\U0001f600", "ok"]
