"""``/settings/ai-keys``: managers only, stored encrypted, never shown back."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Membership
from ai.models import AIKeys
from ai.tests.conftest import OPENAI_KEY

pytestmark = pytest.mark.django_db


def test_keys_are_shown_as_flags_and_last_four(api_client, ai_settings):
    reply = api_client.put(
        "/api/v1/settings/ai-keys",
        {
            "openai": OPENAI_KEY,
            "openai_compatible": {"base_url": "http://127.0.0.1:11434/v1", "api_key": "ollama-key-123"},
            "default_model": "llama3.1",
        },
    )
    assert reply.status_code == 200, reply.content
    keys = reply.json()["keys"]
    assert keys["openai"] == {"configured": True, "last4": OPENAI_KEY[-4:]}
    assert keys["anthropic"] == {"configured": False, "last4": None}
    assert keys["openai_compatible"] == {"configured": True, "last4": "-123", "base_url": "http://127.0.0.1:11434/v1"}
    assert keys["default_model"] == "llama3.1"
    assert OPENAI_KEY not in reply.content.decode()
    assert api_client.get("/api/v1/settings/ai-keys").json()["keys"] == keys
    with connection.cursor() as cursor:
        cursor.execute("SELECT openai_api_key, compatible_api_key FROM ai_aikeys")
        stored = cursor.fetchone()
    assert OPENAI_KEY not in stored[0] and "ollama-key-123" not in stored[1]
    assert AIKeys.objects.get().openai_api_key == OPENAI_KEY
    cleared = api_client.put("/api/v1/settings/ai-keys", {"openai": None}).json()["keys"]
    assert cleared["openai"]["configured"] is False and cleared["openai_compatible"]["configured"] is True


def test_only_owners_and_admins(client_for, make_member, workspace, ai_settings):
    for role, allowed in (("admin", True), ("agent", False), ("viewer", False)):
        client = client_for(make_member(workspace, role=role), workspace)
        assert (client.get("/api/v1/settings/ai-keys").status_code == 200) is allowed
        assert (client.put("/api/v1/settings/ai-keys", {"groq": "gsk_abcdefgh12345"}).status_code == 200) is allowed
    assert Membership.Role.OWNER


@pytest.mark.parametrize(
    "base_url", ["http://10.1.2.3/v1", "http://localhost:11434/v1", "file:///etc/passwd", "http://u:p@example.com/"]
)
def test_the_compatible_server_url_is_vetted(api_client, settings, base_url):
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = []
    reply = api_client.put("/api/v1/settings/ai-keys", {"openai_compatible": {"base_url": base_url}})
    assert reply.status_code == 400 and "openai_compatible.base_url" in reply.json()["errors"]


def test_a_lan_server_on_the_allowlist_answers(api_client, ai_settings, fake_openai):
    api_client.put("/api/v1/settings/ai-keys", {"openai_compatible": {"base_url": fake_openai.base_url}})
    data = api_client.post(
        "/api/v1/ai/complete", {"messages": [{"role": "user", "content": "oi"}], "model": "qwen2.5:7b"}
    ).json()
    assert data["provider"] == "openai_compatible" and fake_openai.requests[-1]["body"]["model"] == "qwen2.5:7b"
    assert "Authorization" not in fake_openai.requests[-1]["headers"]


@pytest.mark.parametrize("body", [[], {"openai": 5}, {"openai_compatible": "x"}, {"default_model": ["a"]}])
def test_bad_key_bodies(api_client, body):
    assert api_client.put("/api/v1/settings/ai-keys", body).status_code == 400
