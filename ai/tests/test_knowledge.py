"""``/ai/knowledge``: items, full-text search, the shared knowledge document, injection."""

from __future__ import annotations

import time

import pytest

from ai.models import KnowledgeItem

pytestmark = pytest.mark.django_db


def document(**changes):
    return {
        "business": {"name": "Loja"},
        "policies": {"payment": "Aceitamos Pix e cartão", "delivery": "", "returns": "Trocas em 7 dias"},
        "products": [{"id": "p1", "name": "Camisa Azul", "price": 59.9, "description": "Algodão", "category": "roupa"}],
        "faq": [{"id": "f1", "question": "Vocês entregam?", "answer": "Sim, em toda a cidade", "tags": ["entrega"]}],
        "cannedReplies": [{"id": "c1", "triggers": ["horário"], "reply": "Abrimos às 9h", "category": ""}],
        "documents": [{"id": "d1", "name": "Catálogo", "type": "text", "content": "Promoção de verão: 20% off"}],
        "tone": {"style": "friendly", "language": "pt-BR"},
        "lastUpdated": int(time.time() * 1000) - 60_000,
        **changes,
    }


def sync(client, knowledge):
    reply = client.post("/api/v1/knowledge/sync", {"action": "sync", "knowledge": knowledge})
    assert reply.status_code == 200, reply.content
    return reply.json()["knowledge"]


def test_synced_document_becomes_items(api_client):
    sync(api_client, document())
    items = api_client.get("/api/v1/ai/knowledge").json()["items"]
    assert sorted((i["type"], i["key"]) for i in items) == [
        ("document", "d1"),
        ("faq", "f1"),
        ("policy", "payment"),
        ("policy", "returns"),
        ("product", "p1"),
        ("snippet", "c1"),
    ]
    product = next(i for i in items if i["type"] == "product")
    assert (product["name"], product["price"], product["tags"]) == ("Camisa Azul", "59.90", ["roupa"])
    faqs = api_client.get("/api/v1/ai/knowledge?type=faq").json()["items"]
    assert [(i["question"], i["answer"]) for i in faqs] == [("Vocês entregam?", "Sim, em toda a cidade")]
    assert api_client.get("/api/v1/ai/knowledge?type=bogus").status_code == 400


def test_items_made_here_are_in_the_downloaded_document(api_client):
    sync(api_client, document())
    created = api_client.post(
        "/api/v1/ai/knowledge",
        {"type": "faq", "question": "Tem estacionamento?", "answer": "Sim, gratuito", "tags": ["local"]},
    )
    assert created.status_code == 201, created.content
    item = created.json()["item"]
    policy = api_client.post("/api/v1/ai/knowledge", {"type": "policy", "title": "Garantia", "content": "1 ano"})
    assert policy.status_code == 201
    downloaded = api_client.get("/api/v1/knowledge").json()["knowledge"]
    entry = next(f for f in downloaded["faq"] if f["id"] == item["key"])
    assert (entry["question"], entry["answer"], entry["tags"]) == ("Tem estacionamento?", "Sim, gratuito", ["local"])
    assert downloaded["policies"]["garantia"] == "1 ano"
    # A browser copy older than the write merges into it instead of dropping the new FAQ.
    merged = sync(api_client, document())
    assert item["key"] in [f["id"] for f in merged["faq"]]
    updated = api_client.put(f"/api/v1/ai/knowledge/{item['id']}", {"answer": "Sim, com manobrista", "enabled": False})
    assert updated.status_code == 200 and updated.json()["item"]["id"] == item["id"]
    assert updated.json()["item"]["enabled"] is False
    entry = next(f for f in api_client.get("/api/v1/knowledge").json()["knowledge"]["faq"] if f["id"] == item["key"])
    assert entry["answer"] == "Sim, com manobrista" and entry["enabled"] is False
    assert api_client.delete(f"/api/v1/ai/knowledge/{item['id']}").status_code == 200
    assert item["key"] not in [f["id"] for f in api_client.get("/api/v1/knowledge").json()["knowledge"]["faq"]]
    assert not KnowledgeItem.objects.filter(pk=item["id"]).exists()


