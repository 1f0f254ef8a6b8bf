from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Membership
from contacts.models import Contact
from contacts.tests.factories import contact_factory
from crm.models import Label
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/contacts"


def detail(contact: Any) -> str:
    return f"{LIST_URL}/{contact.pk}"


def events(workspace: Any, name: str) -> list[dict]:
    return list(Event.objects.filter(workspace=workspace, name=name).order_by("seq").values_list("payload", flat=True))


def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=LIST_URL,
        detail_url=detail,
        resource_name="contacts",
        make=lambda ws: contact_factory(workspace=ws, name="Ana", tags=["vip"]),
        detail_methods=("get", "put", "patch", "delete"),
    )


def test_create_normalizes_and_publishes(api_client, workspace):
    body = {"phone": "(11) 9999-0001", "name": " Ana ", "email": "Ana@Example.COM", "tags": ["vip", "vip", "lead"]}
    response = api_client.post(LIST_URL, body)
    assert response.status_code == 201, response.content
    contact = response.json()["contact"]
    assert contact["phone"] == "+5511999990001"
    assert contact["phone_raw"] == "(11) 9999-0001"
    assert contact["name"] == "Ana"
    assert contact["email"] == "ana@example.com"
    assert contact["tags"] == ["vip", "lead"]
    assert contact["source"] == "manual"
    assert events(workspace, "contact:created") == [contact]


