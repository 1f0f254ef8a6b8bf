"""The extension's reply suggestions (``/v2/ai/process``) and their feedback (``/ai/learn/feedback``).

A suggestion is an ordinary AI call (``ai.completion.ai_complete``: credits, knowledge, stored
call) whose prompt is built here: the workspace's tone and business from the knowledge
document, the client's business rules, and the chat's recent messages when the chat id names a
conversation of the workspace (its UUID, or a WhatsApp id whose phone is a contact's). The
call's id is the ``interactionId`` feedback refers to.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from ai import services
from ai.completion import CompletionRequest, ai_complete
from ai.inputs import string_value
from ai.knowledge import knowledge_tone
from ai.models import AIConversation, AIFeedback
from ai.search import normalize
from contacts.models import Contact
from contacts.phones import InvalidPhone, normalize_phone
from messaging.models import Conversation, Message
from messaging.selectors import message_page
from whatshybrid.api.bodies import invalid, read_list, read_object

HISTORY_MESSAGES = 10
MAX_MESSAGE_CHARS = 10_000
MAX_RULES = 50
SUGGESTION_MAX_TOKENS = 512
# A first guess at what the customer wants, by keywords (accents already stripped by the caller).
INTENTS = (
    ("complaint", r"reclama|problema|defeito|atras|pessim|horrivel|devolv"),
    ("price", r"preco|valor|quanto (custa|e|fica)|custa|orcamento"),
    ("delivery", r"entreg|frete|envio|prazo|rastre"),
    ("purchase", r"comprar|quero|pedido|encomend"),
    ("greeting", r"^(oi|ola|bom dia|boa tarde|boa noite|e ai)\b"),
)


def _conversation_for_chat(workspace: Workspace, chat_id: str) -> Conversation | None:
    if not chat_id:
        return None
    conversations = Conversation.objects.filter(workspace=workspace)
    try:
        return conversations.filter(pk=uuid.UUID(chat_id)).first()
    except ValueError:
        pass
    try:
        phone = normalize_phone(chat_id, default_region=workspace.default_country)
    except InvalidPhone:
        return None
    contact = Contact.objects.filter(workspace=workspace, phone=phone).first()
    if contact is None:
        return None
    return conversations.filter(contact=contact).order_by("-last_activity_at").first()


def chat_history(*, workspace: Workspace, chat_id: str) -> list[dict[str, str]]:
    """The chat's latest messages as chat turns (customer → user, business → assistant)."""
    conversation = _conversation_for_chat(workspace, chat_id)
    if conversation is None:
        return []
    rows = message_page(conversation=conversation, limit=HISTORY_MESSAGES).messages
    return [
        {"role": "user" if row["direction"] == Message.Direction.INCOMING else "assistant", "content": row["content"]}
        for row in rows
        if row["content"] and row["message_type"] != Message.Type.NOTE
    ]


def _system_prompt(workspace: Workspace, language: str, rules: list[str]) -> str:
    known = knowledge_tone(workspace=workspace)
    business, tone = known["business"], known["tone"]
    lines = [
        "You suggest the next reply of a business to its customer on WhatsApp. Answer with the reply only.",
        f"Write in {tone.get('language') or language}.",
    ]
    if business.get("name"):
        lines.append(f"Business: {business['name']}. {business.get('description') or ''}".strip())
    if tone.get("style"):
        emojis = "use emojis" if tone.get("useEmojis") else "no emojis"
        lines.append(f"Tone: {tone['style']}, {emojis}.")
    lines += [f"Rule: {rule}" for rule in rules]
    return "\n".join(str(line) for line in lines)


def _intent(text: str) -> str:
    plain = normalize(text).strip()
    for name, pattern in INTENTS:
        if re.search(pattern, plain):
            return name
    return "question" if "?" in plain else "other"


def _quality(reply: dict[str, Any]) -> float:
    # A heuristic, not a model's judgement: grounded in the knowledge base and of chat length.
    score = 0.5 + (0.3 if reply["citations"] else 0.0)
    length = len(reply["content"])
    score += 0.2 if 0 < length <= 1000 else 0.0
    return round(score, 2)


