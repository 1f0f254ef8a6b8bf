"""One AI call, from a request body to the stored answer: ``/ai/complete`` and ``/v2/ai/process``.

The order is what keeps credits and retries honest:
1. read the body (every shape the client sends) and pick the providers (503 without any);
2. a ``requestId`` already answered replays the stored answer (charged once); one in flight is
   a 409;
3. add the best knowledge items to the system prompt;
4. in one transaction, with the workspace row locked: store the call as pending and reserve its
   worst-case credits (402 when they do not fit);
5. call the provider, outside any transaction, falling back to the next configured one;
6. settle: keep the real usage's credits and refund the rest (all of it on failure), and store
   the answer or the error with the call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User, Workspace
from ai import credits, knowledge, providers
from ai.inputs import string_value
from ai.keys import configured_providers
from ai.models import AIConversation
from ai.providers import Completion, Provider, ProviderError, ProviderTimeout
from whatshybrid.api.bodies import invalid
from whatshybrid.api.errors import ApplicationError, Conflict

SETTLED_FIELDS = (
    "status",
    "response",
    "model",
    "provider",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "credits_used",
    "latency_ms",
    "reply",
)
ROLES = frozenset({"system", "user", "assistant"})
MAX_MESSAGES = 200
AI_NOT_CONFIGURED = "AI_NOT_CONFIGURED"
NOT_CONFIGURED_HELP = (
    "No AI provider is configured. A workspace owner or admin can add a key with "
    "PUT /api/v1/settings/ai-keys {openai | anthropic | groq | openai_compatible: {base_url, api_key}}, "
    "or the server operator can set OPENAI_API_KEY, ANTHROPIC_API_KEY, GROQ_API_KEY or AI_COMPATIBLE_BASE_URL."
)


class AINotConfigured(ApplicationError):
    status_code = 503
    default_code = AI_NOT_CONFIGURED


class AIProviderError(ApplicationError):
    status_code = 502
    default_code = "AI_PROVIDER_ERROR"


class AIProviderTimeout(ApplicationError):
    status_code = 504
    default_code = "AI_PROVIDER_TIMEOUT"


@dataclass
class CompletionRequest:
    messages: list[dict[str, str]]
    model: str = ""
    temperature: float | None = None
    max_tokens: int = 0
    chat_id: str = ""
    request_id: str = ""
    use_knowledge: bool = True
    knowledge_query: str = ""  # the text knowledge is matched against (default: last user message)
    extra: dict[str, Any] = field(default_factory=dict)


def _first(body: dict[str, Any], *names: str) -> Any:
    return next((body[name] for name in names if body.get(name) is not None), None)


def _message_content(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise invalid(path, "Must be a string.")
    if "\x00" in value:
        raise invalid(path, "Must not contain NUL characters.")
    return value


def read_completion_body(body: Any, *, idempotency_key: str = "") -> CompletionRequest:
    """Every shape of the contract: camelCase or snake_case, unknown keys ignored, and the
    client bug ``{messages: {messages: [...]}}`` unwrapped."""
    if not isinstance(body, dict):
        raise invalid("body", "Must be an object.")
    raw = body.get("messages")
    if isinstance(raw, dict) and "messages" in raw:
        raw = raw["messages"]
    if not isinstance(raw, list) or not raw:
        raise invalid("messages", "Must be a non-empty list of {role, content}.")
    if len(raw) > MAX_MESSAGES:
        raise invalid("messages", f"At most {MAX_MESSAGES} messages.")
    messages, size = [], 0
    for index, message in enumerate(raw):
        if not isinstance(message, dict):
            raise invalid(f"messages[{index}]", "Must be an object with role and content.")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise invalid(f"messages[{index}].role", "Must be system, user or assistant.")
        content = _message_content(message.get("content"), f"messages[{index}].content")
        size += len(content)
        messages.append({"role": role, "content": content})
    if size > settings.AI_MAX_PROMPT_CHARS:
        raise invalid("messages", f"The messages exceed {settings.AI_MAX_PROMPT_CHARS} characters.")
    temperature = _first(body, "temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2
    ):
        raise invalid("temperature", "Must be a number from 0 to 2.")
    for name in ("maxTokens", "max_tokens"):  # both spellings are checked, the first one wins
        value = body.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= settings.AI_MAX_TOKENS
        ):
            raise invalid(name, f"Must be an integer from 1 to {settings.AI_MAX_TOKENS}.")
    max_tokens = _first(body, "maxTokens", "max_tokens")
    use_knowledge = _first(body, "use_knowledge", "useKnowledge")
    if use_knowledge is not None and not isinstance(use_knowledge, bool):
        raise invalid("use_knowledge", "Must be a boolean.")
    return CompletionRequest(
        messages=messages,
        model=string_value(_first(body, "model"), "model", max_length=100),
        temperature=float(temperature) if temperature is not None else None,
        max_tokens=max_tokens or settings.AI_DEFAULT_MAX_TOKENS,
        chat_id=string_value(_first(body, "chatId", "chat_id"), "chatId", max_length=200),
        request_id=string_value(_first(body, "requestId", "request_id"), "requestId", max_length=255)
        or idempotency_key,
        use_knowledge=use_knowledge is not False,
    )


def _call_plan(available: dict[str, Provider], default_model: str, requested: str) -> list[tuple[Provider, str]]:
    """(provider, model) to try in order: the model's provider first, then (with fallback on)
    every other configured provider with its own default model."""
    if not available:
        raise AINotConfigured(NOT_CONFIGURED_HELP)
    model = requested or default_model
    if model:
        name = providers.provider_for_model(model)
        if name is None:  # a model only an OpenAI-format server names: a self-hosted one first
            name = next((n for n in (providers.COMPATIBLE, providers.GROQ) if n in available), next(iter(available)))
        if name not in available:
            raise AINotConfigured(f"The model {model!r} needs a {name} key. {NOT_CONFIGURED_HELP}")
        first = (available[name], providers.bare_model(model, name))
    else:
        provider = next(iter(available.values()))
        first = (provider, provider.default_model)
    plan = [first]
    if settings.AI_PROVIDER_FALLBACK:
        plan += [(p, p.default_model) for p in available.values() if p.name != first[0].name]
    return plan


def _replay(workspace: Workspace, request_id: str) -> dict[str, Any] | None:
    done = (
        AIConversation.objects.filter(workspace=workspace, request_id=request_id)
        .exclude(status=AIConversation.Status.FAILED)
        .first()
    )
    if done is None:
        return None
    if done.status == AIConversation.Status.PENDING:
        raise Conflict("A call with this requestId is in progress.", code="AI_REQUEST_IN_PROGRESS")
    return {**done.reply, "replayed": True}


def _estimated_tokens(messages: list[dict[str, str]], max_tokens: int) -> int:
    # About four characters a token; a little over is refunded at settlement.
    return sum(len(m["content"]) for m in messages) // 4 + len(messages) * 4 + max_tokens


def _with_knowledge(workspace: Workspace, request: CompletionRequest) -> tuple[list[dict[str, str]], list[str]]:
    if not request.use_knowledge:
        return request.messages, []
    query = request.knowledge_query or next(
        (m["content"] for m in reversed(request.messages) if m["role"] == "user"), ""
    )
    context, cited = knowledge.knowledge_context(workspace=workspace, text=query)
    if not context:
        return request.messages, []
    messages = list(request.messages)
    if messages[0]["role"] == "system":
        messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{context}"}
    else:
        messages.insert(0, {"role": "system", "content": context})
    return messages, cited


def ai_complete(
    *,
    workspace: Workspace,
    user: User | None,
    request: CompletionRequest,
    kind: str = AIConversation.Kind.COMPLETE,
    budget: float | None = None,
) -> dict[str, Any]:
    """Runs the call and returns the reply body; raises the 4xx/5xx ``ApplicationError``s."""
    available, default_model = configured_providers(workspace=workspace)
    plan = _call_plan(available, default_model, request.model)
    if request.request_id and (replayed := _replay(workspace, request.request_id)):
        return replayed
    messages, cited = _with_knowledge(workspace, request)
    reserve = credits.credits_for(model=plan[0][1], tokens=_estimated_tokens(messages, request.max_tokens))
    conversation = AIConversation(
        workspace=workspace,
        user=user,
        kind=kind,
        chat_id=request.chat_id,
        request_id=request.request_id or None,
        messages=messages,
        model=plan[0][1],
        provider=plan[0][0].name,
        credits_reserved=reserve,
        citations=cited,
    )
    try:
        with transaction.atomic():
            locked = credits.lock_workspace(workspace)
            conversation.save(force_insert=True)
            credits.credits_reserve(workspace=locked, conversation=conversation, amount=reserve)
    except IntegrityError:  # the same requestId won the race meanwhile
        replayed = _replay(workspace, request.request_id)
        if replayed is None:
            raise Conflict("A call with this requestId is in progress.", code="AI_REQUEST_IN_PROGRESS") from None
        return replayed
    except credits.InsufficientCredits:
        conversation.pk = None
        conversation.request_id, conversation.credits_reserved = None, 0
        conversation.status, conversation.error = AIConversation.Status.FAILED, "insufficient credits"
        conversation.save(force_insert=True)
        raise

    started = time.monotonic()
    deadline = started + (budget or settings.AI_PROVIDER_TIMEOUT)
    result, provider, failure = None, plan[0][0], None
    for provider, model in plan:
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            break
        try:
            result = providers.complete(
                provider,
                model=model,
                messages=messages,
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                timeout=remaining,
            )
            break
        except ProviderError as exc:
            failure = exc
    latency = int((time.monotonic() - started) * 1000)
    if result is None:
        _fail(conversation, failure, latency)
    return _succeed(conversation, provider, result, latency)


def _fail(conversation: AIConversation, failure: ProviderError | None, latency: int) -> None:
    message = failure.message if failure else "The AI provider did not answer in time."
    with transaction.atomic():
        credits.credits_settle(conversation=conversation, used=None)
        conversation.status, conversation.error, conversation.latency_ms = (
            AIConversation.Status.FAILED,
            message[:500],
            latency,
        )
        conversation.save(update_fields=["status", "error", "latency_ms", "updated_at"])
    if failure is None or isinstance(failure, ProviderTimeout):
        raise AIProviderTimeout(message)
    raise AIProviderError(message)


def _succeed(conversation: AIConversation, provider: Provider, result: Completion, latency: int) -> dict[str, Any]:
    cost = credits.credits_for(model=result.model, tokens=result.total_tokens)
    with transaction.atomic():
        used, remaining = credits.credits_settle(conversation=conversation, used=cost)
        reply = {
            "content": result.content,
            "text": result.content,
            "model": result.model,
            "provider": provider.name,
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "total_tokens": result.total_tokens,
            },
            "credits_used": used,
            "credits_remaining": remaining,
            "citations": conversation.citations,
            "requestId": conversation.request_id,
            "interactionId": str(conversation.pk),
        }
        conversation.status = AIConversation.Status.SUCCEEDED
        conversation.response, conversation.model, conversation.provider = result.content, result.model, provider.name
        conversation.prompt_tokens, conversation.completion_tokens = result.prompt_tokens, result.completion_tokens
        conversation.total_tokens, conversation.credits_used, conversation.latency_ms = (
            result.total_tokens,
            used,
            latency,
        )
        conversation.reply = reply
        conversation.save(update_fields=[*SETTLED_FIELDS, "updated_at"])  # not the messages again
    return reply
