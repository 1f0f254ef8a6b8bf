"""The workspace's provider keys (``/settings/ai-keys``) and the providers a call may use.

Keys are written through ``ai_keys_update`` only and never read back: ``ai_keys_view`` shows
whether each one is set and its last four characters. A workspace key wins over the server's
key for the same provider; the server's keys (settings ``AI_*_API_KEY``) serve every workspace
that has none of its own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import Workspace
from ai import providers
from ai.inputs import string_value
from ai.models import AIKeys
from ai.providers import ANTHROPIC, COMPATIBLE, GROQ, OPENAI, Provider
from whatshybrid import http
from whatshybrid.api.bodies import invalid, read_object

KEY_FIELDS = {OPENAI: "openai_api_key", ANTHROPIC: "anthropic_api_key", GROQ: "groq_api_key"}
MAX_KEY_CHARS = 500


def _secret(value: Any, path: str) -> str:
    return string_value(value, path, max_length=MAX_KEY_CHARS)


def _stored(workspace: Workspace) -> AIKeys | None:
    return AIKeys.objects.filter(workspace=workspace).first()


@transaction.atomic
def ai_keys_update(*, workspace: Workspace, body: Any) -> AIKeys:
    """Sets the keys present in ``body``; ``null`` or ``""`` clears one. The compatible server's
    base URL is vetted by the outgoing HTTP guard now, so a refused URL is a 400 here rather
    than a failure at the first call."""
    body = read_object(body, "body")
    keys = AIKeys.objects.select_for_update().filter(workspace=workspace).first() or AIKeys(workspace=workspace)
    for name, field in KEY_FIELDS.items():
        if name in body:
            setattr(keys, field, _secret(body[name], name))
    if COMPATIBLE in body:
        compatible = read_object(body[COMPATIBLE], COMPATIBLE, required=False) or {}
        base_url = string_value(compatible.get("base_url"), f"{COMPATIBLE}.base_url", max_length=500)
        if base_url:
            try:
                http.vet_url(base_url)
            except http.OutgoingHTTPError as exc:
                raise invalid(f"{COMPATIBLE}.base_url", exc.message) from None
        keys.compatible_base_url = base_url
        keys.compatible_api_key = _secret(compatible.get("api_key"), f"{COMPATIBLE}.api_key")
    if "default_model" in body:
        keys.default_model = string_value(body["default_model"], "default_model", max_length=100)
    keys.save()
    return keys


def ai_keys_view(*, workspace: Workspace) -> dict[str, Any]:
    keys = _stored(workspace)

    def shown(value: str) -> dict[str, Any]:
        return {"configured": bool(value), "last4": value[-4:] if value else None}

    view: dict[str, Any] = {name: shown(getattr(keys, field, "") or "") for name, field in KEY_FIELDS.items()}
    view[COMPATIBLE] = {
        **shown(keys.compatible_api_key if keys else ""),
        "configured": bool(keys and keys.compatible_base_url),
        "base_url": keys.compatible_base_url if keys else "",
    }
    view["default_model"] = keys.default_model if keys else ""
    servers = _server_providers()
    view["server_keys"] = {name: name in servers for name in providers.PROVIDERS}
    return view


def _base_urls() -> dict[str, str]:
    return {
        OPENAI: settings.AI_OPENAI_BASE_URL,
        ANTHROPIC: settings.AI_ANTHROPIC_BASE_URL,
        GROQ: settings.AI_GROQ_BASE_URL,
        COMPATIBLE: settings.AI_COMPATIBLE_BASE_URL,
    }


def _server_providers() -> dict[str, Provider]:
    keys = {
        OPENAI: settings.AI_OPENAI_API_KEY,
        ANTHROPIC: settings.AI_ANTHROPIC_API_KEY,
        GROQ: settings.AI_GROQ_API_KEY,
        COMPATIBLE: settings.AI_COMPATIBLE_API_KEY,
    }
    found = {}
    for name, base_url in _base_urls().items():
        # A compatible server may need no key (a local Ollama); the others are set by their key.
        if keys[name] if name != COMPATIBLE else base_url:
            found[name] = Provider(name, keys[name], base_url, providers.DEFAULT_MODELS[name])
    return found


def configured_providers(*, workspace: Workspace) -> tuple[dict[str, Provider], str]:
    """The providers the workspace can call, in preference order, and its default model."""
    keys = _stored(workspace)
    found = _server_providers()
    if keys is not None:
        for name, field in KEY_FIELDS.items():
            if getattr(keys, field):
                found[name] = Provider(name, getattr(keys, field), _base_urls()[name], providers.DEFAULT_MODELS[name])
        if keys.compatible_base_url:
            # A default model no hosted provider claims is the self-hosted server's.
            own_model = keys.default_model and providers.provider_for_model(keys.default_model) is None
            model = keys.default_model if own_model else providers.DEFAULT_MODELS[COMPATIBLE]
            found[COMPATIBLE] = Provider(COMPATIBLE, keys.compatible_api_key, keys.compatible_base_url, model)
    ordered = {name: found[name] for name in providers.PROVIDERS if name in found}
    return ordered, keys.default_model if keys else ""
