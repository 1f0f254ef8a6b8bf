"""Issue #14 item 11: message content is capped, and no page loads its rows whole past a budget."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from messaging.models import Message
from messaging.tests.factories import conversation_factory, message_factory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/conversations"
MEGA = 1_000_000


def messages_url(conversation: Any) -> str:
    return f"{LIST_URL}/{conversation.pk}/messages"


def peak_bytes(call: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_content_longer_than_the_cap_is_400_and_the_cap_itself_is_stored(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    cap = settings.MESSAGE_CONTENT_MAX_CHARS
    refused = api_client.post(messages_url(conversation), {"content": "x" * (cap + 1)}, format="json")
    assert refused.status_code == 400 and "content" in refused.json()["errors"]
    assert not Message.objects.filter(conversation=conversation).exists()
    stored = api_client.post(messages_url(conversation), {"content": "é" * cap}, format="json")
    assert stored.status_code == 201 and len(stored.json()["message"]["content"]) == cap


def test_a_page_stops_at_the_budget_and_paging_on_visits_every_message_once(api_client, workspace, settings):
    settings.PAGE_MAX_CHARS = 1000
    conversation = conversation_factory(workspace=workspace)
    start = timezone.now() - timedelta(hours=1)
    sizes = [300, 300, 300, 300, 5000, 300, 300, 300, 100, 100]  # the 5000 stands for a row stored before the cap
    made = [
        message_factory(
            conversation=conversation, content=f"{i:02d}" + "x" * (size - 2), sent_at=start + timedelta(seconds=i)
        )
        for i, size in enumerate(sizes)
    ]
    expected = [m.content for m in made]

    newest = api_client.get(f"{messages_url(conversation)}?limit=50").json()
    assert [m["content"] for m in newest["messages"]] == expected[-4:]  # 300 + 300 + 100 + 100; one more passes 1000
    assert newest["has_more_before"] is True
    collected, pages, cursor = list(newest["messages"]), [len(newest["messages"])], newest["before_cursor"]
    while cursor:
        page = api_client.get(f"{messages_url(conversation)}?limit=50&before={cursor}").json()
        collected = page["messages"] + collected
        pages.append(len(page["messages"]))
        cursor = page["before_cursor"]
    assert [m["content"] for m in collected] == expected
    assert pages == [4, 1, 1, 3, 1]  # the oversized message comes alone

    forward, pages, cursor = [], [], None
    while True:
        query = f"after={cursor}" if cursor else f"after={made[0].pk}"
        page = api_client.get(f"{messages_url(conversation)}?limit=50&{query}").json()
        if not page["messages"]:
            assert page["has_more_after"] is False
            break
        forward += page["messages"]
        pages.append(len(page["messages"]))
        assert page["has_more_after"] is (forward[-1]["id"] != str(made[-1].pk))
        cursor = page["after_cursor"]
    assert [m["content"] for m in forward] == expected[1:]
    assert pages == [3, 1, 4, 1]


def test_a_page_of_huge_messages_stored_before_the_cap_is_not_loaded_whole(api_client, workspace):
    conversation = conversation_factory(workspace=workspace)
    Message.objects.bulk_create(
        Message(workspace=workspace, conversation=conversation, content=f"{i:02d}" + "x" * MEGA) for i in range(20)
    )
    response, peak = peak_bytes(lambda: api_client.get(f"{messages_url(conversation)}?limit=50"))
    body = response.json()
    assert response.status_code == 200 and len(body["messages"]) == 1 and body["has_more_before"] is True
    # Before the budget the 20 rows alone were 20 MB in the process, plus their rendering.
    assert len(response.content) < settings.PAGE_MAX_CHARS + 10_000 and peak < 12 * MEGA


def test_conversation_pages_read_only_the_preview_of_a_huge_last_message(api_client, workspace):
    for _ in range(10):
        conversation = conversation_factory(workspace=workspace)
        message_factory(conversation=conversation, content="y" * (2 * MEGA))
    response, peak = peak_bytes(lambda: api_client.get(f"{LIST_URL}?limit=50"))
    rows = response.json()["conversations"]
    assert len(rows) == 10 and all(row["last_message"]["content"] == "y" * 200 for row in rows)
    assert peak < 8 * MEGA  # the whole last messages were 20 MB
