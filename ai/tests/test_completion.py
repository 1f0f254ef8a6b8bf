"""``/ai/complete`` against a real fake provider on 127.0.0.1: body shapes, keys, errors,
fallback, idempotency and the stored call."""

from __future__ import annotations

import logging

import pytest

from ai.models import AIConversation, CreditEntry
from ai.tests.conftest import ANTHROPIC_KEY, OPENAI_KEY
from ai.tests.fake_provider import COMPLETION_TOKENS, PROMPT_TOKENS

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Olá, tudo bem?"}]


@pytest.mark.parametrize(
    "body",
    [
        {"messages": HELLO, "model": "gpt-4o-mini", "temperature": 0.3, "maxTokens": 50},
        {
            "messages": HELLO,
            "model": "gpt-4o-mini",
            "temperature": 0.7,
            "max_tokens": 50,
            "chatId": "5511@c.us",
            "requestId": "r-1",
        },
        {"messages": HELLO, "temperature": 0.5, "maxTokens": 50, "context": "training"},
        {"messages": {"messages": HELLO}},
    ],
    ids=["camel", "snake-with-request-id", "unknown-keys", "wrapped"],
)
def test_every_body_shape(openai_client, fake_openai, body):
    reply = openai_client.post("/api/v1/ai/complete", body)
    assert reply.status_code == 200, reply.content
    data = reply.json()
    assert data["content"] == data["text"] == "Resposta: Olá, tudo bem?"
    assert data["provider"] == "openai" and data["model"]
    assert data["usage"] == {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
    assert data["credits_used"] == 1 and data["credits_remaining"] == 99
    assert data["citations"] == []
    sent = fake_openai.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent["body"]["messages"][-1] == HELLO[0]
    call = AIConversation.objects.get()
    assert (call.status, call.total_tokens, call.credits_used, call.provider) == ("succeeded", 20, 1, "openai")
    assert call.response == data["content"] and call.user_id is not None and call.latency_ms >= 0
    assert call.chat_id == body.get("chatId", "")


def test_anthropic_wire_format(api_client, ai_settings, fake_anthropic):
    api_client.put("/api/v1/settings/ai-keys", {"anthropic": ANTHROPIC_KEY})
    body = {"messages": [{"role": "system", "content": "Seja breve."}, *HELLO], "model": "claude-3-5-haiku-latest"}
    data = api_client.post("/api/v1/ai/complete", body).json()
    assert data["provider"] == "anthropic" and data["content"] == "Resposta: Olá, tudo bem?"
    sent = fake_anthropic.requests[-1]
    assert sent["path"] == "/v1/messages" and sent["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert sent["body"]["system"] == "Seja breve." and sent["body"]["messages"] == HELLO


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": "oi"}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": ["user"], "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": {"a": 1}, "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": HELLO, "temperature": "hot"}, "temperature"),
        ({"messages": HELLO, "maxTokens": 0}, "maxTokens"),
        ({"messages": HELLO, "maxTokens": 10, "max_tokens": 0}, "max_tokens"),
        ({"messages": HELLO, "use_knowledge": "no"}, "use_knowledge"),
    ],
)
def test_bad_bodies_are_400s(openai_client, body, field):
    reply = openai_client.post("/api/v1/ai/complete", body)
    assert reply.status_code == 400 and field in reply.json()["errors"]
    assert not AIConversation.objects.exists()


def test_no_key_anywhere_is_503_with_how_to(api_client, ai_settings):
    reply = api_client.post("/api/v1/ai/complete", {"messages": HELLO})
    assert reply.status_code == 503
    assert reply.json()["code"] == "AI_NOT_CONFIGURED" and "/settings/ai-keys" in reply.json()["message"]


def test_server_key_is_the_fallback(api_client, ai_settings, fake_openai):
    ai_settings.AI_OPENAI_API_KEY = "sk-server-wide-key-0123456789"
    assert api_client.post("/api/v1/ai/complete", {"messages": HELLO}).status_code == 200
    assert fake_openai.requests[-1]["headers"]["Authorization"] == "Bearer sk-server-wide-key-0123456789"


