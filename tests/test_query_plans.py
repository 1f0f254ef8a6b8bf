"""Key look-ups stay index look-ups on SQLite as a workspace grows.

A model's default ordering (``-created_at``) lets SQLite's planner answer ``workspace = ? AND
phone IN (...)`` by walking the workspace's created_at index in order and filtering, which costs
the whole workspace on every call: a 100,000-row import went quadratic (45 s against 16 s) and a
conversation's newest page cost 0.15x its bare view at 100,000 messages. Each look-up below runs
against a workspace that already holds rows, and every planned statement is checked."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection

from contacts.importing import contact_import_rows
from contacts.tests.factories import contact_factory
from crm.tests.extension import Browser, contact, deal, task
from messaging.models import Conversation, Message
from messaging.selectors import message_page

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.DATABASE_IS_SQLITE, reason="EXPLAIN QUERY PLAN is SQLite's"),
]
_KEY_LIST = re.compile(r"\b(phone|client_key|id)\" IN \(")


class _Plans:
    """Every SELECT that looks rows up by a list of keys, with SQLite's plan for it."""

    def __init__(self) -> None:
        self.lookups: list[tuple[str, list[str]]] = []

    def __call__(self, execute, sql, params, many, context):
        if not many and sql.startswith("SELECT") and _KEY_LIST.search(sql):
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                self.lookups.append((sql, [row[3] for row in cursor.fetchall()]))
        return execute(sql, params, many, context)

    def walks(self) -> list[tuple[str, list[str]]]:
        """Look-ups that walk a created_at index (a workspace's rows in order) instead of a key."""
        return [(sql[:200], plan) for sql, plan in self.lookups if any("_created" in step for step in plan)]


def test_the_importer_and_the_sync_calls_look_rows_up_by_key(api_client, workspace):
    contact_import_rows(workspace=workspace, rows=[{"phone": f"+55219{n:08d}", "name": "Old"} for n in range(60)])
    browser = Browser(api_client)
    browser.contacts = [contact(f"55219{n:08d}", f"Cliente {n}") for n in range(40, 80)]
    browser.sync()
    browser.deals = [deal(browser.contacts[0]["id"], "Proposta")]
    # Single keys plan as equalities: each look-up here gets two.
    browser.labels["contactLabels"] = {"5521900000001@c.us": ["vip"], "5521900000002@c.us": ["vip"]}
    browser.tasks = [task("5521900000041", "Ligar"), task("5521900000042", "Visitar")]
    plans = _Plans()
    with connection.execute_wrapper(plans):
        contact_import_rows(
            workspace=workspace,
            rows=[{"phone": f"+55219{n:08d}", "name": "New"} for n in range(50, 70)],
            update_existing=True,
        )
        browser.sync()
        browser.sync_tasks()
        browser.sync_tasks()
    assert len(plans.lookups) >= 7  # phones (import, labels, tasks), client keys (contacts, deals, tasks)
    assert plans.walks() == []


def test_a_conversation_page_reads_its_rows_by_primary_key(workspace):
    conversation = Conversation.objects.create(workspace=workspace, contact=contact_factory(workspace=workspace))
    Message.objects.bulk_create(
        Message(workspace=workspace, conversation=conversation, content=f"m{n}", direction="incoming") for n in range(80)
    )
    plans = _Plans()
    with connection.execute_wrapper(plans):
        page = message_page(conversation=conversation, limit=50)
    assert len(page.messages) == 50
    (sql, plan), = plans.lookups
    assert any("autoindex_messaging_message_1 (id=?)" in step for step in plan), plan
