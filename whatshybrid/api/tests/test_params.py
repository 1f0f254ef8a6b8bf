"""Hostile query parameters on every list: each parameter of the schema gets NUL, an oversized
value and, where it takes a date, the extreme instants; cursors get extreme dates; and every
answer is a 400 in the error shape naming the parameter, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
import datetime
import json
from functools import cache

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.seed import Seeder, django_transport
from whatshybrid.api import params
from whatshybrid.api.errors import ErrorCode, FieldInvalid
from whatshybrid.api.testing import assert_json_error
from whatshybrid.api.views import WorkspaceViewSet

pytestmark = pytest.mark.django_db

LISTS = {
    "/api/v1/contacts": "contact",
    "/api/v1/conversations": "conversation",
    "/api/v1/crm/deals": "deal",
    "/api/v1/tasks": "task",
    "/api/v1/tasks/overdue": "task",
    "/api/v1/templates": "template",
    "/api/v1/events": None,
}
EXTREME_MOMENTS = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31", "0001-01-01")
DATE_PARAMETERS = {
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "updated_since",
    "due_after",
    "due_before",
}
NUMBER_OVERFLOWS = ("1e99999999", "-1e99999999", "Infinity", "1" * 30)


@cache
def query_parameters(path: str) -> tuple[str, ...]:
    """The query parameters the served schema documents for ``GET path``."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][path]["get"]
    return tuple(p["name"] for p in operation.get("parameters", ()) if p["in"] == "query")


def expected_code(name: str) -> str:
    return ErrorCode.INVALID_PAGINATION if name in params.PAGING_PARAMETERS else ErrorCode.VALIDATION_ERROR


def every_parameter() -> list[tuple[str, str]]:
    return [(path, name) for path in LISTS for name in query_parameters(path)]


def test_every_list_documents_its_filters():
    assert {"q", "search", "tag", "label", "opted_out", "created_after", "ordering", "updated_since"} <= set(
        query_parameters("/api/v1/contacts")
    )
    assert {"status", "assigned_to", "contact_id", "label", "tag", "q"} <= set(
        query_parameters("/api/v1/conversations")
    )
    assert {"stage", "status", "contact", "label", "value_min", "min_value", "q"} <= set(
        query_parameters("/api/v1/crm/deals")
    )
    assert {"status", "priority", "type", "deal", "due_after", "overdue", "q"} <= set(query_parameters("/api/v1/tasks"))
    assert {"category", "q", "search"} <= set(query_parameters("/api/v1/templates"))
    assert {"after", "cursor", "limit"} <= set(query_parameters("/api/v1/events"))


@pytest.mark.parametrize(("path", "name"), every_parameter())
def test_nul_in_any_parameter_is_a_400_naming_it(api_client, path, name):
    body = assert_json_error(api_client.get(path, {name: "a\x00b"}), 400, expected_code(name))
    assert name in body["errors"]


@pytest.mark.parametrize(("path", "name"), every_parameter())
def test_huge_values_are_a_400_naming_the_parameter(api_client, path, name):
    body = assert_json_error(api_client.get(path, {name: "x" * 50_001}), 400, expected_code(name))
    assert name in body["errors"]


