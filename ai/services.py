"""Knowledge and few-shot writes from the extension's sync calls.

The knowledge document is the workspace's knowledge base, stored here whole; every change of
it re-derives its searchable items (``ai.knowledge.items_rebuild``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Workspace
from ai.knowledge import items_rebuild
from ai.models import FewShotExamples, KnowledgeDocument
from settings_app.sync import check_size, merge_documents
from whatshybrid.api.bodies import epoch_ms, invalid, read_list, read_object

MAX_EXAMPLES = 5000


@transaction.atomic
def knowledge_sync(*, workspace: Workspace, body: Any) -> dict[str, Any]:
    """Stores the client's knowledge document and returns the merged one.

    A client copy at least as new as the stored one (its ``lastUpdated``) replaces it, so a
    product deleted in the browser stays deleted; an older copy is merged into the stored one
    (lists by id, the newer ``updatedAt`` winning), so another browser's additions survive.
    """
    body = read_object(body, "body")
    if body.get("action") != "sync":
        raise invalid("action", "Must be 'sync'.")
    knowledge = read_object(body.get("knowledge"), "knowledge")
    raw_updated = knowledge.get("lastUpdated")
    client_updated = epoch_ms(raw_updated) if raw_updated not in (None, "") else 0
    if client_updated is None:
        raise invalid("knowledge.lastUpdated", "Must be epoch milliseconds or an ISO 8601 date-time.")
    check_size(knowledge, "knowledge")
    document = KnowledgeDocument.objects.select_for_update().filter(workspace=workspace).first()
    if document is None:
        document = KnowledgeDocument(workspace=workspace)
    replaces = document._state.adding or client_updated >= document.last_updated
    merged = dict(knowledge) if replaces else merge_documents(document.data, knowledge)
    for stamp in ("version", "lastUpdated"):  # kept in their columns, answered beside the data
        merged.pop(stamp, None)
    check_size(merged, "knowledge")
    if document._state.adding or merged != document.data:
        document.data = merged
        document.version += 1
        document.last_updated = max(client_updated, document.last_updated)
        document.save()
        items_rebuild(workspace_id=workspace.pk, data=document.data)
    return {"knowledge": knowledge_shape(document)}


def knowledge_shape(document: KnowledgeDocument) -> dict[str, Any]:
    return {**document.data, "version": document.version, "lastUpdated": document.last_updated}


def knowledge_get(*, workspace: Workspace) -> KnowledgeDocument | None:
    return KnowledgeDocument.objects.filter(workspace=workspace).first()


@transaction.atomic
def few_shot_sync(*, workspace: Workspace, body: Any) -> list[Any]:
    """Merges the client's examples into the workspace's (by ``id``, newer ``updatedAt`` wins)."""
    body = read_object(body, "body")
    examples = read_list(body.get("examples"), "examples", max_items=MAX_EXAMPLES, required=True)
    for index, example in enumerate(examples):
        read_object(example, f"examples[{index}]")
    check_size(examples, "examples")
    stored, _ = FewShotExamples.objects.select_for_update().get_or_create(workspace=workspace)
    merged = merge_documents(stored.examples, examples)[:MAX_EXAMPLES]
    check_size(merged, "examples")
    if merged != stored.examples:
        stored.examples = merged
        stored.save()
    return merged


def few_shot_list(*, workspace: Workspace) -> list[Any]:
    stored = FewShotExamples.objects.filter(workspace=workspace).first()
    return stored.examples if stored else []


@transaction.atomic
def few_shot_add(*, workspace: Workspace, example: dict[str, Any]) -> bool:
    """Appends one example (a corrected reply suggestion); False when the list is full."""
    stored, _ = FewShotExamples.objects.select_for_update().get_or_create(workspace=workspace)
    if len(stored.examples) >= MAX_EXAMPLES:
        return False
    stored.examples = [*stored.examples, example]
    check_size(stored.examples, "examples")
    stored.save()
    return True
