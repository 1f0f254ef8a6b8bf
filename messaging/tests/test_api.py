from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from crm.models import Label
from messaging.models import Conversation, Message
from messaging.tests.factories import contact_factory, conversation_factory, message_factory
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/conversations"


def detail(conversation: Any) -> str:
    return f"{LIST_URL}/{conversation.pk}"


def messages_url(conversation: Any) -> str:
    return f"{LIST_URL}/{conversation.pk}/messages"


def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=LIST_URL,
        detail_url=detail,
        resource_name="conversations",
        make=lambda ws: message_factory(conversation=conversation_factory(workspace=ws)).conversation,
        detail_methods=("get", "put", "delete"),
    )


def test_other_workspace_messages_are_404(api_client, other_workspace):
    theirs = conversation_factory(workspace=other_workspace)
    message = message_factory(conversation=theirs)
    assert_json_error(api_client.get(messages_url(theirs)), 404)
    assert_json_error(api_client.post(messages_url(theirs), {"content": "x"}), 404)
    # An invalid body does not turn the 404 into a 400: the lookup still answers first.
    assert_json_error(api_client.post(messages_url(theirs), {"content": 5}), 404)
    assert_json_error(api_client.post(f"/api/v1/conversations/{uuid.uuid4()}/messages", {"content": "x"}), 404)
    assert_json_error(api_client.put(f"{messages_url(theirs)}/{message.pk}", {"status": "read"}), 404)
    assert_json_error(api_client.post(f"{detail(theirs)}/read"), 404)
    assert Message.objects.filter(conversation=theirs).count() == 1
    message.refresh_from_db()
    assert message.status == "sent"


def test_contact_of_other_workspace_cannot_be_opened(api_client, other_workspace):
    contact = contact_factory(workspace=other_workspace)
    body = assert_json_error(api_client.post(LIST_URL, {"contact_id": str(contact.pk)}), 400, "VALIDATION_ERROR")
    assert "contact_id" in body["errors"]
    assert not Conversation.objects.filter(contact=contact).exists()


def test_list_shape_preview_unread_and_order(api_client, workspace):
    older = conversation_factory(workspace=workspace, name="Maria")
    newer = conversation_factory(workspace=workspace, name="João")
    message_factory(conversation=older, content="primeira", direction="in")
    message_factory(conversation=older, content="segunda " + "x" * 300, direction="in")
    message_factory(conversation=newer, content="oi", direction="out")
    message_factory(conversation=older, content="mais uma", direction="in")

    body = api_client.get(LIST_URL).json()
    assert set(body) >= {"conversations", "limit", "next_cursor", "has_more"}
    rows = body["conversations"]
    assert [row["id"] for row in rows] == [str(older.pk), str(newer.pk)]  # last activity first
    first = rows[0]
    assert first["contact"] == {"id": str(older.contact_id), "name": "Maria", "phone": older.contact.phone}
    assert first["unread_count"] == 3
    assert first["last_message"]["content"] == "mais uma"
    assert first["last_message"]["direction"] == "in"
    assert rows[1]["unread_count"] == 0
    assert rows[1]["last_message"]["content"] == "oi"