def test_duplicate_phone_in_any_format_is_409_with_existing_id(api_client, workspace):
    existing = contact_factory(workspace=workspace, phone="+5511999990001")
    for phone in ("5511999990001@c.us", "(11) 9999-0001", "+55 11 99999-0001"):
        body = assert_json_error(api_client.post(LIST_URL, {"phone": phone}), 409, "CONTACT_EXISTS")
        assert body["id"] == str(existing.pk)
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_same_phone_in_another_workspace_is_independent(api_client, other_workspace):
    contact_factory(workspace=other_workspace, phone="+5511999990001")
    assert api_client.post(LIST_URL, {"phone": "+5511999990001"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "phone"),
        ({"phone": "abc"}, "phone"),
        ({"phone": "+5511999990001", "email": "nope"}, "email"),
        ({"phone": "+5511999990001", "name": "x" * 10_001}, "name"),
        ({"phone": "+5511999990001", "notes": "x" * 5001}, "notes"),
        ({"phone": "+5511999990001", "tags": "not-a-list-of-strings" * 0 + "x" * 60}, "tags"),
        ({"phone": "+5511999990001", "tags": [1, 2]}, "tags"),
        ({"phone": "+5511999990001", "custom_fields": [1]}, "custom_fields"),
        ({"phone": "+5511999990001", "unknown": 1}, "unknown"),
        ({"phone": "+5511999990001", "labels": ["00000000-0000-0000-0000-000000000000"]}, "labels"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(api_client, workspace, body, field):
    error = assert_json_error(api_client.post(LIST_URL, body), 400, "VALIDATION_ERROR")
    assert field in error["errors"]
    assert not Contact.objects.filter(workspace=workspace).exists()
    assert not Event.objects.filter(workspace=workspace).exists()


def test_non_json_body_is_a_json_400(api_client):
    response = api_client.generic("POST", LIST_URL, "{not json", content_type="application/json")
    assert_json_error(response, 400)


def test_labels_of_own_workspace_only(api_client, workspace, other_workspace):
    mine = Label.objects.create(workspace=workspace, name="Hot")
    theirs = Label.objects.create(workspace=other_workspace, name="Cold")
    response = api_client.post(LIST_URL, {"phone": "+5511999990001", "labels": [str(theirs.pk)]})
    assert_json_error(response, 400)
    response = api_client.post(LIST_URL, {"phone": "+5511999990001", "labels": [str(mine.pk)]})
    assert response.json()["contact"]["labels"] == [{"id": str(mine.pk), "name": "Hot", "color": mine.color}]


def test_update_is_partial_and_publishes(api_client, workspace):
    contact = contact_factory(workspace=workspace, name="Ana", email="ana@example.com")
    response = api_client.put(detail(contact), {"name": "Ana Maria", "opted_out": True})
    assert response.status_code == 200, response.content
    body = response.json()["contact"]
    assert (body["name"], body["email"], body["opted_out"]) == ("Ana Maria", "ana@example.com", True)
    assert events(workspace, "contact:updated") == [body]
    # Echoed read-only keys are ignored.
    assert api_client.patch(detail(contact), {**body, "name": "Ana M."}).status_code == 200


def test_update_to_another_contacts_phone_is_409(api_client, workspace):
    first = contact_factory(workspace=workspace, phone="+5511999990001")
    second = contact_factory(workspace=workspace, phone="+5511999990002")
    body = assert_json_error(api_client.put(detail(second), {"phone": "11 9999-0001"}), 409)
    assert body["id"] == str(first.pk)
    second.refresh_from_db()
    assert second.phone == "+5511999990002"
    response = api_client.put(detail(second), {"phone": "5511999990003@c.us"})
    assert response.json()["contact"]["phone"] == "+5511999990003"


def test_delete_publishes_id(api_client, workspace):
    contact = contact_factory(workspace=workspace)
    response = api_client.delete(detail(contact))
    assert response.json() == {"message": "Contact deleted.", "id": str(contact.pk)}
    assert events(workspace, "contact:deleted") == [{"id": str(contact.pk), "phone": contact.phone}]
    assert_json_error(api_client.get(detail(contact)), 404)


def test_viewer_cannot_write(client_for, make_member, workspace):
    viewer = client_for(make_member(workspace, role=Membership.Role.VIEWER), workspace)
    contact = contact_factory(workspace=workspace)
    assert viewer.get(detail(contact)).status_code == 200
    assert_json_error(viewer.post(LIST_URL, {"phone": "+5511999990009"}), 403)
    assert_json_error(viewer.delete(detail(contact)), 403)
    assert_json_error(viewer.post(f"{LIST_URL}/import", {"contacts": [{"phone": "+5511999990009"}]}), 403)


def test_detail_has_related_lists(api_client, workspace):
    contact = contact_factory(workspace=workspace)
    body = api_client.get(detail(contact)).json()
    assert body["contact"]["id"] == str(contact.pk)
    assert isinstance(body["conversations"], list)
    assert isinstance(body["deals"], list)
    assert isinstance(body["tasks"], list)


def test_detail_lists_the_contacts_conversation(api_client, workspace):
    from messaging.services import conversation_open_by_phone

    conversation, _ = conversation_open_by_phone(workspace=workspace, phone="5511999990001@c.us", name="Bia")
    contact = Contact.objects.get(workspace=workspace, phone="+5511999990001")
    assert contact.name == "Bia"
    body = api_client.get(detail(contact)).json()
    assert [row["id"] for row in body["conversations"]] == [str(conversation.pk)]


def test_detail_lists_the_contacts_tasks_with_their_due_day(api_client, workspace):
    contact = contact_factory(workspace=workspace)
    created = api_client.post(
        "/api/v1/tasks", {"title": "Ligar", "contact_id": str(contact.pk), "due_date": "2026-12-01"}
    )
    assert created.status_code == 201, created.content
    rows = api_client.get(detail(contact)).json()["tasks"]
    assert [(row["id"], row["title"], row["due_day"], row["due_at"]) for row in rows] == [
        (created.json()["task"]["id"], "Ligar", "2026-12-01", None)
    ]


# --- list: search, filters, ordering, paging ------------------------------------------------
def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["contacts"]]


def test_search_finds_a_phone_typed_in_any_format(api_client, workspace):
    ana = contact_factory(workspace=workspace, phone="+5511999990001", name="Ana", email="ana@x.com")
    contact_factory(workspace=workspace, phone="+5521988880002", name="Bruno")
    for text in ("(11) 9999-0001", "5511999990001@c.us", "99990001", "ana", "ANA@X"):
        assert ids(api_client.get(LIST_URL, {"search": text})) == [str(ana.pk)], text
        assert ids(api_client.get(LIST_URL, {"q": text})) == [str(ana.pk)], text


def test_filters(api_client, workspace):
    hot = Label.objects.create(workspace=workspace, name="Hot")
    vip = contact_factory(workspace=workspace, tags=["vip"], source="whatsapp", labels=[hot])
    plain = contact_factory(workspace=workspace, opted_out=True)
    assert ids(api_client.get(LIST_URL, {"tag": "vip"})) == [str(vip.pk)]
    assert ids(api_client.get(LIST_URL, {"label": str(hot.pk)})) == [str(vip.pk)]
    assert ids(api_client.get(LIST_URL, {"label": "hot"})) == [str(vip.pk)]
    assert ids(api_client.get(LIST_URL, {"source": "whatsapp"})) == [str(vip.pk)]
    assert ids(api_client.get(LIST_URL, {"opted_out": "true"})) == [str(plain.pk)]
    assert set(ids(api_client.get(LIST_URL, {"created_after": "2000-01-01"}))) == {str(vip.pk), str(plain.pk)}
    assert ids(api_client.get(LIST_URL, {"created_before": "2000-01-01"})) == []
    since = Contact.objects.get(pk=plain.pk).updated_at.isoformat()
    assert str(plain.pk) in ids(api_client.get(LIST_URL, {"updated_since": since}))


@pytest.mark.parametrize(
    "params",
    [
        {"ordering": "phone; drop"},
        {"created_after": "yesterday"},
        {"opted_out": "maybe"},
        {"updated_since": "nope"},
        {"limit": "ten"},
        {"cursor": "garbage"},
    ],
)
def test_bad_list_params_are_400(api_client, params):
    assert_json_error(api_client.get(LIST_URL, params), 400)


def test_ordering_and_cursor_paging_cover_everything_once(api_client, workspace):
    made = [contact_factory(workspace=workspace, name=f"N{i:02d}") for i in range(7)]
    seen: list[str] = []
    params = {"ordering": "name", "limit": 3}
    while True:
        body = api_client.get(LIST_URL, params).json()
        seen += [row["name"] for row in body["contacts"]]
        if not body["has_more"]:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == [contact.name for contact in made]


def test_limit_is_clamped_to_contacts_maximum(api_client, workspace, settings):
    contact_factory(workspace=workspace)
    body = api_client.get(LIST_URL, {"limit": 5000}).json()
    assert body["limit"] == settings.CONTACTS_PAGE_SIZE_MAX == 1000


def test_list_query_count_does_not_grow_with_labels(api_client, workspace):
    from whatshybrid.api.testing import list_query_count

    labels = [Label.objects.create(workspace=workspace, name=f"L{i}") for i in range(3)]
    for index in range(30):
        contact_factory(workspace=workspace, labels=labels[: index % 4])
    assert list_query_count(api_client, LIST_URL, 3) == list_query_count(api_client, LIST_URL, 30)
    rows = api_client.get(LIST_URL, {"limit": 30}).json()["contacts"]
    assert sorted(len(row["labels"]) for row in rows) == sorted(index % 4 for index in range(30))


def test_list_labels_match_the_detail_and_come_with_the_page_query(api_client, workspace):
    from whatshybrid.api.testing import list_query_count

    labels = [Label.objects.create(workspace=workspace, name=name) for name in ("beta", "Alfa", "Ágil", "gama")]
    contact = contact_factory(workspace=workspace, labels=labels)
    contact_factory(workspace=workspace)
    listed = {row["id"]: row["labels"] for row in api_client.get(LIST_URL).json()["contacts"]}
    detail = api_client.get(f"{LIST_URL}/{contact.pk}").json()["contact"]["labels"]
    assert listed[str(contact.pk)] == detail
    assert [row["name"] for row in detail] == ["Alfa", "beta", "gama", "Ágil"]
    assert {row["id"] for row in detail} == {str(label.pk) for label in labels}
    assert [] in listed.values()
    # Authentication's session check, the page, and one query for the whole page's labels.
    assert list_query_count(api_client, LIST_URL, 50) == 3


@pytest.mark.parametrize("param", ["search", "q", "tag", "label", "source", "created_after"])
def test_nul_in_list_params_is_400(api_client, param):
    # PostgreSQL rejects NUL in text parameters; the API must say 400, not fail in the query.
    assert_json_error(api_client.get(LIST_URL, {param: "a\x00b"}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "+5511999990001\u0000"},
        {"phone": "+5511999990001", "name": "A\u0000"},
        {"phone": "+5511999990001", "email": "a\u0000@x.com"},
        {"phone": "+5511999990001", "notes": "\u0000"},
        {"phone": "+5511999990001", "source": "\u0000"},
        {"phone": "+5511999990001", "tags": ["\u0000"]},
        {"phone": "+5511999990001", "custom_fields": {"k": "\u0000"}},
        {"phone": "+5511999990001", "custom_fields": {"\u0000": 1}},
    ],
)
def test_nul_in_bodies_is_400(api_client, workspace, body):
    assert_json_error(api_client.post(LIST_URL, body), 400, "VALIDATION_ERROR")
    assert not Contact.objects.filter(workspace=workspace).exists()
