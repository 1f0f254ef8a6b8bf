"""Data migrations, run by Django's migration executor on the test database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Workspace
from ai.knowledge import knowledge_search
from ai.models import KnowledgeItem

BEFORE = ("ai", "0002_ai_calls_credits_knowledge")
AFTER = ("ai", "0003_knowledge_items_from_documents")


def _migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)  # a fresh graph: the applied set changed
    executor.migrate(target)
    return executor


@pytest.mark.django_db(transaction=True)
def test_documents_synced_before_items_existed_become_items():
    executor = _migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    workspace_model, document_model = old.get_model("accounts", "Workspace"), old.get_model("ai", "KnowledgeDocument")
    synced = workspace_model.objects.create(name="synced before items")
    empty = workspace_model.objects.create(name="document without entries")
    document_model.objects.create(
        workspace_id=synced.pk,
        version=3,
        data={
            "faq": [{"id": "f1", "question": "Vocês entregam no sábado?", "answer": "Sim, até as 14h."}],
            "products": [{"id": "p1", "name": "Bolo de cenoura", "price": "39.90", "category": "doces"}],
            "policies": {"trocas": "Trocas em até 7 dias com a nota."},
        },
    )
    document_model.objects.create(workspace_id=empty.pk, data={"business": {"name": "Loja"}})
    try:
        _migrate([AFTER])
        items = {(i.type, i.key): i for i in KnowledgeItem.objects.filter(workspace_id=synced.pk)}
        assert set(items) == {("faq", "f1"), ("product", "p1"), ("policy", "trocas")}
        assert items[("product", "p1")].price == Decimal("39.90")
        assert items[("product", "p1")].tags == ["doces"]
        assert not KnowledgeItem.objects.filter(workspace_id=empty.pk).exists()
        # Searchable through the engine's index (FTS5 triggers / the PostgreSQL GIN expression).
        found = knowledge_search(workspace=Workspace.objects.get(pk=synced.pk), text="entrega sabado")
        assert [item.key for item, _score in found] == ["f1"]

        # Idempotent: run again over items that already exist, nothing is duplicated or rewritten.
        stamps = dict(KnowledgeItem.objects.values_list("key", "updated_at"))
        _migrate([BEFORE])  # the reversal is a no-op: the items stay
        _migrate([AFTER])
        assert dict(KnowledgeItem.objects.values_list("key", "updated_at")) == stamps
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
