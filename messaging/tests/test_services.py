"""Service-level checks of the message write path."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Label
from messaging import services
from messaging.payloads import conversation_payloads
from messaging.tests.factories import conversation_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


def test_message_create_is_a_fixed_handful_of_statements(workspace):
    conversation = conversation_factory(workspace=workspace)
    with CaptureQueriesContext(connection) as queries:
        services.message_create(conversation=conversation, content="Oi", client_message_id="q-1")
    statements = [
        query["sql"].split()[0]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    # The conversation's locked row, the message (a retry would collide and read the stored one),
    # the conversation's update, its event payload (no labels, so no labels query), then the
    # events: the sequence bump and its read (with the opted-in subscribers: none, so the webhook
    # outbox reads nothing), one insert of both rows. The same on every database.
    assert statements == ["SELECT", "INSERT", "UPDATE", "SELECT", "UPDATE", "SELECT", "INSERT"]


def test_message_create_event_carries_the_labels_of_a_labelled_conversation(workspace):
    labelled = conversation_factory(workspace=workspace)
    plain = conversation_factory(workspace=workspace)
    label = Label.objects.create(workspace=workspace, name="Rotulo-teste")
    labelled.labels.add(label)
    for conversation in (labelled, plain):
        services.message_create(conversation=conversation, content="Oi")
    updates = {
        event.payload["id"]: event.payload["labels"]
        for event in Event.objects.filter(workspace=workspace, name="conversation:updated")
    }
    assert updates == {
        str(labelled.pk): [{"id": str(label.pk), "name": "Rotulo-teste", "color": label.color}],
        str(plain.pk): [],
    }
    # A page mixing both reads the labels of the labelled one only, and in order.
    payloads = conversation_payloads([plain.pk, labelled.pk], workspace=workspace)
    assert [payload["labels"] for payload in payloads] == [[], updates[str(labelled.pk)]]
