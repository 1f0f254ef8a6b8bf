"""Service-level checks of the message write path."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import services
from messaging.tests.factories import conversation_factory

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
    # The conversation's locked row and its labels; the message (no savepoint of its own: a retry
    # is skipped by ON CONFLICT); the conversation's update; the sequence bump; both events in one
    # insert.
    assert statements == ["SELECT", "SELECT", "INSERT", "UPDATE", "INSERT", "INSERT"]
