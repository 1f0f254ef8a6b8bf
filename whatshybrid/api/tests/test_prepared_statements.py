"""On PostgreSQL the fixed SQL text of the per-request authentication lookup becomes a prepared
statement of the connection (``prepared_cursor``); ORM texts, the message send's included (issue
13: one readable send through the ORM), stay unprepared, and ``DB_PREPARED_STATEMENTS=0`` turns
it off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from messaging.models import Message
from messaging.tests.factories import conversation_factory
from whatshybrid.api.tests.test_deploy import run_python

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")

# psycopg prepares a text on its sixth run on a connection (prepare_threshold = 5).
RUNS_TO_PREPARE = 6


def prepared_texts() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


def send(api_client, conversation, n: int) -> dict:
    response = api_client.post(
        f"/api/v1/conversations/{conversation.pk}/messages", {"content": f"Olá {n}", "client_message_id": f"c-{n}"}
    )
    assert response.status_code == 201, response.content
    return response.json()["message"]


@pytest.fixture
def prepared_statements_off() -> Iterator[None]:
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None
    yield
    connection.connection.prepare_threshold = threshold


@on_postgresql
@pytest.mark.django_db
def test_authentication_runs_on_a_prepared_statement_after_a_few_requests(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    sent = [send(api_client, conversation, n) for n in range(RUNS_TO_PREPARE)]
    texts = prepared_texts()

    def prepared(*fragments: str) -> bool:
        return any(all(fragment in text for fragment in fragments) for text in texts)

    assert prepared('FROM "accounts_membership" m', '"accounts_authsession"')  # authentication
    # The send and its events go through the ORM (issue 13), so they are never prepared.
    assert not prepared('"messaging_message"')
    assert not prepared('"messaging_conversation"')
    assert not prepared('"realtime_eventsequence"')
    assert all("%s" not in text for text in texts)  # bound on the server, not quoted into the text

    # What the prepared statements wrote and read back is what was sent.
    stored = Message.objects.filter(conversation=conversation).order_by("sent_at")
    assert [message.content for message in stored] == [f"Olá {n}" for n in range(RUNS_TO_PREPARE)]
    assert [item["id"] for item in sent] == [str(message.pk) for message in stored]
    detail = api_client.get(f"/api/v1/conversations/{conversation.pk}").json()
    assert detail["conversation"]["last_message"]["content"] == f"Olá {RUNS_TO_PREPARE - 1}"


@on_postgresql
@pytest.mark.django_db
def test_orm_texts_are_never_prepared(workspace):
    for n in range(RUNS_TO_PREPARE + 2):
        assert Contact.objects.filter(workspace=workspace, name=f"nobody {n % 2}").count() == 0
    assert not any('"contacts_contact"' in text for text in prepared_texts())


@on_postgresql
@pytest.mark.django_db
def test_prepared_statements_still_show_in_query_logs(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    for n in range(RUNS_TO_PREPARE):
        send(api_client, conversation, n)
    with CaptureQueriesContext(connection) as queries:
        send(api_client, conversation, RUNS_TO_PREPARE)
    logged = [query["sql"] for query in queries]
    assert any('FROM "accounts_membership" m' in sql for sql in logged)  # the prepared one
    assert any('INSERT INTO "messaging_message"' in sql for sql in logged)


@on_postgresql
@pytest.mark.django_db
def test_with_prepared_statements_off_nothing_is_prepared(api_client, workspace, prepared_statements_off):
    conversation = conversation_factory(workspace=workspace)
    before = prepared_texts()
    for n in range(RUNS_TO_PREPARE + 1):
        send(api_client, conversation, n)
    assert prepared_texts() == before
    assert Message.objects.filter(conversation=conversation).count() == RUNS_TO_PREPARE + 1


@pytest.mark.parametrize(("value", "threshold"), [("", "5"), ("0", "None"), ("1", "5")])  # "": unset
def test_db_prepared_statements_sets_the_connections_threshold(value, threshold):
    probe = (
        "import django; django.setup(); from django.conf import settings;"
        " print(settings.DATABASES['default']['OPTIONS']['prepare_threshold'])"
    )
    result = run_python(["-c", probe], DATABASE_URL="postgres://whl@127.0.0.1:9/whl", DB_PREPARED_STATEMENTS=value)
    assert result.stdout.strip() == threshold, result.stderr