@pytest.mark.parametrize("path", ["/api/v1/crm/deals", "/api/v1/conversations", "/api/v1/contacts"])
def test_a_long_search_is_cut_not_refused(api_client, path):
    # Up to the value cap a search is cut to TEXT_MAX_LENGTH characters (no LIKE too complex).
    assert api_client.get(path, {"q": "%_" * (params.QUERY_VALUE_MAX_LENGTH // 2)}).status_code == 200


def test_nul_in_a_parameter_name_is_a_400(api_client):
    assert_json_error(api_client.get("/api/v1/conversations?a%00b=1"), 400, ErrorCode.VALIDATION_ERROR)


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [(path, name, value) for path, name in every_parameter() if name in DATE_PARAMETERS for value in EXTREME_MOMENTS],
)
def test_extreme_dates_are_a_400_not_an_overflow(api_client, path, name, value):
    response = api_client.get(path, {name: value})
    if response.status_code != 200:  # a date inside the range (9999-12-31 as a lower bound) may answer rows
        body = assert_json_error(response, 400, ErrorCode.VALIDATION_ERROR)
        assert name in body["errors"]


@pytest.mark.parametrize("value", ["0001-01-01", "0001-01-01T00:00:00", "9999-12-31", "9999-12-30T23:00:00-03:00"])
def test_due_bounds_in_a_utc_plus_14_workspace(api_client, workspace, value):
    workspace.timezone = "Pacific/Kiritimati"
    workspace.save(update_fields=["timezone"])
    for name in ("due_after", "due_before"):
        body = assert_json_error(api_client.get("/api/v1/tasks", {name: value}), 400, ErrorCode.VALIDATION_ERROR)
        assert name in body["errors"]


@pytest.mark.parametrize("name", ["value_min", "value_max", "min_value", "max_value"])
@pytest.mark.parametrize("value", NUMBER_OVERFLOWS)
def test_numeric_overflow_is_a_400(api_client, name, value):
    body = assert_json_error(api_client.get("/api/v1/crm/deals", {name: value}), 400, ErrorCode.VALIDATION_ERROR)
    assert {"value_min", "value_max"} & set(body["errors"])


@pytest.mark.parametrize("name", ["after", "cursor"])
def test_event_feed_sequence_overflow_is_a_400(api_client, name):
    assert_json_error(api_client.get("/api/v1/events", {name: str(2**64)}), 400, ErrorCode.VALIDATION_ERROR)


def _with_extreme_dates(cursor: str, extreme: str) -> str:
    values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    changed = [
        extreme if isinstance(value, str) and value[:4].isdigit() and "-" in value else value for value in values
    ]
    assert changed != values, values
    return base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=")


# The lists that order by a date (templates order by name).
@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/conversations", "/api/v1/crm/deals", "/api/v1/tasks"])
@pytest.mark.parametrize("extreme", EXTREME_MOMENTS[:2])
def test_extreme_dates_in_cursors_are_a_400(api_client, path, extreme):
    seeder = Seeder(django_transport(api_client))
    for _ in range(2):
        seeder.make(LISTS[path])
    cursor = api_client.get(path, {"limit": 1}).json()["next_cursor"]
    assert cursor
    response = api_client.get(path, {"limit": 1, "cursor": _with_extreme_dates(cursor, extreme)})
    body = assert_json_error(response, 400, ErrorCode.INVALID_PAGINATION)
    assert "cursor" in body["errors"]


@pytest.mark.parametrize("value", [*EXTREME_MOMENTS[:2], "9999-12-31T23:59:59+14:00"])
def test_extreme_expected_close_date_is_a_400(api_client, value):
    seeder = Seeder(django_transport(api_client))
    contact = seeder.id("contact")
    response = api_client.post("/api/v1/crm/deals", {"title": "D", "contact_id": contact, "expected_close_date": value})
    body = assert_json_error(response, 400, ErrorCode.VALIDATION_ERROR)
    assert "expected_close_date" in body["errors"]


def test_extreme_message_cursors_are_a_400(api_client):
    conversation = Seeder(django_transport(api_client)).id("conversation")
    for extreme in EXTREME_MOMENTS[:2]:
        raw = json.dumps([extreme, "00000000-0000-0000-0000-000000000001"]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        for name in ("before", "after"):
            url = f"/api/v1/conversations/{conversation}/messages"
            body = assert_json_error(api_client.get(url, {name: cursor}), 400, ErrorCode.INVALID_PAGINATION)
            assert name in body["errors"]


# --- the parsers themselves ---------------------------------------------------------------------
def test_parsers_name_the_parameter():
    cases = [
        (params.parse_uuid, "nope"),
        (params.parse_bool, "maybe"),
        (params.parse_decimal, "1e99999999"),
        (params.parse_decimal, "NaN"),
        (params.parse_int, "ten"),
        (params.parse_moment, "9999-12-31T23:59:59-14:00"),
        (params.parse_moment, "0001-01-01T00:00:00+14:00"),
        (params.parse_moment, "2026-02-30"),
        (params.parse_day, "0001-01-01"),
        (params.parse_text, "a\x00"),
    ]
    for parse, raw in cases:
        with pytest.raises(FieldInvalid) as caught:
            parse(raw, name="p")
        assert caught.value.errors == {"p": [caught.value.reason]}
        assert caught.value.code == ErrorCode.VALIDATION_ERROR


def test_moments_read_dates_offsets_and_zones():
    assert params.parse_moment("2026-11-29", name="p") == datetime.datetime(2026, 11, 29, tzinfo=datetime.UTC)
    assert params.parse_moment("2026-11-29", name="p", end_of_day=True).time() == datetime.time.max
    assert params.parse_moment("2026-11-29T10:00:00 03:00", name="p") == datetime.datetime(
        2026, 11, 29, 7, tzinfo=datetime.UTC
    )
    assert params.parse_choices("Open, won", name="p", allowed=["open", "won", "lost"]) == ["open", "won"]


def test_a_viewset_cannot_replace_the_tenancy_lookups():
    for method in ("get_queryset", "get_object"):
        with pytest.raises(TypeError, match=method):
            type("Leaky", (WorkspaceViewSet,), {method: lambda self: None})


def test_error_codes_are_the_strings_clients_see():
    assert ErrorCode.VALIDATION_ERROR == "VALIDATION_ERROR"
    assert json.dumps({"code": ErrorCode.NOT_FOUND}) == '{"code": "NOT_FOUND"}'


def test_a_bad_phone_is_one_error_type_rendered_once(api_client):
    from contacts.phones import InvalidPhone, normalize_phone

    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("not a phone")
    assert isinstance(caught.value, FieldInvalid) and isinstance(caught.value, ValueError)
    assert caught.value.errors == {"phone": [str(caught.value)]}
    for path in ("/api/v1/conversations", "/api/v1/contacts"):
        body = assert_json_error(api_client.post(path, {"phone": "not a phone"}), 400, ErrorCode.VALIDATION_ERROR)
        assert "phone" in body["errors"]
