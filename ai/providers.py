"""Calls to AI providers over the one outgoing HTTP client (``whatshybrid.http``).

Two wire formats: OpenAI's chat completions (OpenAI, Groq and any OpenAI-compatible server such
as Ollama, vLLM or OpenRouter) and Anthropic's messages. A provider's answer is validated before
it is believed: a body that is not the format's JSON is a ``ProviderError``, like a 4xx/5xx. No
error message carries the key: the provider's own message is scrubbed of it before it is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from whatshybrid import http

OPENAI, ANTHROPIC, GROQ, COMPATIBLE = "openai", "anthropic", "groq", "openai_compatible"
PROVIDERS = (OPENAI, ANTHROPIC, GROQ, COMPATIBLE)
DEFAULT_MODELS = {
    OPENAI: "gpt-4o-mini",
    ANTHROPIC: "claude-3-5-haiku-latest",
    GROQ: "llama-3.1-8b-instant",
    COMPATIBLE: "llama3.1",
}
ANTHROPIC_VERSION = "2023-06-01"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Provider:
    name: str
    api_key: str
    base_url: str
    default_model: str

    def __repr__(self) -> str:  # never the key, also not in a traceback's locals
        return f"Provider({self.name}, {self.base_url})"


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ProviderError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProviderTimeout(ProviderError):
    pass


def provider_for_model(model: str) -> str | None:
    """The provider a model name implies: an explicit ``provider/model`` prefix, or the model
    families only one provider serves; None when any OpenAI-format server could serve it."""
    head, _, _rest = model.partition("/")
    if head in PROVIDERS:
        return head
    lowered = model.lower()
    if lowered.startswith("claude"):
        return ANTHROPIC
    if re.match(r"(gpt-|chatgpt|o\d)", lowered):
        return OPENAI
    return None


def bare_model(model: str, provider: str) -> str:
    prefix = f"{provider}/"
    return model[len(prefix) :] if model.startswith(prefix) else model


def complete(
    provider: Provider,
    *,
    model: str,
    messages: list[dict[str, str]],
    temperature: float | None,
    max_tokens: int,
    timeout: float,
) -> Completion:
    """One call; raises ``ProviderError`` (``ProviderTimeout`` when it ran out of time)."""
    call = _anthropic if provider.name == ANTHROPIC else _openai
    try:
        return call(
            provider, model=model, messages=messages, temperature=temperature, max_tokens=max_tokens, timeout=timeout
        )
    except http.OutgoingTimeout as exc:
        raise ProviderTimeout(f"{provider.name}: {exc.message}") from None
    except http.OutgoingHTTPError as exc:
        raise ProviderError(f"{provider.name}: {exc.message}") from None


def _openai(
    provider: Provider,
    *,
    model: str,
    messages: list[dict[str, str]],
    temperature: float | None,
    max_tokens: int,
    timeout: float,
) -> Completion:
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens}
    if temperature is not None:
        body["temperature"] = temperature
    headers = {"Authorization": f"Bearer {provider.api_key}"} if provider.api_key else {}
    data = _post(provider, "/chat/completions", body, headers, timeout)
    try:
        content = data["choices"][0]["message"]["content"]
        usage = data.get("usage") or {}
        prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        answered_model = data.get("model") or model
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ProviderError(f"{provider.name}: the answer is not a chat completion") from None
    return _checked(provider, content, answered_model, prompt, completion)


def _anthropic(
    provider: Provider,
    *,
    model: str,
    messages: list[dict[str, str]],
    temperature: float | None,
    max_tokens: int,
    timeout: float,
) -> Completion:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [m for m in messages if m["role"] != "system"],
    }
    if system:
        body["system"] = system
    if temperature is not None:
        body["temperature"] = min(temperature, 1.0)  # Anthropic's range is 0..1
    headers = {"x-api-key": provider.api_key, "anthropic-version": ANTHROPIC_VERSION}
    data = _post(provider, "/messages", body, headers, timeout)
    try:
        content = "".join(block["text"] for block in data["content"] if block.get("type") == "text")
        usage = data.get("usage") or {}
        prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
        answered_model = data.get("model") or model
    except (KeyError, TypeError, AttributeError):
        raise ProviderError(f"{provider.name}: the answer is not a messages response") from None
    return _checked(provider, content, answered_model, prompt, completion)


def _post(provider: Provider, path: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> Any:
    response = http.request("POST", provider.base_url.rstrip("/") + path, json=body, headers=headers, timeout=timeout)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not response.ok:
        detail = _error_message(data) or response.text
        raise ProviderError(_scrub(provider, f"{provider.name} answered {response.status}: {detail}"))
    if not isinstance(data, dict):
        raise ProviderError(f"{provider.name}: the answer is not JSON")
    return data


def _checked(provider: Provider, content: Any, model: Any, prompt: Any, completion: Any) -> Completion:
    numbers_ok = all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 10**9 for n in (prompt, completion))
    if not isinstance(content, str) or not isinstance(model, str) or not numbers_ok:
        raise ProviderError(f"{provider.name}: the answer has invalid fields")
    return Completion(content=content, model=model[:100], prompt_tokens=prompt, completion_tokens=completion)


def _error_message(data: Any) -> str | None:
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return data["message"]
    return None


def _scrub(provider: Provider, message: str) -> str:
    # Providers echo a bad key back ("Incorrect API key provided: sk-...").
    if provider.api_key:
        message = message.replace(provider.api_key, "[key]")
    message = re.sub(r"\b(sk|gsk|sk-ant)-[A-Za-z0-9_\-]{6,}", "[key]", message)
    return message[:MAX_ERROR_CHARS]
