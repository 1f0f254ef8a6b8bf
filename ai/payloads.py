"""The API representation of the AI app's resources."""

from __future__ import annotations

from typing import Any

from ai.models import KnowledgeItem
from whatshybrid.api.serializers import instant_text

# The names the item types' own fields go by, beside the generic title/content.
TYPED_NAMES = {"faq": ("question", "answer"), "product": ("name", "description")}


def knowledge_item_payload(item: KnowledgeItem, *, score: float | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(item.pk),
        "type": item.type,
        "key": item.key,
        "title": item.title,
        "content": item.content,
        "price": str(item.price) if item.price is not None else None,
        "tags": item.tags,
        "enabled": item.enabled,
        "created_at": instant_text(item.created_at),
        "updated_at": instant_text(item.updated_at),
    }
    if item.type in TYPED_NAMES:
        title_name, content_name = TYPED_NAMES[item.type]
        payload[title_name], payload[content_name] = item.title, item.content
    if score is not None:
        payload["score"] = round(score, 6)
    return payload