def test_provider_error_is_502_without_the_key_and_refunded(openai_client, fake_openai, caplog):
    fake_openai.mode = "fail"
    ai = openai_client.put("/api/v1/settings/ai-keys", {"anthropic": ""})  # only openai configured
    assert ai.status_code == 200
    with caplog.at_level(logging.DEBUG):
        reply = openai_client.post("/api/v1/ai/complete", {"messages": HELLO})
    assert reply.status_code == 502 and reply.json()["code"] == "AI_PROVIDER_ERROR"
    assert "Incorrect API key" in reply.json()["message"]
    assert OPENAI_KEY not in reply.content.decode() and OPENAI_KEY not in caplog.text
    assert openai_client.get("/api/v1/ai/credits").json()["credits"] == 100
    call = AIConversation.objects.get()
    assert call.status == "failed" and OPENAI_KEY not in call.error
    kinds = list(CreditEntry.objects.order_by("created_at").values_list("kind", "amount"))
    assert kinds[-2:] == [("consumption", -2), ("refund", 2)]


@pytest.mark.parametrize("mode", ["garbage", "shape"])
def test_garbage_answers_are_502(openai_client, fake_openai, mode):
    fake_openai.mode = mode
    reply = openai_client.post("/api/v1/ai/complete", {"messages": HELLO})
    assert reply.status_code == 502 and reply.json()["code"] == "AI_PROVIDER_ERROR"


def test_stall_is_504_and_refunded(openai_client, fake_openai, ai_settings):
    fake_openai.mode, fake_openai.stall_seconds = "stall", 3
    ai_settings.AI_PROVIDER_TIMEOUT = 1
    reply = openai_client.post("/api/v1/ai/complete", {"messages": HELLO})
    assert reply.status_code == 504 and reply.json()["code"] == "AI_PROVIDER_TIMEOUT"
    assert openai_client.get("/api/v1/ai/credits").json() == {
        "credits": 100,
        "balance": 100,
        "reserved": 0,
        "plan": "free",
    }


def test_falls_back_to_the_next_provider(openai_client, fake_openai, fake_anthropic, ai_settings):
    openai_client.put("/api/v1/settings/ai-keys", {"anthropic": ANTHROPIC_KEY})
    fake_openai.mode = "fail"
    data = openai_client.post("/api/v1/ai/complete", {"messages": HELLO, "model": "gpt-4o-mini"}).json()
    assert data["provider"] == "anthropic" and len(fake_anthropic.requests) == 1
    ai_settings.AI_PROVIDER_FALLBACK = False
    assert openai_client.post("/api/v1/ai/complete", {"messages": HELLO}).status_code == 502


def test_request_id_and_idempotency_key_answer_once_and_charge_once(openai_client, fake_openai):
    body = {"messages": HELLO, "requestId": "req-42"}
    first = openai_client.post("/api/v1/ai/complete", body).json()
    again = openai_client.post("/api/v1/ai/complete", body).json()
    assert again["content"] == first["content"] and again["interactionId"] == first["interactionId"]
    assert len(fake_openai.requests) == 1
    headers = {"HTTP_IDEMPOTENCY_KEY": "idem-7"}
    one = openai_client.post("/api/v1/ai/complete", {"messages": HELLO}, **headers).json()
    two = openai_client.post("/api/v1/ai/complete", {"messages": HELLO}, **headers).json()
    assert one["interactionId"] == two["interactionId"] and len(fake_openai.requests) == 2
    assert openai_client.get("/api/v1/ai/credits").json()["credits"] == 98


def test_failed_request_id_can_be_retried(openai_client, fake_openai):
    fake_openai.mode = "fail"
    body = {"messages": HELLO, "requestId": "req-retry"}
    assert openai_client.post("/api/v1/ai/complete", body).status_code == 502
    fake_openai.mode = "ok"
    assert openai_client.post("/api/v1/ai/complete", body).status_code == 200
    assert AIConversation.objects.filter(request_id="req-retry").count() == 2


def test_insufficient_credits_is_402(openai_client, workspace):
    from ai.credits import credits_grant

    credits_grant(workspace=workspace, amount=-100, kind="adjustment", note="test")
    reply = openai_client.post("/api/v1/ai/complete", {"messages": HELLO})
    assert reply.status_code == 402 and reply.json()["code"] == "INSUFFICIENT_CREDITS"
    assert reply.json()["message"]
    assert AIConversation.objects.get().status == "failed"


def test_rate_limit_is_20_per_minute(openai_client, ai_settings):
    ai_settings.RATELIMIT_AI = "3/m"
    codes = [openai_client.post("/api/v1/ai/complete", {"messages": HELLO}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
