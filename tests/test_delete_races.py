"""Gate: deletes beside concurrent writes that reference the deleted row, and double deletes.

Real requests in threads, each with its own database connection (``transaction=True``), on
SQLite and on PostgreSQL (``DATABASE_URL``). Before the one lock order of ``whatshybrid.locking``
these deadlocked on PostgreSQL (500 at COMMIT), answered 500 on SQLite (a payload read on the
vanished row) and published ``*:deleted`` once per concurrent DELETE.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from contacts.models import Contact
from contacts.services import contact_delete
from contacts.tests.factories import contact_factory
from crm import services as crm_services
from crm.models import Deal, Label
from crm.tests.factories import deal_factory
from messaging.models import Conversation
from messaging.services import conversation_open
from tasks.models import Task
from tasks.services import task_create
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Runs ``jobs`` at once (released by one barrier); returns their results in order, or the
    exception a job raised in its place."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("threads need a shared database file")
    results: list[Any] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = jobs[index]()
        except BaseException as exc:  # reported in the test thread
            results[index] = exc
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return results


def statuses(results: list[Any]) -> list[Any]:
    return [getattr(result, "status_code", result) for result in results]


def event_count(workspace: Any, name: str, object_id: Any) -> int:
    return Event.objects.filter(workspace=workspace, name=name, payload__id=str(object_id)).count()


def contact_round(contact: Contact, clients: list[Any]) -> list[Any]:
    path = f"/api/v1/contacts/{contact.pk}"
    deal = {"contact_id": str(contact.pk), "title": "D"}
    task = {"contact_id": str(contact.pk), "title": "T"}
    return statuses(
        run_together(
            [
                lambda: clients[0].delete(path),
                lambda: clients[1].post("/api/v1/crm/deals", deal),
                lambda: clients[2].post("/api/v1/crm/deals", deal),
                lambda: clients[3].post("/api/v1/conversations", {"contact_id": str(contact.pk)}),
                lambda: clients[4].post("/api/v1/tasks", task),
                lambda: clients[5].post("/api/v1/tasks", task),
                lambda: clients[6].put(path, {"name": "Renamed"}),
            ]
        )
    )


def test_contact_delete_beside_writes_that_reference_it(workspace, client_for, user):
    for _ in range(ROUNDS):
        contact = contact_factory(workspace=workspace)
        # One client per thread: a test client is not thread-safe.
        codes = contact_round(contact, [client_for(user, workspace) for _ in range(7)])
        assert codes[0] == 200, codes
        # Each write came before the delete (201/200) or found its contact gone (400/404/409).
        assert all(code in {200, 201, 400, 404, 409} for code in codes[1:]), codes
        assert not Contact.objects.filter(pk=contact.pk).exists()
        assert not Deal.objects.filter(contact_id=contact.pk).exists()
        assert not Conversation.objects.filter(contact_id=contact.pk).exists()
        assert event_count(workspace, "contact:deleted", contact.pk) == 1


def test_contact_delete_announces_what_it_removes_and_unlinks(workspace):
    contact = contact_factory(workspace=workspace)
    deal = deal_factory(workspace=workspace, contact=contact)
    conversation, _ = conversation_open(workspace=workspace, contact=contact)
    task = task_create(workspace=workspace, title="Call back", contact=contact)
    deal_task = task_create(workspace=workspace, title="Send proposal", deal=deal)
    start = Event.objects.filter(workspace=workspace).order_by("-seq").values_list("seq", flat=True).first()
    contact_id = str(contact.pk)
    contact_delete(contact=contact)
    events = list(
        Event.objects.filter(workspace=workspace, seq__gt=start).order_by("seq").values_list("name", "payload")
    )
    names = [(name, payload["id"]) for name, payload in events]
    assert ("deal:deleted", str(deal.pk)) in names
    assert ("conversation:deleted", str(conversation.pk)) in names
    updated = {payload["id"]: payload for name, payload in events if name == "task:updated"}
    assert set(updated) == {str(task.pk), str(deal_task.pk)}
    assert updated[str(task.pk)]["contact_id"] is None and updated[str(deal_task.pk)]["deal_id"] is None
    assert names[-1] == ("contact:deleted", contact_id)
    assert Task.objects.filter(pk__in=[task.pk, deal_task.pk]).count() == 2


def label_round(label: Label, contact: Contact, deal: Deal, phone: str, clients: list[Any]) -> list[Any]:
    labels = [str(label.pk)]
    return statuses(
        run_together(
            [
                lambda: clients[0].delete(f"/api/v1/crm/labels/{label.pk}"),
                lambda: clients[1].post("/api/v1/contacts", {"phone": phone, "labels": labels}),
                lambda: clients[2].put(f"/api/v1/contacts/{contact.pk}", {"labels": labels}),
                lambda: clients[3].put(f"/api/v1/crm/deals/{deal.pk}", {"labels": labels}),
                lambda: clients[4].post(
                    "/api/v1/crm/deals", {"contact_id": str(contact.pk), "title": "D", "labels": labels}
                ),
            ]
        )
    )


def test_label_delete_beside_writes_that_attach_it(workspace, client_for, user):
    for round_number in range(ROUNDS):
        label = crm_services.label_create(workspace=workspace, name=f"Hot {round_number}")
        contact = contact_factory(workspace=workspace)
        deal = deal_factory(workspace=workspace, contact=contact)
        clients = [client_for(user, workspace) for _ in range(5)]
        codes = label_round(label, contact, deal, f"+55219{round_number:04d}1111", clients)
        assert codes[0] == 200, codes
        assert all(code in {200, 201, 400, 404, 409} for code in codes[1:]), codes
        assert not Label.objects.filter(pk=label.pk).exists()
        assert event_count(workspace, "label:deleted", label.pk) == 1


@pytest.mark.parametrize("kind", ["contact", "deal", "label", "task", "conversation"])
def test_concurrent_deletes_answer_200_and_announce_once(kind, workspace, client_for, user):
    contact = contact_factory(workspace=workspace)
    target, path, event = {
        "contact": lambda: (contact, "/api/v1/contacts/{}", "contact:deleted"),
        "deal": lambda: (deal_factory(workspace=workspace, contact=contact), "/api/v1/crm/deals/{}", "deal:deleted"),
        "label": lambda: (
            crm_services.label_create(workspace=workspace, name="Cold"),
            "/api/v1/crm/labels/{}",
            "label:deleted",
        ),
        "task": lambda: (task_create(workspace=workspace, title="T"), "/api/v1/tasks/{}", "task:deleted"),
        "conversation": lambda: (
            conversation_open(workspace=workspace, contact=contact)[0],
            "/api/v1/conversations/{}",
            "conversation:deleted",
        ),
    }[kind]()
    clients = [client_for(user, workspace) for _ in range(6)]
    codes = statuses(run_together([lambda c=c: c.delete(path.format(target.pk)) for c in clients]))
    # The requests that looked the row up after the first delete committed get a 404; the ones
    # that found it answer 200, and only the first delete announces it.
    assert set(codes) <= {200, 404} and 200 in codes, codes
    assert event_count(workspace, event, target.pk) == 1
