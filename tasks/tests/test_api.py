from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Membership
from contacts.tests.factories import contact_factory
from tasks.models import Task
from tasks.selectors import local_today
from tasks.tests.factories import deal_factory, task_factory
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/tasks"
UTC = datetime.UTC


def detail(task: Any) -> str:
    return f"{LIST_URL}/{task.pk}"


def events(workspace: Any, name: str) -> list[dict]:
    return list(Event.objects.filter(workspace=workspace, name=name).order_by("seq").values_list("payload", flat=True))


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["tasks"]}


def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=LIST_URL,
        detail_url=detail,
        resource_name="tasks",
        make=lambda ws: task_factory(
            workspace=ws,
            contact=contact_factory(workspace=ws),
            deal=deal_factory(workspace=ws),
            assigned_to=ws.memberships.get().user,
        ),
        detail_methods=("get", "put", "delete"),
    )
    theirs = task_factory(workspace=other_workspace)
    assert_json_error(api_client.post(f"{detail(theirs)}/complete"), 404)
    assert other_client.get(detail(theirs)).json()["task"]["status"] == "pending"
    assert ids(api_client.get(f"{LIST_URL}/overdue")).isdisjoint({str(theirs.pk)})


def test_create_returns_201_and_publishes(api_client, user, workspace):
    contact = contact_factory(workspace=workspace, name="Ana")
    body = {
        "title": "Ligar para Ana",
        "description": "Proposta",
        "type": "call",
        "priority": "high",
        "due_date": "2030-01-15",
        "contact_id": str(contact.pk),
        "assigned_to": str(user.pk),
    }
    response = api_client.post(LIST_URL, body)
    assert response.status_code == 201, response.content
    task = response.json()["task"]
    assert task["title"] == "Ligar para Ana"
    assert (task["type"], task["priority"], task["status"]) == ("call", "high", "pending")
    assert (task["due_date"], task["due_all_day"], task["is_overdue"]) == ("2030-01-15", True, False)
    assert task["contact"] == {"id": str(contact.pk), "name": "Ana", "phone": contact.phone}
    assert task["assigned_to"] == task["created_by"] == str(user.pk)
    assert task["completed_at"] is None
    assert events(workspace, "task:created") == [task]
    assert api_client.get(detail(Task.objects.get())).json()["task"] == task


