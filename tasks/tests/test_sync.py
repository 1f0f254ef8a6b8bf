"""``/tasks/sync`` and ``/tasks/data`` replayed as the extension sends them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.tests.factories import contact_factory
from crm.tests.extension import Browser, now_iso, task
from tasks.models import Task
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/tasks/sync"


def test_synced_tasks_are_the_rest_tasks_and_reference_contacts_by_phone(api_client, workspace):
    ana = contact_factory(workspace=workspace, phone="+5511999990001", name="Ana")
    browser = Browser(api_client)
    browser.tasks.append(task("5511999990001", "Ligar para Ana", priority="high", tags=["x"]))
    browser.tasks.append(task("", "Sem contato", dueDate="2026-12-24"))
    body = browser.sync_tasks()
    assert body["synced"] == 2
    by_title = {t["title"]: t for t in body["data"]["tasks"]}
    called = by_title["Ligar para Ana"]
    assert (called["id"], called["contactId"], called["priority"], called["tags"]) == (
        browser.tasks[0]["id"] if browser.tasks[0]["title"] == "Ligar para Ana" else called["id"],
        "5511999990001",
        "high",
        ["x"],
    )
    assert by_title["Sem contato"]["dueDate"] == "2026-12-24"
    row = Task.objects.get(workspace=workspace, title="Ligar para Ana")
    rest = api_client.get(f"/api/v1/tasks/{row.pk}").json()["task"]
    assert (rest["contact_id"], rest["priority"]) == (str(ana.pk), "high")
    (created, _) = [
        payload for name, payload in Event.objects.filter(name="task:created").values_list("name", "payload")
    ]
    assert created["title"] in {"Ligar para Ana", "Sem contato"}


def test_completing_publishes_task_completed_once_and_unchanged_writes_nothing(api_client, workspace):
    browser = Browser(api_client)
    browser.tasks.append(task("5511999990001", "Follow up"))
    browser.sync_tasks()
    browser.edit("tasks", browser.tasks[0]["id"], status="completed", completedAt=now_iso())
    browser.sync_tasks()
    assert list(Event.objects.filter(name__startswith="task:").values_list("name", flat=True)) == [
        "task:created",
        "task:updated",
        "task:completed",
    ]
    row = Task.objects.get(workspace=workspace)
    assert row.status == "completed" and row.completed_at is not None
    published = Event.objects.count()
    with CaptureQueriesContext(connection) as queries:
        browser.sync_tasks()
    assert not [q for q in queries.captured_queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert Event.objects.count() == published


def test_a_stale_task_loses_and_a_rest_task_comes_back(api_client, workspace):
    browser = Browser(api_client)
    browser.tasks.append(task("5511999990001", "Original"))
    browser.sync_tasks()
    row = Task.objects.get(workspace=workspace)
    api_client.put(f"/api/v1/tasks/{row.pk}", {"title": "Changed on the server"}, format="json")
    api_client.post("/api/v1/tasks", {"title": "Made by REST"}, format="json")
    browser.tasks[0].update(title="Old tab", updatedAt="2020-01-01T00:00:00Z")
    body = browser.sync_tasks()
    titles = sorted(t["title"] for t in body["data"]["tasks"])
    assert titles == ["Changed on the server", "Made by REST"]
    rest_made = next(t for t in body["data"]["tasks"] if t["title"] == "Made by REST")
    assert rest_made["id"] == str(Task.objects.get(title="Made by REST").pk)


def test_two_browsers_converge_on_tasks(api_client, client_for, user, workspace):
    first, second = Browser(api_client), Browser(client_for(user, workspace))
    first.tasks.append(task("5511999990001", "Shared"))
    first.sync_tasks()
    second.sync_tasks()
    second.edit("tasks", second.tasks[0]["id"], priority="urgent")
    second.sync_tasks()
    first.sync_tasks()
    assert first.tasks == second.tasks
    assert first.tasks[0]["priority"] == "urgent"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"tasks": "x"}, "tasks"),
        ({"tasks": [{"id": "t1", "title": ["x"]}]}, "tasks[0].title"),
        ({"tasks": [{"id": "t1", "priority": "asap"}]}, "tasks[0].priority"),
        ({"tasks": [{"id": "t1", "dueDate": "tomorrow"}]}, "tasks[0].dueDate"),
        ({"tasks": [{"id": "t1", "tags": {"a": 1}}]}, "tasks[0].tags"),
        ({"tasks": [{"id": "t1"}, {"title": "no id"}]}, "tasks[1].id"),
    ],
)
def test_bad_task_bodies_are_400_naming_the_path(api_client, workspace, body, path):
    reply = api_client.post(SYNC, body, format="json")
    assert reply.status_code == 400
    assert path in reply.json()["errors"]
    assert not Task.objects.exists()


def test_tasks_of_another_workspace_never_match(api_client, other_client, workspace, other_workspace):
    mine = Browser(api_client)
    mine.tasks.append(task("5511999990001", "Mine"))
    mine.sync_tasks()
    intruder = dict(mine.tasks[0], title="Intruder", updatedAt=now_iso(60))
    reply = other_client.post(SYNC, {"tasks": [intruder]}, format="json").json()
    assert Task.objects.get(workspace=workspace).title == "Mine"
    assert "Mine" not in str(reply)
    assert "Intruder" not in str(api_client.get("/api/v1/tasks/data").json())