def test_a_newer_browser_copy_replaces_and_items_follow(api_client):
    sync(api_client, document())
    sync(api_client, document(products=[], lastUpdated=int(time.time() * 1000) + 10_000))
    assert not KnowledgeItem.objects.filter(type="product").exists()


def test_search_is_ranked_and_accent_insensitive(api_client):
    sync(api_client, document())
    api_client.post("/api/v1/ai/knowledge", {"type": "snippet", "title": "promocao", "content": "PROMOCAO relâmpago"})
    for query in ("promoção", "PROMOCAO", "Promoções"):
        items = api_client.get("/api/v1/ai/knowledge/search", {"q": query}).json()["items"]
        assert {i["title"] for i in items} == {"Catálogo", "promocao"}, query
        assert items[0]["score"] >= items[1]["score"] > 0
    entrega = api_client.get("/api/v1/ai/knowledge/search?q=entregam na cidade").json()["items"]
    assert entrega[0]["key"] == "f1"
    assert api_client.get("/api/v1/ai/knowledge/search?q=de a o").json()["items"] == []
    assert [i["key"] for i in api_client.get("/api/v1/ai/knowledge?q=algodao").json()["items"]] == ["p1"]


def test_disabled_items_are_not_found(api_client):
    sync(api_client, document())
    faq = KnowledgeItem.objects.get(type="faq")
    api_client.put(f"/api/v1/ai/knowledge/{faq.pk}", {"enabled": False})
    assert api_client.get("/api/v1/ai/knowledge/search?q=entregam").json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"type": "recipe", "title": "x"},
        {"type": "faq"},
        {"type": "faq", "question": "x", "colour": "red"},
        {"type": "product", "name": "x", "price": "cheap"},
        {"type": "policy", "title": "Pix", "content": "sim", "enabled": False},
        {"type": "document", "title": "big", "content": "x" * 100_001},
    ],
)
def test_bad_items_are_400s(api_client, body):
    assert api_client.post("/api/v1/ai/knowledge", body).status_code == 400


def test_other_workspace_items_are_404(api_client, other_client):
    item = api_client.post("/api/v1/ai/knowledge", {"type": "faq", "question": "Q?", "answer": "A"}).json()["item"]
    path = f"/api/v1/ai/knowledge/{item['id']}"
    assert other_client.get(path).status_code == 404
    assert other_client.put(path, {"answer": "hacked"}).status_code == 404
    assert other_client.delete(path).status_code == 404
    assert other_client.get("/api/v1/ai/knowledge").json()["items"] == []
    assert other_client.get("/api/v1/ai/knowledge/search?q=Q").json()["items"] == []
    assert api_client.put(path, {"type": "product"}).status_code == 400


def test_knowledge_is_injected_and_cited(openai_client, fake_openai):
    sync(openai_client, document())
    faq = KnowledgeItem.objects.get(type="faq")
    body = {
        "messages": [
            {"role": "system", "content": "Você é um atendente."},
            {"role": "user", "content": "Vocês entregam em casa?"},
        ]
    }
    data = openai_client.post("/api/v1/ai/complete", body).json()
    assert str(faq.pk) in data["citations"]
    system = fake_openai.requests[-1]["body"]["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("Você é um atendente.")
    assert "Sim, em toda a cidade" in system["content"]
    data = openai_client.post("/api/v1/ai/complete", {**body, "use_knowledge": False}).json()
    assert data["citations"] == []
    assert "Sim, em toda a cidade" not in fake_openai.requests[-1]["body"]["messages"][0]["content"]


def test_injection_keeps_within_the_budget(openai_client, fake_openai, ai_settings):
    ai_settings.AI_KNOWLEDGE_PROMPT_CHARS = 300
    long_docs = [{"id": f"d{n}", "name": f"Entrega {n}", "content": "entrega " * 200} for n in range(5)]
    sync(openai_client, document(documents=long_docs))
    data = openai_client.post("/api/v1/ai/complete", {"messages": [{"role": "user", "content": "entrega"}]}).json()
    system = fake_openai.requests[-1]["body"]["messages"][0]["content"]
    assert len(data["citations"]) == 1 and len(system) < 300 + 100
