"""The knowledge base: one store, the knowledge document, seen two ways.

The extension syncs the document whole (``/knowledge/sync``); ``/ai/knowledge`` edits its
entries one at a time. The document stays the source: an item write edits the document's entry
(products, faq, documents, cannedReplies lists by id; the policies map by name) and then
``items_rebuild`` derives the searchable ``KnowledgeItem`` rows from it, as after every sync.
So an item made here is in the document the extension downloads, and a product synced from the
browser is an item here. An item write stamps the document's ``lastUpdated`` with now, so a
browser copy older than the write is merged into it (by id) rather than replacing it.
"""

from __future__ import annotations

import re
import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from ai import search
from ai.models import KnowledgeDocument, KnowledgeItem
from settings_app.sync import check_size
from whatshybrid.api.errors import ApplicationError, FieldInvalid, NotFoundError

Type = KnowledgeItem.Type
# The document's list of each entry-shaped type, and the entry's fields for title and content.
LISTS = {Type.PRODUCT: "products", Type.FAQ: "faq", Type.DOCUMENT: "documents", Type.SNIPPET: "cannedReplies"}
ENTRY_FIELDS = {
    Type.PRODUCT: ("name", "description"),
    Type.FAQ: ("question", "answer"),
    Type.DOCUMENT: ("name", "content"),
    Type.SNIPPET: ("title", "reply"),
}
# The names an API body may use for title and content, per type (the document's own first).
TITLE_ALIASES = {Type.PRODUCT: "name", Type.FAQ: "question"}
CONTENT_ALIASES = {Type.PRODUCT: "description", Type.FAQ: "answer"}
MAX_TAGS = 50
MAX_TITLE = 500


