"""``/sync/<module>``: per-user module documents, merged by the spec's rules."""

from __future__ import annotations

import time

import pytest

from settings_app.models import ModuleDocument

pytestmark = pytest.mark.django_db


def ms() -> int:
    return int(time.time() * 1000)


def push(client, module, data, last_sync=0):
    return client.post(
        f"/api/v1/sync/{module}", {"data": data, "lastSync": last_sync, "timestamp": ms()}, format="json"
    )


def test_store_download_and_status(api_client):
    reply = push(api_client, "templates", [{"id": "t1", "text": "Olá"}]).json()
    assert list(reply)[0] == "success"
    assert (reply["success"], reply["module"], reply["mergeNeeded"], reply["data"]) == (True, "templates", False, None)
    download = api_client.get("/api/v1/sync/templates/download").json()
    assert download == {"success": True, "data": [{"id": "t1", "text": "Olá"}], "lastModified": reply["lastModified"]}
    status = api_client.get("/api/v1/sync/status").json()
    assert status["modules"]["templates"]["lastModified"] == reply["lastModified"]
    assert api_client.get("/api/v1/sync/nothing/download").json() == {"success": True, "data": None, "lastModified": 0}


def test_a_change_after_last_sync_merges_lists_by_id_and_objects_client_wins(api_client, client_for, user, workspace):
    other_browser = client_for(user, workspace)
    first = push(api_client, "ai_memory", {"items": [{"id": 1, "v": "a", "updatedAt": 100}], "tone": "x"}).json()
    push(
        other_browser,
        "ai_memory",
        {"items": [{"id": 1, "v": "newer", "updatedAt": 200}, {"id": 2, "v": "b"}], "tone": "y"},
        last_sync=first["lastModified"],
    )
    stale = push(
        api_client,
        "ai_memory",
        {"items": [{"id": 1, "v": "old", "updatedAt": 150}, {"id": 3, "v": "c"}], "extra": True},
        last_sync=first["lastModified"],
    ).json()
    assert stale["mergeNeeded"] is True
    merged = stale["data"]
    assert {item["id"]: item["v"] for item in merged["items"]} == {1: "newer", 2: "b", 3: "c"}
    assert (merged["tone"], merged["extra"]) == ("y", True)
    assert api_client.get("/api/v1/sync/ai_memory/download").json()["data"] == merged


def test_delete_an_item_and_the_whole_document(api_client):
    push(api_client, "campaigns", [{"id": "c1"}, {"id": "c2"}, {"key": "k3"}])
    assert api_client.delete("/api/v1/sync/campaigns/c1").json()["removed"] == 1
    assert api_client.delete("/api/v1/sync/campaigns/k3").json()["removed"] == 1
    assert api_client.get("/api/v1/sync/campaigns/download").json()["data"] == [{"id": "c2"}]
    assert api_client.delete("/api/v1/sync/campaigns/all").json()["removed"] == 1
    assert api_client.get("/api/v1/sync/campaigns/download").json()["data"] is None
    assert api_client.delete("/api/v1/sync/campaigns/c2").status_code == 404


def test_documents_belong_to_the_user_within_the_workspace(
    api_client, client_for, make_member, workspace, other_client
):
    push(api_client, "settings", {"theme": "dark"})
    teammate = client_for(make_member(workspace, role="viewer"), workspace)
    assert teammate.get("/api/v1/sync/settings/download").json()["data"] is None
    assert other_client.get("/api/v1/sync/settings/download").json()["data"] is None
    assert push(teammate, "settings", {"theme": "light"}).status_code == 200  # any role keeps its own
    assert api_client.get("/api/v1/sync/settings/download").json()["data"] == {"theme": "dark"}
    assert other_client.get("/api/v1/sync/status").json()["modules"] == {}


def test_missing_data_bad_last_sync_and_bad_module_names(api_client):
    reply = api_client.post("/api/v1/sync/tasks", {"lastSync": 0}, format="json")
    assert reply.status_code == 400 and "data" in reply.json()["errors"]
    reply = api_client.post("/api/v1/sync/tasks", {"data": [], "lastSync": "later"}, format="json")
    assert reply.status_code == 400 and "lastSync" in reply.json()["errors"]
    assert api_client.post("/api/v1/sync/bad.name", {"data": []}, format="json").status_code == 404
    assert not ModuleDocument.objects.exists()


def test_a_document_over_the_cap_is_a_413(api_client, settings):
    settings.SYNC_DOCUMENT_MAX_BYTES = 1000
    reply = push(api_client, "recover_history", ["x" * 2000])
    assert reply.status_code == 413
    assert reply.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert not ModuleDocument.objects.exists()


def test_ai_memory_events_are_kept(api_client):
    events = [{"type": "reply", "payload": {"n": i}, "ts": ms()} for i in range(3)]
    reply = api_client.post("/api/v1/sync/ai_memory_events", {"events": events}, format="json").json()
    assert reply == {"success": True, "received": 3}
    assert api_client.post("/api/v1/sync/ai_memory_events", {"events": "x"}, format="json").status_code == 400
    assert len(ModuleDocument.objects.get(module="ai_memory_events").data) == 3