def ai_process(*, workspace: Workspace, user: User | None, body: Any) -> dict[str, Any]:
    body = read_object(body, "body")
    message = string_value(body.get("message"), "message", max_length=MAX_MESSAGE_CHARS)
    if not message:
        raise invalid("message", "The customer's message is required.")
    chat_id = string_value(body.get("chatId"), "chatId", max_length=200)
    language = string_value(body.get("language"), "language", max_length=20, default="pt-BR") or "pt-BR"
    rules = read_list(body.get("businessRules"), "businessRules", max_items=MAX_RULES)
    for index, rule in enumerate(rules):
        if not isinstance(rule, str):
            raise invalid(f"businessRules[{index}]", "Must be a string.")
    rules = [string_value(rule, f"businessRules[{i}]", max_length=1000) for i, rule in enumerate(rules)]
    messages = [
        {"role": "system", "content": _system_prompt(workspace, language, [r for r in rules if r])},
        *chat_history(workspace=workspace, chat_id=chat_id),
        {"role": "user", "content": message},
    ]
    request = CompletionRequest(
        messages=messages,
        max_tokens=SUGGESTION_MAX_TOKENS,
        chat_id=chat_id,
        request_id=string_value(body.get("requestId"), "requestId", max_length=255),
        knowledge_query=message,
    )
    reply = ai_complete(
        workspace=workspace,
        user=user,
        request=request,
        kind=AIConversation.Kind.PROCESS,
        budget=settings.AI_PROCESS_TIMEOUT,
    )
    return {
        "success": True,
        "response": reply["content"],
        "metadata": {
            "interactionId": reply["interactionId"],
            "intent": _intent(message),
            "qualityScore": _quality(reply),
            "model": reply["model"],
            "provider": reply["provider"],
            "citations": reply["citations"],
            "usage": reply["usage"],
            "credits_used": reply["credits_used"],
            "credits_remaining": reply["credits_remaining"],
        },
    }


def _rating(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1 if value else -1  # thumbs up / down
    if isinstance(value, (int, float)) and -10 <= value <= 10:
        return round(value)
    raise invalid("rating", "Must be a number from -10 to 10 (or a boolean).")


@transaction.atomic
def ai_feedback_record(*, workspace: Workspace, user: User | None, body: Any) -> tuple[AIFeedback, bool]:
    """Stores the feedback, linked to the workspace's call it names; a corrected response
    becomes a few-shot example. Returns the feedback and whether an example was added."""
    body = read_object(body, "body")
    interaction_id = string_value(body.get("interactionId"), "interactionId", max_length=100)
    try:
        call = AIConversation.objects.filter(workspace=workspace, pk=uuid.UUID(interaction_id)).first()
    except ValueError:
        call = None  # an id the extension made itself: kept, linked to nothing

    def text(name: str) -> str:
        return string_value(body.get(name), name, max_length=MAX_MESSAGE_CHARS)

    user_message = text("userMessage")
    if not user_message and call is not None:
        user_message = next((m["content"] for m in reversed(call.messages) if m.get("role") == "user"), "")
    feedback = AIFeedback.objects.create(
        workspace=workspace,
        conversation=call,
        user=user,
        interaction_id=interaction_id,
        rating=_rating(body.get("rating")),
        feedback_type=string_value(body.get("feedbackType"), "feedbackType", max_length=50),
        chat_id=string_value(body.get("chatId"), "chatId", max_length=200),
        user_message=user_message,
        assistant_response=text("assistantResponse") or (call.response if call else ""),
        corrected_response=text("correctedResponse"),
    )
    added = False
    if feedback.corrected_response and feedback.user_message:
        added = services.few_shot_add(
            workspace=workspace,
            example={
                "id": f"feedback_{feedback.pk}",
                "input": feedback.user_message,
                "output": feedback.corrected_response,
                "source": "feedback",
                "updatedAt": timezone.now().isoformat(),
            },
        )
    return feedback, added
