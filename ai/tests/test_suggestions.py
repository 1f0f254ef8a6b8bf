"""``/v2/ai/process`` (the extension's reply suggestions) and ``/ai/learn/feedback``."""

from __future__ import annotations

import pytest

from ai.models import AIConversation, AIFeedback, CreditEntry
from messaging.models import Message
from messaging.services import conversation_open_by_phone, message_create

pytestmark = pytest.mark.django_db


def test_suggestion_uses_the_chat_history_and_tone(openai_client, fake_openai, workspace):
    conversation, _ = conversation_open_by_phone(workspace=workspace, phone="+5511988887777")
    message_create(
        conversation=conversation, content="Bom dia, vocês têm camisa?", direction=Message.Direction.INCOMING
    )
    message_create(conversation=conversation, content="Temos sim!", direction=Message.Direction.OUTGOING)
    openai_client.post(
        "/api/v1/knowledge/sync",
        {
            "action": "sync",
            "knowledge": {
                "business": {"name": "Loja da Ana"},
                "tone": {"style": "friendly", "useEmojis": False},
                "faq": [{"id": "f1", "question": "Qual o preço da camisa?", "answer": "R$ 59,90"}],
            },
        },
    )
    body = {
        "chatId": "5511988887777@c.us",
        "message": "Qual o preço da camisa?",
        "language": "pt-BR",
        "businessRules": ["Nunca prometa desconto"],
    }
    reply = openai_client.post("/api/v2/ai/process", body)
    assert reply.status_code == 200, reply.content
    data = reply.json()
    assert data["success"] is True and data["response"] == "Resposta: Qual o preço da camisa?"
    meta = data["metadata"]
    assert meta["intent"] == "price" and 0 <= meta["qualityScore"] <= 1 and meta["citations"]
    sent = fake_openai.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert "Loja da Ana" in sent[0]["content"] and "Nunca prometa desconto" in sent[0]["content"]
    assert "R$ 59,90" in sent[0]["content"]
    assert sent[1]["content"] == "Bom dia, vocês têm camisa?"
    call = AIConversation.objects.get(pk=meta["interactionId"])
    assert (call.kind, call.chat_id, call.status) == ("process", "5511988887777@c.us", "succeeded")


def test_by_conversation_id_and_unknown_chats(openai_client, fake_openai, workspace):
    conversation, _ = conversation_open_by_phone(workspace=workspace, phone="+5511977776666")
    message_create(conversation=conversation, content="Oi", direction=Message.Direction.INCOMING)
    openai_client.post("/api/v2/ai/process", {"chatId": str(conversation.pk), "message": "Tudo bem?"})
    assert len(fake_openai.requests[-1]["body"]["messages"]) == 3
    for chat in ("120363@g.us", "5511000000000@c.us", ""):
        assert openai_client.post("/api/v2/ai/process", {"chatId": chat, "message": "Oi"}).status_code == 200
        assert len(fake_openai.requests[-1]["body"]["messages"]) == 2


def test_other_workspace_chat_is_not_read(openai_client, fake_openai, other_workspace):
    conversation, _ = conversation_open_by_phone(workspace=other_workspace, phone="+5511955554444")
    message_create(conversation=conversation, content="segredo", direction=Message.Direction.INCOMING)
    for chat in (str(conversation.pk), "5511955554444@c.us"):
        openai_client.post("/api/v2/ai/process", {"chatId": chat, "message": "Oi"})
        assert "segredo" not in str(fake_openai.requests[-1]["body"])


def test_out_of_credits_is_402_with_success_false(openai_client, workspace):
    from ai.credits import credits_grant

    credits_grant(workspace=workspace, amount=-100, kind=CreditEntry.Kind.ADJUSTMENT)
    reply = openai_client.post("/api/v2/ai/process", {"chatId": "x", "message": "Oi"})
    assert reply.status_code == 402
    assert reply.json()["success"] is False and reply.json()["code"] == "INSUFFICIENT_CREDITS"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": ""},
        {"message": []},
        {"message": "x", "businessRules": "no"},
        {"message": "x", "businessRules": [None]},
    ],
)
def test_bad_process_bodies(openai_client, body):
    assert openai_client.post("/api/v2/ai/process", body).status_code == 400


def test_feedback_links_the_call_and_a_correction_becomes_an_example(openai_client):
    meta = openai_client.post("/api/v2/ai/process", {"chatId": "c1", "message": "Vocês abrem domingo?"}).json()[
        "metadata"
    ]
    body = {
        "interactionId": meta["interactionId"],
        "rating": 2,
        "chatId": "c1",
        "userMessage": "Vocês abrem domingo?",
        "assistantResponse": "Sim",
        "correctedResponse": "Não, só de segunda a sábado.",
        "feedbackType": "correction",
    }
    reply = openai_client.post("/api/v1/ai/learn/feedback", body)
    assert reply.status_code == 200, reply.content
    assert reply.json()["exampleAdded"] is True and reply.json()["feedback"]["linked"] is True
    feedback = AIFeedback.objects.get()
    assert str(feedback.conversation_id) == meta["interactionId"] and feedback.rating == 2
    examples = openai_client.get("/api/v1/examples/list").json()["examples"]
    assert examples[-1]["output"] == "Não, só de segunda a sábado." and examples[-1]["input"] == "Vocês abrem domingo?"
    summary = openai_client.get("/api/v1/ai/usage").json()["summary"]
    assert summary["feedback"] == {"count": 1, "average_rating": 2.0}
    plain = openai_client.post("/api/v1/ai/learn/feedback", {"interactionId": "local-123", "rating": True}).json()
    assert plain["feedback"]["linked"] is False and plain["exampleAdded"] is False


def test_feedback_on_another_workspace_call_is_not_linked(openai_client, other_client):
    meta = openai_client.post("/api/v2/ai/process", {"message": "Oi"}).json()["metadata"]
    reply = other_client.post("/api/v1/ai/learn/feedback", {"interactionId": meta["interactionId"], "rating": 1})
    assert reply.status_code == 200 and reply.json()["feedback"]["linked"] is False


@pytest.mark.parametrize("body", [[], {"rating": "great"}, {"rating": 99}, {"userMessage": {}}])
def test_bad_feedback_bodies(openai_client, body):
    assert openai_client.post("/api/v1/ai/learn/feedback", body).status_code == 400
