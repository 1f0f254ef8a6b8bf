"""``/knowledge`` and the few-shot example calls, as the extension sends them."""

from __future__ import annotations

import time

import pytest

from ai.models import KnowledgeDocument

pytestmark = pytest.mark.django_db


def knowledge(**changes):
    return {
        "business": {"name": "Loja", "description": "", "segment": "varejo", "hours": "9-18"},
        "policies": {"payment": "Pix", "delivery": "", "returns": ""},
        "products": [{"id": "p1", "name": "Camisa", "price": 50, "stock": 3, "description": "", "category": "roupa"}],
        "faq": [{"id": "f1", "question": "Entrega?", "answer": "Sim", "category": "", "tags": []}],
        "cannedReplies": [],
        "documents": [],
        "tone": {"style": "friendly", "useEmojis": True, "language": "pt-BR", "greeting": "Oi", "closing": ""},
        "unansweredQuestions": [],
        "version": 1,
        "lastUpdated": int(time.time() * 1000),
        **changes,
    }


def test_sync_and_read_back(api_client):
    sent = knowledge()
    reply = api_client.post("/api/v1/knowledge/sync", {"action": "sync", "knowledge": sent}, format="json").json()
    assert list(reply)[0] == "success"
    assert reply["knowledge"]["products"] == sent["products"]
    got = api_client.get("/api/v1/knowledge").json()
    assert (got["knowledge"]["business"], got["version"]) == (sent["business"], 1)
    assert got["updatedAt"]
    data = api_client.get("/api/v1/knowledge/sync").json()
    assert data["data"] == got["knowledge"]


def test_an_older_copy_merges_and_a_newer_one_replaces(api_client, client_for, user, workspace):
    first = knowledge()
    api_client.post("/api/v1/knowledge/sync", {"action": "sync", "knowledge": first}, format="json")
    newer = knowledge(
        products=[*first["products"], {"id": "p2", "name": "Calça"}], lastUpdated=first["lastUpdated"] + 1000
    )
    client_for(user, workspace).post("/api/v1/knowledge/sync", {"action": "sync", "knowledge": newer}, format="json")
    stale = knowledge(faq=[], lastUpdated=first["lastUpdated"])  # an older tab: its deletion must not win
    merged = api_client.post("/api/v1/knowledge/sync", {"action": "sync", "knowledge": stale}, format="json").json()
    assert [p["id"] for p in merged["knowledge"]["products"]] == ["p1", "p2"]
    deleted = knowledge(products=[], lastUpdated=first["lastUpdated"] + 5000)
    replaced = api_client.post("/api/v1/knowledge/sync", {"action": "sync", "knowledge": deleted}, format="json").json()
    assert replaced["knowledge"]["products"] == []
    assert KnowledgeDocument.objects.get().version == 3


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"action": "delete", "knowledge": {}}, "action"),
        ({"knowledge": {}}, "action"),
        ({"action": "sync", "knowledge": []}, "knowledge"),
        ({"action": "sync", "knowledge": {"lastUpdated": "soon"}}, "knowledge.lastUpdated"),
    ],
)
def test_bad_knowledge_bodies(api_client, body, path):
    reply = api_client.post("/api/v1/knowledge/sync", body, format="json")
    assert reply.status_code == 400 and path in reply.json()["errors"]
    assert not KnowledgeDocument.objects.exists()


def test_knowledge_is_per_workspace(api_client, other_client):
    api_client.post("/api/v1/knowledge/sync", {"action": "sync", "knowledge": knowledge()}, format="json")
    assert other_client.get("/api/v1/knowledge").json()["knowledge"] is None


def test_few_shot_examples_merge_by_id_on_both_paths(api_client, other_client):
    one = {"id": "e1", "input": "Oi", "output": "Olá!"}
    reply = api_client.post("/api/v1/ai/few-shot/sync", {"examples": [one]}, format="json").json()
    assert reply == {"success": True, "examples": [one]}
    two = {"id": "e2", "input": "Preço?", "output": "R$ 50"}
    api_client.post("/api/v1/examples/sync", {"examples": [two]}, format="json")
    assert api_client.get("/api/v1/examples/list").json()["examples"] == [two, one]
    assert other_client.get("/api/v1/examples/list").json() == {"success": True, "examples": []}
    assert api_client.post("/api/v1/examples/sync", {"examples": "x"}, format="json").status_code == 400
    assert api_client.post("/api/v1/examples/sync", {"examples": [1]}, format="json").status_code == 400