def _price(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        price = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and abs(price) < Decimal("1e12") else None


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ("" if value is None else str(value)[:limit])


def _tags(value: Any) -> list[str]:
    return [tag[:100] for tag in value if isinstance(tag, str)][:MAX_TAGS] if isinstance(value, list) else []


def _fields_of_entry(item_type: str, entry: dict[str, Any]) -> dict[str, Any]:
    title_key, content_key = ENTRY_FIELDS[item_type]
    title = entry.get(title_key)
    tags = _tags(entry.get("tags"))
    if item_type == Type.SNIPPET:
        triggers = _tags(entry.get("triggers"))
        tags = tags or triggers
        title = title or ", ".join(triggers)
    elif item_type == Type.PRODUCT and not tags and isinstance(entry.get("category"), str) and entry["category"]:
        tags = [entry["category"][:100]]
    return {
        "title": _text(title, MAX_TITLE),
        "content": _text(entry.get(content_key), settings.AI_KNOWLEDGE_CONTENT_MAX_CHARS),
        "price": _price(entry.get("price")) if item_type == Type.PRODUCT else None,
        "tags": tags,
        "enabled": entry.get("enabled") is not False,
    }


def _document_items(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for item_type, list_name in LISTS.items():
        entries = data.get(list_name)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("id") not in (None, ""):
                found[(item_type, str(entry["id"])[:200])] = _fields_of_entry(item_type, entry)
    policies = data.get("policies")
    for name, text in (policies if isinstance(policies, dict) else {}).items():
        if isinstance(text, str) and text.strip():
            found[(Type.POLICY, str(name)[:200])] = {
                "title": str(name)[:MAX_TITLE],
                "content": text[: settings.AI_KNOWLEDGE_CONTENT_MAX_CHARS],
                "price": None,
                "tags": [],
                "enabled": True,
            }
    return found


def _search_text(fields: dict[str, Any]) -> str:
    parts = [fields["title"], fields["content"], " ".join(fields["tags"])]
    return search.normalize(" ".join(part for part in parts if part))


def items_rebuild(
    *, workspace_id: uuid.UUID, data: dict[str, Any], item_model: type[KnowledgeItem] = KnowledgeItem
) -> None:
    """Brings the workspace's items in line with its document: set-based, idempotent, and
    nothing is written for entries that did not change. A data migration passes its historical
    ``item_model`` (0003 maps the documents synced before items existed)."""
    wanted = _document_items(data)
    existing = {(item.type, item.key): item for item in item_model.objects.filter(workspace_id=workspace_id)}
    new, changed = [], []
    for identity, fields in wanted.items():
        fields = {**fields, "search_text": _search_text(fields)}
        item = existing.get(identity)
        if item is None:
            new.append(item_model(workspace_id=workspace_id, type=identity[0], key=identity[1], **fields))
        elif any(getattr(item, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(item, name, value)
            item.updated_at = timezone.now()
            changed.append(item)
    gone = [item.pk for identity, item in existing.items() if identity not in wanted]
    if gone:
        item_model.objects.filter(workspace_id=workspace_id, pk__in=gone).delete()
    item_model.objects.bulk_create(new, batch_size=500)
    if changed:
        item_model.objects.bulk_update(
            changed, ["title", "content", "price", "tags", "enabled", "search_text", "updated_at"], batch_size=500
        )


# --- item writes (/ai/knowledge) ----------------------------------------------------------------


def _locked_document(workspace: Workspace) -> KnowledgeDocument:
    document = KnowledgeDocument.objects.select_for_update().filter(workspace=workspace).first()
    return document or KnowledgeDocument(workspace=workspace, data={})


def _save_document(document: KnowledgeDocument) -> None:
    check_size(document.data, "knowledge")
    document.version += 1
    document.last_updated = max(int(time.time() * 1000), document.last_updated + 1)
    document.save()
    items_rebuild(workspace_id=document.workspace_id, data=document.data)


def _policy_key(title: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", search.normalize(title)).strip("_")[:100]
    if not key:
        raise FieldInvalid("title", "A policy needs a title (its name in the knowledge document).")
    return key


def _write_entry(data: dict[str, Any], item_type: str, key: str, fields: dict[str, Any]) -> None:
    if item_type == Type.POLICY:
        policies = data.get("policies") if isinstance(data.get("policies"), dict) else {}
        data["policies"] = {**policies, key: fields["content"]}
        return
    entries = [entry for entry in data.get(LISTS[item_type]) or [] if isinstance(entry, dict)]
    position = next((i for i, entry in enumerate(entries) if str(entry.get("id")) == key), None)
    entry = dict(entries[position]) if position is not None else {"id": key}
    title_key, content_key = ENTRY_FIELDS[item_type]
    entry.update(
        {
            title_key: fields["title"],
            content_key: fields["content"],
            "tags": fields["tags"],
            "enabled": fields["enabled"],
            "updatedAt": timezone.now().isoformat(),
        }
    )
    if item_type == Type.PRODUCT:
        entry["price"] = float(fields["price"]) if fields["price"] is not None else None
    if item_type == Type.SNIPPET:
        entry["triggers"] = fields["tags"] or [fields["title"]]
    if item_type == Type.DOCUMENT:
        entry.setdefault("type", "text")
        entry.setdefault("uploadedAt", timezone.now().isoformat())
    if position is None:
        entries.append(entry)
    else:
        entries[position] = entry
    data[LISTS[item_type]] = entries


def _remove_entry(data: dict[str, Any], item_type: str, key: str) -> None:
    if item_type == Type.POLICY:
        data["policies"] = {k: v for k, v in (data.get("policies") or {}).items() if k != key}
    else:
        data[LISTS[item_type]] = [e for e in data.get(LISTS[item_type]) or [] if str(e.get("id")) != key]


def _input_fields(item_type: str, data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    fields = dict(base)
    for field, aliases in (("title", TITLE_ALIASES), ("content", CONTENT_ALIASES)):
        for name in (aliases.get(item_type), field):
            if name and data.get(name) is not None:
                fields[field] = data[name]
    for name in ("price", "tags", "enabled"):
        if name in data:
            fields[name] = data[name]
    if item_type == Type.POLICY and fields.get("enabled") is False:
        raise FieldInvalid("enabled", "A policy cannot be disabled; delete it or clear its text.")
    if not (fields.get("title") or fields.get("content")):
        raise FieldInvalid("content", "An item needs a title or content.")
    if item_type != Type.PRODUCT:
        fields["price"] = None
    return fields


@transaction.atomic
def knowledge_item_create(*, workspace: Workspace, data: dict[str, Any]) -> KnowledgeItem:
    item_type = data["type"]
    fields = _input_fields(item_type, data, {"title": "", "content": "", "price": None, "tags": [], "enabled": True})
    document = _locked_document(workspace)
    key = _policy_key(fields["title"]) if item_type == Type.POLICY else str(uuid.uuid4())
    if item_type == Type.POLICY and key in (document.data.get("policies") or {}):
        raise ApplicationError(
            f"The policy '{key}' already exists; update it instead.", code="CONFLICT", status_code=409
        )
    _write_entry(document.data, item_type, key, fields)
    _save_document(document)
    return KnowledgeItem.objects.get(workspace=workspace, type=item_type, key=key)


@transaction.atomic
def knowledge_item_update(*, item: KnowledgeItem, data: dict[str, Any]) -> KnowledgeItem:
    if data.get("type", item.type) != item.type:
        raise FieldInvalid("type", "The type of an item cannot change; create a new item instead.")
    base = {
        "title": item.title,
        "content": item.content,
        "price": item.price,
        "tags": item.tags,
        "enabled": item.enabled,
    }
    fields = _input_fields(item.type, data, base)
    document = _locked_document(item.workspace)
    _write_entry(document.data, item.type, item.key, fields)
    _save_document(document)
    updated = KnowledgeItem.objects.filter(workspace=item.workspace, type=item.type, key=item.key).first()
    if updated is None:
        raise NotFoundError("The knowledge item was deleted.")
    return updated


@transaction.atomic
def knowledge_item_delete(*, item: KnowledgeItem) -> None:
    document = _locked_document(item.workspace)
    _remove_entry(document.data, item.type, item.key)
    _save_document(document)
    KnowledgeItem.objects.filter(pk=item.pk).delete()  # also when the document had lost its entry


# --- reads ----------------------------------------------------------------------------------------


def knowledge_search(*, workspace: Workspace, text: str, limit: int = 10) -> list[tuple[KnowledgeItem, float]]:
    return search.search(workspace_id=workspace.pk, text=text, limit=limit)


def knowledge_context(*, workspace: Workspace, text: str) -> tuple[str, list[str]]:
    """The best items for ``text`` as system-prompt lines within the knowledge budget, and
    their ids (the reply's ``citations``)."""
    budget = settings.AI_KNOWLEDGE_PROMPT_CHARS
    lines, cited = [], []
    for item, _score in knowledge_search(workspace=workspace, text=text, limit=8):
        price = f" (price: {item.price})" if item.price is not None else ""
        line = f"- [{item.type}] {item.title}{price}: {item.content}".strip()
        if len(line) > budget:
            if lines:
                break
            line = line[:budget]
        budget -= len(line)
        lines.append(line)
        cited.append(str(item.pk))
    if not lines:
        return "", []
    return "Knowledge base of this business (answer from it when relevant):\n" + "\n".join(lines), cited


def knowledge_tone(*, workspace: Workspace) -> dict[str, Any]:
    document = KnowledgeDocument.objects.filter(workspace=workspace).only("data").first()
    data = document.data if document else {}
    tone = data.get("tone") if isinstance(data.get("tone"), dict) else {}
    business = data.get("business") if isinstance(data.get("business"), dict) else {}
    return {"tone": tone, "business": business}
