"""Resource-keyed lists: keyset cursors, page+limit, clamping, updated_since, tenancy."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from crm.models import Label
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint

LABELS = "/api/v1/probe/labels"
CONTACTS = "/api/v1/probe/contacts"
pytestmark = [pytest.mark.django_db, pytest.mark.urls("whatshybrid.api.tests.urls")]


def walk(client, url: str, limit: int) -> list[dict]:
    """Follows next_cursor to the end; returns every row seen, in order."""
    rows, cursor, pages = [], None, 0
    separator = "&" if "?" in url else "?"
    while True:
        page_url = f"{url}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(page_url).json()
        assert body["limit"] == limit
        rows += body["labels"] if "labels" in body else body["contacts"]
        pages += 1
        assert pages < 100
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return rows
        cursor = body["next_cursor"]
        assert cursor


def make_labels(workspace, count: int, color: str = "#111111") -> list[Label]:
    return [Label.objects.create(workspace=workspace, name=f"label {i:03d}", color=color) for i in range(count)]


def test_standard_checks_on_a_workspace_collection(api_client, other_client, anon_client, workspace, other_workspace):
    names = iter(range(10_000))
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=LABELS,
        detail_url=lambda label: f"{LABELS}/{label.pk}",
        resource_name="labels",
        make=lambda ws: Label.objects.create(workspace=ws, name=f"n{next(names)}"),
        page_growth=(3, 18),
    )


def test_envelope_shape(api_client, workspace):
    make_labels(workspace, 3)
    body = api_client.get(LABELS).json()
    assert set(body) == {"labels", "limit", "next_cursor", "has_more"}
    assert [row["name"] for row in body["labels"]] == ["label 000", "label 001", "label 002"]
    assert body["has_more"] is False and body["next_cursor"] is None


@pytest.mark.parametrize("order", ["", "color", "-color", "-created_at", "description,-name", "updated_at"])
def test_cursor_walk_sees_every_row_once_in_order(api_client, workspace, other_workspace, order):
    labels = make_labels(workspace, 23)
    for index, label in enumerate(labels):  # ties on color and description force the pk tie-breaker
        label.color = ["#aaaaaa", "#bbbbbb"][index % 2]
        label.description = ["x", "y", "z"][index % 3]
        label.save()
    make_labels(other_workspace, 5)
    url = f"{LABELS}?order={order}" if order else LABELS
    rows = walk(api_client, url, limit=4)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == 23
    fields = order.split(",") if order else ["name"]
    tie_breaker = "-pk" if fields[-1].startswith("-") else "pk"  # the pk follows the last field's direction
    expected = Label.objects.filter(workspace=workspace).order_by(*fields, tie_breaker)
    assert ids == [str(label.pk) for label in expected]


def test_rows_inserted_or_deleted_between_pages_cause_no_skips_or_duplicates(api_client, workspace):
    make_labels(workspace, 10)
    first = api_client.get(f"{LABELS}?limit=4").json()
    seen = [row["name"] for row in first["labels"]]
    # Changes behind the cursor and ahead of it while the client pages.
    Label.objects.create(workspace=workspace, name="label 000a")  # behind: not shown
    Label.objects.create(workspace=workspace, name="label 999")  # ahead: shown
    Label.objects.filter(workspace=workspace, name="label 005").delete()
    rest = walk(api_client, f"{LABELS}?cursor={first['next_cursor']}", limit=4)
    names = seen + [row["name"] for row in rest]
    assert len(names) == len(set(names))
    assert names == [f"label {i:03d}" for i in range(10) if i != 5] + ["label 999"]


def test_nullable_ordering_column_pages_consistently(api_client, workspace):
    now = timezone.now()
    for index in range(17):
        moment = None if index % 3 == 0 else now - timedelta(minutes=index % 5)
        Contact.objects.create(workspace=workspace, phone=f"+55119000{index:04d}", last_interaction_at=moment)
    for order in ("last_interaction_at", "-last_interaction_at"):
        rows = walk(api_client, f"{CONTACTS}?order={order}", limit=3)
        ids = [row["id"] for row in rows]
        assert len(ids) == len(set(ids)) == 17, order
        values = [row["last_interaction_at"] for row in rows]
        present = [v for v in values if v is not None]
        if order.startswith("-"):
            # NULLs first, then newest to oldest.
            assert values[: values.count(None)] == [None] * values.count(None)
            assert present == sorted(present, reverse=True)
        else:
            assert values[len(present) :] == [None] * values.count(None)
            assert present == sorted(present)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "e30",  # {}
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(json.dumps(["a", "b", "c"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["label", "not-a-uuid"]).encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "%00",
    ],
)
def test_bad_cursor_is_400(api_client, workspace, cursor):
    make_labels(workspace, 2)
    body = assert_json_error(api_client.get(f"{LABELS}?cursor={cursor}"), 400, "INVALID_PAGINATION")
    assert "cursor" in body["errors"]


def test_page_and_limit_paging(api_client, workspace):
    make_labels(workspace, 25)
    body = api_client.get(f"{LABELS}?page=2&limit=10").json()
    assert [row["name"] for row in body["labels"]] == [f"label {i:03d}" for i in range(10, 20)]
    assert body["page"] == 2 and body["total"] == 25 and body["limit"] == 10 and body["has_more"] is True
    last = api_client.get(f"{LABELS}?page=3&limit=10").json()
    assert len(last["labels"]) == 5 and last["has_more"] is False
    beyond = api_client.get(f"{LABELS}?page=9&limit=10").json()
    assert beyond["labels"] == [] and beyond["has_more"] is False


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "99999999999999999999"])
def test_bad_page_is_400(api_client, page):
    body = assert_json_error(api_client.get(f"{LABELS}?page={page}"), 400, "INVALID_PAGINATION")
    assert "page" in body["errors"]


@pytest.mark.parametrize(
    "raw, expected", [("1000", 20), ("20", 20), ("7", 7), ("0", 1), ("-5", 1), ("99999999999999999999", 20)]
)
def test_limit_is_clamped_never_rejected(api_client, workspace, raw, expected):
    make_labels(workspace, 25)
    body = api_client.get(f"{LABELS}?limit={raw}").json()
    assert body["limit"] == expected and len(body["labels"]) == expected


@pytest.mark.parametrize("raw", ["abc", "1e3", "2.5"])
def test_non_integer_limit_is_400(api_client, raw):
    assert_json_error(api_client.get(f"{LABELS}?limit={raw}"), 400, "INVALID_PAGINATION")


def test_default_limit_comes_from_settings(api_client, workspace, settings):
    settings.PAGE_SIZE_DEFAULT = 4
    make_labels(workspace, 6)
    body = api_client.get(LABELS).json()
    assert body["limit"] == 4 and len(body["labels"]) == 4 and body["has_more"] is True


def test_updated_since(api_client, workspace):
    old, new = make_labels(workspace, 2)
    Label.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    names = [row["name"] for row in api_client.get(LABELS, {"updated_since": since}).json()["labels"]]
    assert names == [new.name]
    # Unencoded "+" arrives as a space; a naive time is read as UTC.
    plus = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00").replace("+", " ")
    assert len(api_client.get(f"{LABELS}?updated_since={plus}").json()["labels"]) == 1
    naive = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert len(api_client.get(f"{LABELS}?updated_since={naive}").json()["labels"]) == 1


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-45T00:00:00Z", "2026-02-30T10:00:00", "1"])
def test_bad_updated_since_is_400(api_client, raw):
    body = assert_json_error(api_client.get(LABELS, {"updated_since": raw}), 400, "VALIDATION_ERROR")
    assert "updated_since" in body["errors"]
