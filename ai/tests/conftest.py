from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ai.tests.fake_provider import FakeProvider

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
def fake_openai() -> Iterator[FakeProvider]:
    server = FakeProvider()
    yield server
    server.stop()


@pytest.fixture
def fake_anthropic() -> Iterator[FakeProvider]:
    server = FakeProvider()
    yield server
    server.stop()


@pytest.fixture
def ai_settings(settings: Any, fake_openai: FakeProvider, fake_anthropic: FakeProvider) -> Any:
    """Providers pointed at the fake servers (loopback allowed, as for a LAN server); no
    server-wide keys, so each test configures the workspace's own."""
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.AI_OPENAI_BASE_URL = fake_openai.base_url
    settings.AI_ANTHROPIC_BASE_URL = fake_anthropic.base_url
    settings.AI_GROQ_BASE_URL = fake_openai.base_url
    settings.AI_OPENAI_API_KEY = settings.AI_ANTHROPIC_API_KEY = settings.AI_GROQ_API_KEY = ""
    settings.AI_COMPATIBLE_BASE_URL = ""
    settings.AI_CREDITS_PER_1K_TOKENS = {"*": 1}
    return settings


@pytest.fixture
def openai_client(api_client: Any, ai_settings: Any) -> Any:
    assert api_client.put("/api/v1/settings/ai-keys", {"openai": OPENAI_KEY}).status_code == 200
    return api_client
