"""Concurrent retries on real database connections: one thread per request, started together.

Runs on PostgreSQL and on SQLite (the SQLite test database is a WAL file, so threads get their own
connections and queue on the write lock as in production). ``test_live.py`` adds the same race
over HTTP between server processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from messaging import services
from messaging.models import Conversation, Message
from messaging.tests.factories import contact_factory, conversation_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 20


def run_together(work: Callable[[], Any], count: int = PARALLEL) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            outcome = work()
            with lock:
                results.append(outcome)
        except BaseException as exc:  # collected and asserted on below
            with lock:
                errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_twenty_parallel_retries_store_one_message(workspace):
    conversation = conversation_factory(workspace=workspace)

    def send() -> tuple[str, bool]:
        message, created = services.message_create(
            conversation=conversation, content="Pedido #42", direction="in", client_message_id="retry-me"
        )
        return str(message.pk), created

    results, errors = run_together(send)
    assert errors == []
    assert len(results) == PARALLEL
    assert len({message_id for message_id, _created in results}) == 1
    assert sum(created for _id, created in results) == 1
    assert Message.objects.filter(conversation=conversation).count() == 1
    conversation.refresh_from_db()
    assert conversation.unread_count == 1
    assert Event.objects.filter(workspace=workspace, name="message:created").count() == 1


def test_parallel_distinct_messages_all_count(workspace):
    conversation = conversation_factory(workspace=workspace)
    counter = iter(range(PARALLEL))
    lock = threading.Lock()

    def send() -> bool:
        with lock:
            n = next(counter)
        return services.message_create(conversation=conversation, content=str(n), direction="in", external_id=f"w{n}")[
            1
        ]

    results, errors = run_together(send)
    assert errors == [] and all(results)
    conversation.refresh_from_db()
    assert conversation.unread_count == PARALLEL
    assert Message.objects.filter(conversation=conversation).count() == PARALLEL
    # Each event shows the conversation as its own write left it, in commit (= seq) order.
    updates = Event.objects.filter(workspace=workspace, name="conversation:updated").order_by("seq")
    assert [event.payload["unread_count"] for event in updates] == list(range(1, PARALLEL + 1))


def test_parallel_opens_make_one_conversation(workspace):
    contact = contact_factory(workspace=workspace)

    def open_it() -> tuple[str, bool]:
        conversation, created = services.conversation_open(workspace=workspace, contact=contact)
        return str(conversation.pk), created

    results, errors = run_together(open_it, count=10)
    assert errors == []
    assert len({conversation_id for conversation_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Conversation.objects.filter(contact=contact).count() == 1