def test_datetime_due_without_offset_is_workspace_wall_time(api_client, workspace):
    assert workspace.timezone == "America/Sao_Paulo"
    task = api_client.post(LIST_URL, {"title": "t", "due_date": "2030-01-15T23:30:00"}).json()["task"]
    assert (task["due_date"], task["due_all_day"]) == ("2030-01-16T02:30:00Z", False)
    task = api_client.post(LIST_URL, {"title": "t", "due_date": "2030-01-15T23:30:00+00:00"}).json()["task"]
    assert task["due_date"] == "2030-01-15T23:30:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": 0}, "title"),
        ({"title": "t", "description": 5}, "description"),
        ({"title": "t", "type": "party"}, "type"),
        ({"title": "t", "priority": "critical"}, "priority"),
        ({"title": "t", "status": "done"}, "status"),
        ({"title": "t", "due_date": "15/01/2030"}, "due_date"),
        ({"title": "t", "due_date": "2030-13-01"}, "due_date"),
        ({"title": "t", "due_date": 20300101}, "due_date"),
        ({"title": "t", "reminder_at": "2030-01-15"}, "reminder_at"),
        ({"title": "t", "contact_id": "00000000-0000-0000-0000-000000000000"}, "contact_id"),
        ({"title": "t", "contact_id": "nope"}, "contact_id"),
        ({"title": "t", "assigned_to": "00000000-0000-0000-0000-000000000000"}, "assigned_to"),
        ({"title": "t", "assigned_to": "nope"}, "assigned_to"),
        ({"title": "t", "assigned_to": ""}, "assigned_to"),
        ({"title": "t", "assigned_to": 5}, "assigned_to"),
        ({"title": "t", "contact_id": ""}, "contact_id"),
        ({"title": "t", "deal_id": ""}, "deal_id"),
        ({"title": "t", "workspace_name": "x"}, "workspace_name"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(api_client, workspace, body, field):
    error = assert_json_error(api_client.post(LIST_URL, body), 400, "VALIDATION_ERROR")
    assert field in error["errors"], error
    assert not Task.objects.filter(workspace=workspace).exists()
    assert not Event.objects.filter(workspace=workspace, name__startswith="task:").exists()


def test_related_ids_of_another_workspace_are_refused(api_client, workspace, other_workspace, other_user, make_member):
    theirs = contact_factory(workspace=other_workspace)
    error = assert_json_error(api_client.post(LIST_URL, {"title": "t", "contact_id": str(theirs.pk)}), 400)
    assert "contact_id" in error["errors"]
    their_deal = deal_factory(workspace=other_workspace)
    error = assert_json_error(api_client.post(LIST_URL, {"title": "t", "deal_id": str(their_deal.pk)}), 400)
    assert "deal_id" in error["errors"]
    error = assert_json_error(api_client.post(LIST_URL, {"title": "t", "assigned_to": str(other_user.pk)}), 400)
    assert "assigned_to" in error["errors"]
    colleague = make_member(workspace)
    response = api_client.post(LIST_URL, {"title": "t", "assigned_to": str(colleague.pk)})
    assert response.json()["task"]["assignee"]["id"] == str(colleague.pk)
    assert not Task.objects.filter(assigned_to=other_user).exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_related_ids_clear_with_null_and_refuse_empty_strings(api_client, workspace, user, method):
    contact, deal = contact_factory(workspace=workspace), deal_factory(workspace=workspace)
    task = task_factory(workspace=workspace, contact=contact, deal=deal, assigned_to=user)
    write = getattr(api_client, method)
    for field in ("assigned_to", "contact_id", "deal_id"):
        error = assert_json_error(write(detail(task), {field: ""}), 400, "VALIDATION_ERROR")
        assert list(error["errors"]) == [field]
    task.refresh_from_db()
    assert (task.assigned_to_id, task.contact_id, task.deal_id) == (user.pk, contact.pk, deal.pk)
    assert not events(workspace, "task:updated")
    cleared = write(detail(task), {"assigned_to": None, "contact_id": None, "deal_id": None}).json()["task"]
    relations = ("assigned_to", "assignee", "contact_id", "contact", "deal_id", "deal")
    assert [cleared[key] for key in relations] == [None] * len(relations)


def test_deal_link_is_set_shown_and_cleared(api_client, workspace):
    deal = deal_factory(workspace=workspace, title="Plano anual")
    task = api_client.post(LIST_URL, {"title": "t", "deal_id": str(deal.pk)}).json()["task"]
    assert (task["deal_id"], task["deal"]) == (str(deal.pk), {"id": str(deal.pk), "title": "Plano anual"})
    assert ids(api_client.get(f"{LIST_URL}?deal={deal.pk}")) == {task["id"]}
    cleared = api_client.put(f"{LIST_URL}/{task['id']}", {"deal_id": None}).json()["task"]
    assert (cleared["deal_id"], cleared["deal"]) == (None, None)


def test_update_is_partial_and_completion_by_put_stamps_and_reopens(api_client, workspace):
    task = task_factory(workspace=workspace, title="Antes", priority="low", due_date=datetime.date(2030, 1, 1))
    response = api_client.put(detail(task), {"title": "Depois"})
    body = response.json()["task"]
    assert (body["title"], body["priority"], body["due_date"]) == ("Depois", "low", "2030-01-01")
    assert events(workspace, "task:updated") == [body]

    done = api_client.put(detail(task), {**body, "status": "completed"}).json()["task"]
    assert done["completed_at"] is not None
    assert [e["id"] for e in events(workspace, "task:completed")] == [str(task.pk)]

    reopened = api_client.put(detail(task), {"status": "pending", "due_date": None}).json()["task"]
    assert (reopened["completed_at"], reopened["due_date"], reopened["due_all_day"]) == (None, None, False)
    assert len(events(workspace, "task:completed")) == 1


def test_complete_takes_an_empty_json_body_and_is_idempotent(api_client, workspace):
    task = task_factory(workspace=workspace)
    url = f"{detail(task)}/complete"
    first = api_client.generic("POST", url, "", content_type="application/json")
    assert first.status_code == 200, first.content
    body = first.json()["task"]
    assert body["status"] == "completed" and body["completed_at"]
    second = api_client.generic("POST", url, "", content_type="application/json").json()["task"]
    assert second["completed_at"] == body["completed_at"]
    assert events(workspace, "task:completed") == [body]


@pytest.mark.django_db(transaction=True)
def test_concurrent_completes_emit_once(client_for, user, workspace):
    task = task_factory(workspace=workspace)
    count = 6
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def complete() -> None:
        client = client_for(user, workspace)
        barrier.wait()
        try:
            statuses.append(client.post(f"{detail(task)}/complete").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * count
    assert len(events(workspace, "task:completed")) == 1


def test_delete_answers_json_and_publishes(api_client, workspace):
    task = task_factory(workspace=workspace)
    assert api_client.delete(detail(task)).json() == {"message": "Task deleted.", "id": str(task.pk)}
    assert events(workspace, "task:deleted") == [{"id": str(task.pk)}]
    assert_json_error(api_client.get(detail(task)), 404)


def test_viewer_reads_but_cannot_write_or_complete(client_for, make_member, workspace):
    viewer = client_for(make_member(workspace, role=Membership.Role.VIEWER), workspace)
    task = task_factory(workspace=workspace)
    assert viewer.get(LIST_URL).status_code == 200
    assert viewer.get(f"{LIST_URL}/overdue").status_code == 200
    assert_json_error(viewer.post(LIST_URL, {"title": "t"}), 403)
    assert_json_error(viewer.post(f"{detail(task)}/complete"), 403)
    assert_json_error(viewer.delete(detail(task)), 403)
    task.refresh_from_db()
    assert task.status == "pending"


def test_overdue_route_lists_only_open_past_due_tasks(api_client, workspace):
    now = timezone.now()
    today = local_today(workspace)
    late_day = task_factory(workspace=workspace, due_date=today - datetime.timedelta(days=1))
    late_instant = task_factory(workspace=workspace, due_date=now - datetime.timedelta(minutes=1))
    task_factory(workspace=workspace, due_date=today)  # due later today: not yet
    task_factory(workspace=workspace, due_date=now + datetime.timedelta(hours=1))
    task_factory(workspace=workspace)  # no due date
    task_factory(workspace=workspace, due_date=now - datetime.timedelta(days=3), status="completed")
    task_factory(workspace=workspace, due_date=today - datetime.timedelta(days=3), status="cancelled")
    response = api_client.get(f"{LIST_URL}/overdue")
    assert ids(response) == {str(late_day.pk), str(late_instant.pk)}
    assert all(row["is_overdue"] for row in response.json()["tasks"])
    assert ids(api_client.get(f"{LIST_URL}?overdue=true")) == ids(response)
    assert len(ids(api_client.get(f"{LIST_URL}?overdue=false"))) == 5
    # Filters combine with the route, and the trailing-slash form is the same endpoint.
    assert ids(api_client.get(f"{LIST_URL}/overdue?type=follow_up&priority=medium")) == ids(response)
    assert ids(api_client.get(f"{LIST_URL}/overdue/")) == ids(response)


def test_list_filters(api_client, user, workspace, make_member):
    contact = contact_factory(workspace=workspace)
    colleague = make_member(workspace)
    call = task_factory(workspace=workspace, title="Ligar", type="call", priority="urgent", contact=contact)
    mine = task_factory(workspace=workspace, title="Email", type="email", assigned_to=user, description="proposta")
    theirs = task_factory(
        workspace=workspace, title="Reunião", type="meeting", assigned_to=colleague, status="in_progress"
    )
    assert ids(api_client.get(f"{LIST_URL}?type=call,email")) == {str(call.pk), str(mine.pk)}
    assert ids(api_client.get(f"{LIST_URL}?priority=urgent")) == {str(call.pk)}
    assert ids(api_client.get(f"{LIST_URL}?status=in_progress")) == {str(theirs.pk)}
    assert ids(api_client.get(f"{LIST_URL}?contact={contact.pk}")) == {str(call.pk)}
    assert ids(api_client.get(f"{LIST_URL}?contact_id={contact.pk}")) == {str(call.pk)}
    assert ids(api_client.get(f"{LIST_URL}?assigned_to=me")) == {str(mine.pk)}
    assert ids(api_client.get(f"{LIST_URL}?assigned_to={colleague.pk}")) == {str(theirs.pk)}
    assert ids(api_client.get(f"{LIST_URL}?assigned_to=none")) == {str(call.pk)}
    assert ids(api_client.get(f"{LIST_URL}?q=PROPOSTA")) == {str(mine.pk)}


@pytest.mark.parametrize(
    "query",
    [
        "status=done",
        "priority=x",
        "type=party",
        "contact=nope",
        "deal=nope",
        "assigned_to=nope",
        "due_before=yesterday",
        "due_after=2030-02-30",
        "overdue=maybe",
    ],
)
def test_bad_filters_are_400(api_client, query):
    assert_json_error(api_client.get(f"{LIST_URL}?{query}"), 400, "VALIDATION_ERROR")


def test_due_range_uses_the_workspace_day(api_client, workspace):
    # 2030-01-15 in São Paulo runs from 03:00Z on the 15th to 03:00Z on the 16th.
    evening = task_factory(workspace=workspace, due_date=datetime.datetime(2030, 1, 16, 2, 30, tzinfo=UTC))
    next_morning = task_factory(workspace=workspace, due_date=datetime.datetime(2030, 1, 16, 3, 0, tzinfo=UTC))
    day = task_factory(workspace=workspace, due_date=datetime.date(2030, 1, 15))
    day_before = task_factory(workspace=workspace, due_date=datetime.date(2030, 1, 14))
    in_day = f"{LIST_URL}?due_after=2030-01-15&due_before=2030-01-15"
    assert ids(api_client.get(in_day)) == {str(evening.pk), str(day.pk)}
    assert ids(api_client.get(f"{LIST_URL}?due_after=2030-01-16T00:00:00-03:00")) == {str(next_morning.pk)}
    # 00:00Z on the 15th is still the 14th in São Paulo; an unencoded "+" arrives as a space.
    assert ids(api_client.get(f"{LIST_URL}?due_before=2030-01-15T00:00:00+00:00")) == {str(day_before.pk)}


def test_routes_answer_json_for_odd_requests(api_client, workspace):
    task = task_factory(workspace=workspace)
    assert_json_error(api_client.get(f"{LIST_URL}/not-a-uuid"), 404)
    assert_json_error(api_client.post(f"{LIST_URL}/overdue", {}), 405)
    assert_json_error(api_client.get(f"{detail(task)}/complete"), 405)
    assert_json_error(api_client.generic("PUT", detail(task), "[1, 2]", content_type="application/json"), 400)
    assert_json_error(api_client.generic("PUT", detail(task), "{oops", content_type="application/json"), 400)
    task.refresh_from_db()
    assert task.status == "pending"
    # /complete takes no body, so whatever arrives is not read.
    ignored = api_client.generic("POST", f"{detail(task)}/complete", "{oops", content_type="application/json")
    assert ignored.json()["task"]["status"] == "completed"


def test_idempotency_key_replays_a_create(api_client, workspace):
    headers = {"HTTP_IDEMPOTENCY_KEY": "task-create-1"}
    first = api_client.post(LIST_URL, {"title": "Uma vez"}, **headers)
    second = api_client.post(LIST_URL, {"title": "Uma vez"}, **headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert Task.objects.filter(workspace=workspace).count() == 1


def test_updated_since_returns_changed_tasks(api_client, workspace):
    old = task_factory(workspace=workspace)
    moment = timezone.now()
    Task.objects.filter(pk=old.pk).update(updated_at=moment - datetime.timedelta(hours=1))
    fresh = task_factory(workspace=workspace)
    assert ids(api_client.get(f"{LIST_URL}?updated_since={moment.isoformat().replace('+00:00', 'Z')}")) == {
        str(fresh.pk)
    }


@pytest.mark.parametrize(
    "query", ["q=a%00b", "due_before=9999-12-31", "due_after=0001-01-01T00:00:00%2B14:00", "due_after=99999-01-01"]
)
def test_hostile_filters_are_400_not_500(api_client, query):
    # 9999-12-31 as an upper bound ends past the last representable instant.
    assert_json_error(api_client.get(f"{LIST_URL}?{query}"), 400, "VALIDATION_ERROR")


def test_out_of_range_due_date_is_400(api_client, workspace):
    error = assert_json_error(api_client.post(LIST_URL, {"title": "t", "due_date": "9999-12-31T23:00:00-03:00"}), 400)
    assert "due_date" in error["errors"]


def test_an_unlimited_list_returns_every_task_for_the_extensions_sync(api_client, workspace):
    for _ in range(60):  # more than PAGE_SIZE_DEFAULT (50)
        task_factory(workspace=workspace)
    body = api_client.get(LIST_URL).json()
    assert (len(body["tasks"]), body["limit"], body["has_more"]) == (60, 1000, False)
    assert len(api_client.get(f"{LIST_URL}?limit=5").json()["tasks"]) == 5