def test_last_message_preview_is_truncated(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    message_factory(conversation=conversation, content="y" * 1000)
    row = api_client.get(LIST_URL).json()["conversations"][0]
    assert row["last_message"]["content"] == "y" * 200


def test_list_cursor_paging_visits_every_row_once(api_client, workspace):
    made = {str(conversation_factory(workspace=workspace).pk) for _ in range(7)}
    seen: list[str] = []
    url = f"{LIST_URL}?limit=3"
    while url:
        body = api_client.get(url).json()
        seen += [row["id"] for row in body["conversations"]]
        url = f"{LIST_URL}?limit=3&cursor={body['next_cursor']}" if body["has_more"] else None
    assert sorted(seen) == sorted(made) and len(seen) == 7


def test_list_filters(api_client, workspace, make_member):
    agent = make_member(workspace, name="Agente")
    label = Label.objects.create(workspace=workspace, name="Atacadista")
    maria = conversation_factory(workspace=workspace, name="Maria Silva", phone="+5511911112222")
    joao = conversation_factory(workspace=workspace, name="João", phone="+5511933334444")
    ana = conversation_factory(workspace=workspace, name="Ana")
    message_factory(conversation=joao, content="Quero o orçamento do sofá")
    api_client.put(detail(maria), {"assigned_to": str(agent.pk), "tags": ["urgente", "b2b"]})
    api_client.put(detail(joao), {"status": "pending", "label_ids": [str(label.pk)]})
    api_client.put(detail(ana), {"status": "closed"})

    def ids(query: str) -> set[str]:
        response = api_client.get(f"{LIST_URL}?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["conversations"]}

    assert ids("status=open") == {str(maria.pk)}
    assert ids("status=closed") == {str(ana.pk)}
    assert ids("status=open,pending") == {str(maria.pk), str(joao.pk)}
    assert ids("status=active") == {str(maria.pk), str(joao.pk)}
    assert ids(f"assigned_to={agent.pk}") == {str(maria.pk)}
    assert ids("assigned_to=none") == {str(joao.pk), str(ana.pk)}
    assert ids("tag=urgente") == {str(maria.pk)}
    assert ids("tag=urg") == set()  # whole tags only
    assert ids(f"label={label.pk}") == {str(joao.pk)}
    assert ids("label=atacadista") == {str(joao.pk)}
    assert ids(f"contact_id={ana.contact_id}") == {str(ana.pk)}
    assert ids("q=silva") == {str(maria.pk)}
    assert ids("q=33334444") == {str(joao.pk)}
    assert ids("q=orçamento") == {str(joao.pk)}
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert ids(f"updated_since={later.replace('+', '%2B')}") == set()


@pytest.mark.parametrize(
    "query,field",
    [
        ("status=archived", "status"),
        ("assigned_to=abc", "assigned_to"),
        ("contact_id=12", "contact"),
        ("updated_since=yesterday", "updated_since"),
        ("cursor=%%%", "cursor"),
    ],
)
def test_bad_list_filters_are_400(api_client, query, field):
    body = assert_json_error(api_client.get(f"{LIST_URL}?{query}"), 400)
    assert field in body["errors"]


def test_assigned_to_me(api_client, workspace, user):
    mine = conversation_factory(workspace=workspace)
    conversation_factory(workspace=workspace)
    api_client.put(detail(mine), {"assigned_to": str(user.pk)})
    rows = api_client.get(f"{LIST_URL}?assigned_to=me").json()["conversations"]
    assert [row["id"] for row in rows] == [str(mine.pk)]
    assert rows[0]["assignee"] == {"id": str(user.pk), "name": user.name, "email": user.email}


def test_list_query_count_is_constant(api_client, workspace, make_member):
    agent = make_member(workspace)
    label = Label.objects.create(workspace=workspace, name="Morno-teste")

    def full_conversation() -> None:
        conversation = conversation_factory(workspace=workspace)
        message_factory(conversation=conversation, direction="in")
        api_client.put(detail(conversation), {"assigned_to": str(agent.pk), "label_ids": [str(label.pk)]})

    full_conversation()
    with CaptureQueriesContext(connection) as small:
        assert api_client.get(f"{LIST_URL}?limit=1").status_code == 200
    for _ in range(6):
        full_conversation()
    with CaptureQueriesContext(connection) as large:
        body = api_client.get(f"{LIST_URL}?limit=50").json()
    assert len(body["conversations"]) == 7
    assert all(
        row["labels"] == [{"id": str(label.pk), "name": "Morno-teste", "color": label.color}]
        for row in body["conversations"]
    )
    assert len(small.captured_queries) == len(large.captured_queries)


# --- open by contact -------------------------------------------------------------------------


def test_open_by_contact_creates_once_then_returns_it(api_client, workspace):
    contact = contact_factory(workspace=workspace, name="Carla")
    first = api_client.post(LIST_URL, {"contact_id": str(contact.pk)})
    assert first.status_code == 201, first.content
    again = api_client.post(LIST_URL, {"contact_id": str(contact.pk)})
    assert again.status_code == 200
    assert again.json()["conversation"]["id"] == first.json()["conversation"]["id"]
    assert Conversation.objects.filter(contact=contact).count() == 1
    event = Event.objects.get(workspace=workspace, name="conversation:created")
    assert event.payload == first.json()["conversation"]


def test_resolved_conversation_lets_a_new_one_open(api_client, workspace):
    contact = contact_factory(workspace=workspace)
    first = api_client.post(LIST_URL, {"contact_id": str(contact.pk)}).json()["conversation"]
    api_client.put(f"{LIST_URL}/{first['id']}", {"status": "resolved"})
    second = api_client.post(LIST_URL, {"contact_id": str(contact.pk)})
    assert second.status_code == 201
    assert second.json()["conversation"]["id"] != first["id"]
    # The old one cannot be reopened while the new one is active.
    body = assert_json_error(api_client.put(f"{LIST_URL}/{first['id']}", {"status": "open"}), 409)
    assert body["code"] == "CONVERSATION_ALREADY_ACTIVE"


@pytest.mark.parametrize(
    "payload",
    [{}, {"contact_id": "not-a-uuid"}, {"contact_id": "3f1c1a52-6d0e-4a53-9d7b-1b9ad2b6c3e1"}, {"bogus": 1}],
)
def test_open_rejects_bad_bodies(api_client, payload):
    assert_json_error(api_client.post(LIST_URL, payload), 400)
    assert not Conversation.objects.exists()


# --- detail and messages ---------------------------------------------------------------------


def test_detail_pages_messages_newest_last_with_cursors(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    start = timezone.now() - timedelta(hours=1)
    made = [
        message_factory(conversation=conversation, content=f"m{i}", sent_at=start + timedelta(seconds=i // 2))
        for i in range(11)
    ]  # pairs share a timestamp, so the id breaks ties

    body = api_client.get(f"{detail(conversation)}?limit=4").json()
    assert body["conversation"]["id"] == str(conversation.pk)
    expected = [m.content for m in sorted(made, key=lambda m: (m.sent_at, m.pk))]
    assert [m["content"] for m in body["messages"]] == expected[-4:]
    assert body["has_more_before"] is True and body["has_more_after"] is False

    collected = list(body["messages"])
    cursor = body["before_cursor"]
    while cursor:
        page = api_client.get(f"{detail(conversation)}?limit=4&before={cursor}").json()
        collected = page["messages"] + collected
        cursor = page["before_cursor"]
    assert [m["content"] for m in collected] == expected

    newest_first_page = api_client.get(f"{messages_url(conversation)}?limit=3&before={collected[0]['id']}").json()
    assert newest_first_page["messages"] == [] and newest_first_page["has_more_before"] is False

    after_page = api_client.get(f"{messages_url(conversation)}?limit=3&after={collected[2]['id']}").json()
    assert [m["content"] for m in after_page["messages"]] == expected[3:6]
    assert after_page["has_more_after"] is True
    tail = api_client.get(f"{messages_url(conversation)}?after={body['after_cursor']}").json()
    assert tail["messages"] == [] and tail["has_more_after"] is False


@pytest.mark.parametrize("query", ["before=garbage", "after=%7B", "before=a&after=b", "limit=x"])
def test_bad_message_cursors_are_400(api_client, workspace, query):
    conversation = conversation_factory(workspace=workspace)
    assert_json_error(api_client.get(f"{detail(conversation)}?{query}"), 400)


def test_message_page_query_count_is_constant(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    for i in range(30):
        message_factory(conversation=conversation, content=str(i))
    with CaptureQueriesContext(connection) as small:
        api_client.get(f"{detail(conversation)}?limit=2")
    with CaptureQueriesContext(connection) as large:
        assert len(api_client.get(f"{detail(conversation)}?limit=30").json()["messages"]) == 30
    assert len(small.captured_queries) == len(large.captured_queries)


def test_post_message_updates_conversation_and_publishes(api_client, workspace, user):
    conversation = conversation_factory(workspace=workspace)
    response = api_client.post(
        messages_url(conversation), {"content": "Bom dia!", "message_type": "text", "client_message_id": "c-1"}
    )
    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["content"] == "Bom dia!"
    assert message["direction"] == "out" and message["status"] == "sent"
    assert message["sender_id"] == str(user.pk)
    event = Event.objects.get(workspace=workspace, name="message:created")
    assert event.payload == message
    updated = Event.objects.filter(workspace=workspace, name="conversation:updated").last()
    conversation_body = api_client.get(detail(conversation)).json()["conversation"]
    assert updated.payload == conversation_body
    assert conversation_body["last_message"]["id"] == message["id"]


def test_retried_send_returns_the_first_message(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    body = {"content": "Pedido confirmado", "message_type": "text", "client_message_id": "abc-123"}
    first = api_client.post(messages_url(conversation), body)
    touched = Conversation.objects.values("updated_at", "last_activity_at").get(pk=conversation.pk)
    retry = api_client.post(messages_url(conversation), {**body, "content": "changed on retry"})
    assert first.status_code == 201 and retry.status_code == 200
    assert retry.json()["message"] == first.json()["message"]
    # A skipped retry writes nothing else either: no conversation update, no event, no number
    # (a number taken without its event would show as a gap once the next send is numbered).
    assert Conversation.objects.values("updated_at", "last_activity_at").get(pk=conversation.pk) == touched
    by_external = {"content": "in", "direction": "in", "external_id": "wamid.HBgM"}
    assert api_client.post(messages_url(conversation), by_external).status_code == 201
    assert api_client.post(messages_url(conversation), by_external).status_code == 200
    assert Message.objects.filter(conversation=conversation).count() == 2
    assert Event.objects.filter(workspace=workspace, name="message:created").count() == 2
    numbers = list(Event.objects.filter(workspace=workspace).values_list("seq", flat=True).order_by("seq"))
    assert numbers == list(range(1, len(numbers) + 1))
    conversation.refresh_from_db()
    assert conversation.unread_count == 1  # the replayed incoming message is not counted twice


def test_same_client_id_in_another_conversation_is_a_new_message(api_client, workspace):
    one, two = conversation_factory(workspace=workspace), conversation_factory(workspace=workspace)
    body = {"content": "x", "client_message_id": "same"}
    assert api_client.post(messages_url(one), body).status_code == 201
    assert api_client.post(messages_url(two), body).status_code == 201


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"content": ""}, "content"),
        ({"content": "x", "message_type": "sticker"}, "message_type"),
        ({"content": "x", "direction": "sideways"}, "direction"),
        ({"content": "x", "media_url": "not a url"}, "media_url"),
        ({"content": "x", "sent_at": "tomorrow"}, "sent_at"),
        ({"content": "x", "client_message_id": "c" * 129}, "client_message_id"),
        ({"content": "x", "workspace_id": "ignored", "color": "red"}, "color"),
        ({"content": "x", "direction": {}}, "direction"),
        ({"content": "x", "client_message_id": 7}, "client_message_id"),
        ({"content": 12}, "content"),
    ],
)
def test_bad_messages_are_400_and_change_nothing(api_client, workspace, payload, field):
    conversation = conversation_factory(workspace=workspace)
    body = assert_json_error(api_client.post(messages_url(conversation), payload), 400, "VALIDATION_ERROR")
    assert field in body["errors"]
    assert not Message.objects.exists()


def test_malformed_json_is_400(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    response = api_client.generic("POST", messages_url(conversation), "{not json", content_type="application/json")
    assert_json_error(response, 400)


def test_viewer_can_read_but_not_write(client_for, workspace, make_member):
    viewer = make_member(workspace, role=Membership.Role.VIEWER)
    client = client_for(viewer, workspace)
    conversation = conversation_factory(workspace=workspace)
    assert client.get(detail(conversation)).status_code == 200
    assert_json_error(client.post(messages_url(conversation), {"content": "x"}), 403)
    assert client.post(f"{detail(conversation)}/read").status_code == 200
    assert_json_error(client.delete(detail(conversation)), 403)


def test_agent_cannot_delete_but_owner_can(client_for, api_client, workspace, make_member):
    agent = client_for(make_member(workspace), workspace)
    conversation = conversation_factory(workspace=workspace)
    message_factory(conversation=conversation)
    assert_json_error(agent.delete(detail(conversation)), 403)
    response = api_client.delete(detail(conversation))
    assert response.json() == {"message": "Conversation deleted.", "id": str(conversation.pk)}
    assert not Conversation.objects.exists() and not Message.objects.exists()


# --- status, assignment, analytics ------------------------------------------------------------


@pytest.mark.parametrize(
    "path,allowed",
    [
        (["pending", "snoozed", "open", "resolved"], True),
        (["resolved", "open", "pending"], True),
        (["closed"], True),
        (["resolved", "pending"], False),
        (["resolved", "snoozed"], False),
    ],
)
def test_status_transitions(api_client, workspace, path, allowed):
    conversation = conversation_factory(workspace=workspace)
    responses = [api_client.put(detail(conversation), {"status": status}) for status in path]
    for response in responses[:-1]:
        assert response.status_code == 200
    if allowed:
        assert responses[-1].status_code == 200
        expected = "resolved" if path[-1] == "closed" else path[-1]
        assert responses[-1].json()["conversation"]["status"] == expected
    else:
        assert_json_error(responses[-1], 422, "INVALID_STATUS_TRANSITION")
        conversation.refresh_from_db()
        assert conversation.status == "resolved"


def test_update_rejects_bad_values(api_client, workspace, other_user):
    conversation = conversation_factory(workspace=workspace)
    cases = [
        ({"status": "archived"}, "status"),
        ({"assigned_to": str(other_user.pk)}, "assigned_to"),  # not a member of this workspace
        ({"assigned_to": "nope"}, "assigned_to"),
        ({"priority": "whenever"}, "priority"),
        ({"tags": "x" * 61}, "tags"),
        ({"snoozed_until": (timezone.now() + timedelta(days=1)).isoformat()}, "snoozed_until"),
        ({"label_ids": ["3f1c1a52-6d0e-4a53-9d7b-1b9ad2b6c3e1"]}, "label_ids"),
        ({"unread_count": 0, "bogus": True}, "bogus"),
    ]
    before = Conversation.objects.values().get(pk=conversation.pk)
    for payload, field in cases:
        body = assert_json_error(api_client.put(detail(conversation), payload), 400)
        assert field in body["errors"], (payload, body)
    assert Conversation.objects.values().get(pk=conversation.pk) == before


def test_update_echoes_read_only_fields_and_publishes(api_client, workspace, make_member):
    agent = make_member(workspace)
    conversation = conversation_factory(workspace=workspace)
    current = api_client.get(detail(conversation)).json()["conversation"]
    snooze = (timezone.now() + timedelta(hours=2)).isoformat()
    payload = {
        **current,
        "status": "snoozed",
        "assigned_to": str(agent.pk),
        "tags": ["a", "a", " b "],
        "priority": "high",
        "snoozed_until": snooze,
    }
    response = api_client.put(detail(conversation), payload)
    assert response.status_code == 200, response.content
    updated = response.json()["conversation"]
    assert updated["status"] == "snoozed" and updated["assigned_to"] == str(agent.pk)
    assert updated["tags"] == ["a", "b"] and updated["priority"] == "high"
    assert updated["snoozed_until"] is not None
    assert Event.objects.filter(name="conversation:updated").last().payload == updated
    assert api_client.put(detail(conversation), {"assigned_to": None}).json()["conversation"]["assigned_to"] is None


def test_incoming_message_ends_a_snooze(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    api_client.put(detail(conversation), {"status": "snoozed"})
    api_client.post(messages_url(conversation), {"content": "oi?", "direction": "incoming"})
    assert api_client.get(detail(conversation)).json()["conversation"]["status"] == "open"


def test_first_response_and_resolution_times(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    asked = timezone.now() - timedelta(minutes=10)
    api_client.post(
        messages_url(conversation), {"content": "note", "message_type": "note", "sent_at": asked.isoformat()}
    )
    api_client.post(messages_url(conversation), {"content": "Oi", "direction": "in", "sent_at": asked.isoformat()})
    api_client.post(messages_url(conversation), {"content": "nota interna", "message_type": "note"})
    answered = asked + timedelta(minutes=4)
    api_client.post(messages_url(conversation), {"content": "Olá!", "sent_at": answered.isoformat()})
    api_client.post(messages_url(conversation), {"content": "Mais algo?"})
    body = api_client.get(detail(conversation)).json()["conversation"]
    assert body["first_response_seconds"] == 240
    assert body["resolved_at"] is None and body["resolution_seconds"] is None

    resolved = api_client.put(detail(conversation), {"status": "resolved"}).json()["conversation"]
    assert resolved["resolved_at"] is not None and resolved["resolution_seconds"] is not None
    reopened = api_client.put(detail(conversation), {"status": "open"}).json()["conversation"]
    assert reopened["resolved_at"] is None
    stats = api_client.get(f"{LIST_URL}/stats").json()
    assert stats["by_status"]["open"] == 1
    assert stats["avg_first_response_seconds"] == 240


def test_history_sync_does_not_replace_the_newer_preview(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    api_client.post(messages_url(conversation), {"content": "recente"})
    old = (timezone.now() - timedelta(days=30)).isoformat()
    api_client.post(messages_url(conversation), {"content": "antiga", "sent_at": old})
    assert api_client.get(detail(conversation)).json()["conversation"]["last_message"]["content"] == "recente"


# --- delivery status and read -----------------------------------------------------------------


def test_delivery_status_only_moves_forward(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    message = message_factory(conversation=conversation)
    url = f"{messages_url(conversation)}/{message.pk}"
    delivered = api_client.put(url, {"status": "delivered"}).json()["message"]
    assert delivered["status"] == "delivered" and delivered["delivered_at"]
    read = api_client.put(url, {"status": "read"}).json()["message"]
    assert read["status"] == "read" and read["read_at"]
    # An out-of-order receipt is a no-op, not a regression.
    stale = api_client.put(url, {"status": "delivered"})
    assert stale.status_code == 200 and stale.json()["message"]["status"] == "read"
    assert_json_error(api_client.put(url, {"status": "failed", "error": "late"}), 422, "INVALID_STATUS_TRANSITION")
    assert_json_error(api_client.put(url, {"status": "pending"}), 400)
    message.refresh_from_db()
    assert message.status == "read" and message.error == ""
    assert Event.objects.filter(name="message:updated").count() == 2


def test_status_endpoint_alias(api_client, workspace):
    message = message_factory(conversation=conversation_factory(workspace=workspace))
    url = f"{messages_url(message.conversation)}/{message.pk}/status"
    assert api_client.post(url, {"status": "delivered"}).json()["message"]["status"] == "delivered"
    assert api_client.put(url, {"status": "sent"}).json()["message"]["status"] == "delivered"


def test_read_receipt_fills_delivered_at(api_client, workspace):
    message = message_factory(conversation=conversation_factory(workspace=workspace))
    body = api_client.patch(f"{messages_url(message.conversation)}/{message.pk}", {"status": "read"}).json()
    assert body["message"]["delivered_at"] and body["message"]["read_at"]


def test_failed_is_final(api_client, workspace):
    message = message_factory(conversation=conversation_factory(workspace=workspace))
    url = f"{messages_url(message.conversation)}/{message.pk}"
    failed = api_client.put(url, {"status": "failed", "error": "número inválido"}).json()["message"]
    assert failed["status"] == "failed" and failed["error"] == "número inválido" and failed["failed_at"]
    assert_json_error(api_client.put(url, {"status": "delivered"}), 422)


def test_unknown_message_is_404(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    other = message_factory(conversation=conversation_factory(workspace=workspace))
    assert_json_error(api_client.put(f"{messages_url(conversation)}/{other.pk}", {"status": "read"}), 404)


def test_mark_read_resets_unread(api_client, workspace, user):
    conversation = conversation_factory(workspace=workspace)
    for text in ("a", "b"):
        api_client.post(messages_url(conversation), {"content": text, "direction": "in"})
    assert api_client.get(detail(conversation)).json()["conversation"]["unread_count"] == 2
    body = api_client.post(f"{detail(conversation)}/read").json()["conversation"]
    assert body["unread_count"] == 0 and body["last_read_at"]
    conversation.refresh_from_db()
    assert conversation.last_read_by_id == user.pk
    assert Event.objects.filter(name="conversation:updated").last().payload == body


def test_documented_shapes_match_what_is_served(api_client, workspace):
    from messaging.api.serializers import ChatMessageSerializer, ConversationSerializer

    conversation = conversation_factory(workspace=workspace)
    message_factory(conversation=conversation)
    served = api_client.get(detail(conversation)).json()
    assert list(served["conversation"]) == list(ConversationSerializer().fields)
    assert list(served["messages"][0]) == list(ChatMessageSerializer().fields)
    assert list(served["conversation"]["last_message"]) == [
        "id",
        "direction",
        "message_type",
        "content",
        "status",
        "sent_at",
    ]


def test_open_by_phone_finds_or_creates_the_contact(api_client, workspace):
    existing = contact_factory(workspace=workspace, name="Já existe", phone="+5511987654321")
    same = api_client.post(LIST_URL, {"phone": "(11) 98765-4321"})
    assert same.status_code == 201, same.content
    assert same.json()["conversation"]["contact"]["id"] == str(existing.pk)
    assert (
        api_client.post(LIST_URL, {"phone": "5511987654321@c.us"}).json()["conversation"]["id"]
        == same.json()["conversation"]["id"]
    )

    fresh = api_client.post(LIST_URL, {"phone": "+55 21 99876-5432", "name": "Nova"})
    assert fresh.status_code == 201
    contact = fresh.json()["conversation"]["contact"]
    assert contact["name"] == "Nova" and contact["phone"] == "+5521998765432"
    assert Event.objects.filter(workspace=workspace, name="contact:created").count() == 1


@pytest.mark.parametrize("payload", [{"phone": "abc"}, {"phone": ""}, {"phone": 5511987654321}])
def test_open_by_bad_phone_is_400(api_client, workspace, payload):
    body = assert_json_error(api_client.post(LIST_URL, payload), 400, "VALIDATION_ERROR")
    assert "phone" in body["errors"]
    assert not Conversation.objects.exists()
