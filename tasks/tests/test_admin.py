from __future__ import annotations

import pytest

from contacts.tests.factories import contact_factory
from tasks.models import Task
from tasks.tests.factories import task_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


def form(workspace, **fields) -> dict:
    data = {
        "workspace": str(workspace.pk),
        "title": "Ligar",
        "description": "",
        "type": "call",
        "priority": "high",
        "status": "pending",
        "reminder_at_0": "",
        "reminder_at_1": "",
        "due_at_0": "",
        "due_at_1": "",
        "due_day": "",
        "contact": "",
        "deal": "",
        "assigned_to": "",
        "created_by": "",
    }
    return {**data, **fields}


def test_changelist_search_and_filters(admin_client, workspace):
    task_factory(workspace=workspace, title="Ligar para Dona Rosa", priority="urgent")
    response = admin_client.get("/admin/tasks/task/", {"q": "Rosa", "priority__exact": "urgent"})
    assert response.status_code == 200
    assert b"Ligar para Dona Rosa" in response.content


def test_admin_add_goes_through_the_service(admin_client, workspace, user):
    response = admin_client.post(
        "/admin/tasks/task/add/", form(workspace, due_day="2030-01-15", assigned_to=str(user.pk))
    )
    assert response.status_code == 302, response.content[:2000]
    task = Task.objects.get(workspace=workspace)
    assert (task.title, str(task.due_day), task.assigned_to) == ("Ligar", "2030-01-15", user)
    assert Event.objects.filter(workspace=workspace, name="task:created").count() == 1
    response = admin_client.post(f"/admin/tasks/task/{task.pk}/change/", form(workspace, status="completed"))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.completed_at is not None and task.due_day is None
    assert Event.objects.filter(workspace=workspace, name="task:completed").count() == 1


def test_admin_refuses_relations_outside_the_workspace(admin_client, workspace, other_workspace, other_user):
    theirs = contact_factory(workspace=other_workspace)
    response = admin_client.post(
        "/admin/tasks/task/add/", form(workspace, contact=str(theirs.pk), assigned_to=str(other_user.pk))
    )
    assert response.status_code == 200
    assert b"Must belong to the same workspace" in response.content and b"Must be a member" in response.content
    assert not Task.objects.exists()
