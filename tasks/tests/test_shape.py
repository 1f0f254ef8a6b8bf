"""One task shape everywhere (list, overdue, detail, events), as the OpenAPI schema documents it,
and list reads whose query count does not grow with the rows."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime
from drf_spectacular.generators import SchemaGenerator

from contacts.tests.factories import contact_factory
from tasks.selectors import local_today
from tasks.tests.factories import deal_factory, task_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/tasks"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A property with its ``$ref``/``allOf`` wrapper resolved, keeping ``nullable``."""
    nullable = node.get("nullable", False)
    while "$ref" in node or "allOf" in node:
        ref = node["$ref"] if "$ref" in node else node["allOf"][0]["$ref"]
        node = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return {**node, "nullable": nullable or node.get("nullable", False)}


def assert_conforms(schema: dict[str, Any], node: dict[str, Any], value: Any, where: str) -> None:
    """The checks schemathesis' response_schema_conformance makes, for the types a task uses."""
    assert set(value) == set(node["properties"]), where
    assert set(node.get("required", [])) <= set(value), where
    for name, prop in node["properties"].items():
        prop, item = resolve(schema, prop), value[name]
        if item is None:
            assert prop["nullable"], f"{where}.{name} is null but not documented nullable"
        elif "properties" in prop:
            assert_conforms(schema, prop, item, f"{where}.{name}")
        elif prop.get("type") == "boolean":
            assert isinstance(item, bool), f"{where}.{name}"
        else:
            assert isinstance(item, str), f"{where}.{name}"
            assert item in prop.get("enum", [item]), f"{where}.{name}"
            if prop.get("format") == "uuid":
                assert str(uuid.UUID(item)) == item, f"{where}.{name}: {item!r} is not a canonical uuid"
            if prop.get("format") == "date-time":
                assert parse_datetime(item) is not None, f"{where}.{name}"


def test_list_overdue_detail_and_events_show_the_schemas_task(api_client, user, workspace, schema):
    yesterday = local_today(workspace) - datetime.timedelta(days=1)
    linked = task_factory(
        workspace=workspace,
        contact=contact_factory(workspace=workspace, name="Ana"),
        deal=deal_factory(workspace=workspace),
        assigned_to=user,
        created_by=user,
        due_date=yesterday,
    )
    bare = task_factory(workspace=workspace)  # no due date, no relations
    listed = {row["id"]: row for row in api_client.get(LIST_URL).json()["tasks"]}
    (overdue,) = api_client.get(f"{LIST_URL}/overdue").json()["tasks"]
    assert listed[str(linked.pk)] == overdue == api_client.get(f"{LIST_URL}/{linked.pk}").json()["task"]
    assert listed[str(bare.pk)] == api_client.get(f"{LIST_URL}/{bare.pk}").json()["task"]
    assert (overdue["due_date"], overdue["is_overdue"]) == (yesterday.isoformat(), True)
    assert overdue["contact"]["name"] == "Ana" and overdue["assignee"]["email"] == user.email
    assert listed[str(bare.pk)]["due_date"] is None
    created = Event.objects.filter(workspace=workspace, name="task:created").order_by("seq")
    assert [event.payload for event in created] == [listed[str(linked.pk)], listed[str(bare.pk)]]
    task_schema = resolve(schema, {"$ref": "#/components/schemas/Task"})
    for where, task in [("linked", overdue), ("bare", listed[str(bare.pk)])]:
        assert_conforms(schema, task_schema, task, where)


@pytest.mark.parametrize("route", [LIST_URL, f"{LIST_URL}/overdue"])
def test_list_query_count_does_not_grow_with_rows(api_client, user, workspace, route):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            response = api_client.get(route)
        assert response.status_code == 200
        return len(context.captured_queries)

    def add(number: int) -> None:
        for _ in range(number):
            task_factory(
                workspace=workspace,
                contact=contact_factory(workspace=workspace),
                deal=deal_factory(workspace=workspace),
                assigned_to=user,
                due_date=local_today(workspace) - datetime.timedelta(days=2),
            )

    add(2)
    few = count_queries()
    add(20)
    assert count_queries() == few


def test_cursor_and_page_paging_walk_every_row_once(api_client, workspace):
    made = {str(task_factory(workspace=workspace).pk) for _ in range(7)}
    seen, url = [], f"{LIST_URL}?limit=3"
    while url:
        body = api_client.get(url).json()
        seen += [row["id"] for row in body["tasks"]]
        url = f"{LIST_URL}?limit=3&cursor={body['next_cursor']}" if body["has_more"] else None
    assert len(seen) == len(set(seen)) == 7 and set(seen) == made
    pages = [api_client.get(f"{LIST_URL}?limit=3&page={page}").json() for page in (1, 2, 3)]
    assert [row["id"] for page in pages for row in page["tasks"]] == seen
    assert pages[0]["total"] == 7
