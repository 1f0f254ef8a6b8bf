"""``/crm/sync`` and ``/crm/data`` replayed as the extension sends them (crm/tests/extension.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from crm.models import Deal, Label, PipelineStage
from crm.tests.extension import Browser, contact, deal, now_iso
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/crm/sync"


def events(workspace: Any, prefix: str = "") -> list[tuple[str, dict]]:
    rows = Event.objects.filter(workspace=workspace, name__startswith=prefix).order_by("seq")
    return list(rows.values_list("name", "payload"))


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


def test_synced_objects_are_the_rest_rows_with_the_clients_ids(api_client, workspace):
    browser = Browser(api_client)
    ana = contact("5511999990001", "Ana", tags=["vip"], labels=["vip"], customFields={"cidade": "Recife"})
    browser.contacts.append(ana)
    browser.deals.append(deal(ana["id"], "Venda", value="2500.50", stage="proposal"))
    body = browser.sync()

    assert body["synced"] == {"contacts": 1, "deals": 1}
    (mine,) = body["data"]["contacts"]
    assert (mine["id"], mine["phone"], mine["name"], mine["labels"]) == (ana["id"], "5511999990001", "Ana", ["vip"])
    (sold,) = body["data"]["deals"]
    assert (sold["id"], sold["contactId"], sold["stageId"], sold["status"]) == (
        browser.deals[0]["id"],
        ana["id"],
        "proposal",
        "open",
    )
    assert sold["value"] == 2500.5
    stages = body["data"]["pipeline"]["stages"]
    assert [stage["order"] for stage in stages] == sorted(stage["order"] for stage in stages)
    assert {"new", "lead", "contact", "proposal", "negotiation", "won", "lost"} <= {stage["id"] for stage in stages}

    # The same rows through the REST API.
    row = Contact.objects.get(workspace=workspace, client_key=ana["id"])
    rest = api_client.get(f"/api/v1/contacts/{row.pk}").json()["contact"]
    assert (rest["phone"], rest["tags"], rest["custom_fields"]) == ("+5511999990001", ["vip"], {"cidade": "Recife"})
    assert [label["name"] for label in rest["labels"]] == ["VIP"]
    (rest_deal,) = api_client.get("/api/v1/crm/deals").json()["deals"]
    assert (rest_deal["contact_id"], rest_deal["value"], rest_deal["stage_name"]) == (
        str(row.pk),
        "2500.50",
        "Proposta",
    )
    assert Label.objects.filter(workspace=workspace, name="VIP").count() == 1


def test_unchanged_second_sync_writes_and_publishes_nothing(api_client, workspace):
    browser = Browser(api_client)
    for i in range(500):
        browser.contacts.append(contact(f"55119{i:08d}", f"Cliente {i}"))
        browser.deals.append(deal(browser.contacts[-1]["id"], f"Venda {i}"))
    browser.sync()
    published = Event.objects.filter(workspace=workspace).count()
    assert published >= 1000
    browser.sync()  # adopts the server's pipeline/ids; now everything is unchanged
    published = Event.objects.filter(workspace=workspace).count()
    with CaptureQueriesContext(connection) as queries:
        body = browser.sync()
    assert body["synced"] == {"contacts": 500, "deals": 500}
    assert writes(queries) == []
    assert Event.objects.filter(workspace=workspace).count() == published


def test_statements_per_sync_do_not_grow_with_rows(client_for, make_member, workspace):
    def new_sync_statements(size: int) -> int:
        browser = Browser(client_for(make_member(workspace), workspace))
        offset = Contact.objects.count()
        for i in range(size):
            browser.contacts.append(contact(f"55219{offset + i:08d}", f"C{i}"))
            browser.deals.append(deal(browser.contacts[-1]["id"], f"D{i}"))
        with CaptureQueriesContext(connection) as queries:
            browser.sync()
        return len(queries.captured_queries)

    new_sync_statements(3)  # the first sync also sets up the pipeline and labels
    # Within one batch (500 rows per bulk statement, 500 events per publish) the count is fixed.
    assert new_sync_statements(10) == new_sync_statements(240)


def test_two_browsers_of_one_user_converge(api_client, client_for, user, workspace):
    first, second = Browser(api_client), Browser(client_for(user, workspace))
    first.contacts.append(contact("5511999990001", "Ana"))
    first.sync()
    first.sync()
    second.sync()
    assert second.contacts == first.contacts

    second.edit("contacts", second.contacts[0]["id"], name="Ana Paula")
    second.deals.append(deal(second.contacts[0]["id"], "Proposta B"))
    second.sync()
    first.sync()  # its copy of Ana is older than the server's: it loses, and comes back changed
    assert first.contacts[0]["name"] == "Ana Paula"
    assert [d["title"] for d in first.deals] == ["Proposta B"]

    first.edit("deals", first.deals[0]["id"], stage="won", value=9000)
    first.sync()
    second.sync()
    assert second.deals == first.deals
    assert (second.deals[0]["stageId"], second.deals[0]["status"]) == ("won", "won")
    assert second.contacts == first.contacts
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_a_stale_copy_changes_nothing_and_the_servers_comes_back(api_client, workspace):
    browser = Browser(api_client)
    browser.contacts.append(contact("5511999990001", "Ana"))
    browser.sync()
    row = Contact.objects.get(workspace=workspace)
    api_client.put(f"/api/v1/contacts/{row.pk}", {"name": "Ana (REST)"}, format="json")
    stale = copy.deepcopy(browser.contacts[0])
    stale.update(name="Ana (old tab)", updatedAt="2020-01-01T00:00:00.000Z")
    browser.contacts = [stale]
    before = events(workspace, "contact:")
    body = browser.sync()
    assert body["data"]["contacts"][0]["name"] == "Ana (REST)"
    row.refresh_from_db()
    assert row.name == "Ana (REST)"
    assert events(workspace, "contact:") == before


def test_a_rest_write_shows_up_in_the_next_sync_and_its_id_is_adopted(api_client, workspace):
    browser = Browser(api_client)
    browser.sync()
    made = api_client.post("/api/v1/contacts", {"phone": "+55 21 98888-0001", "name": "Rest"}, format="json").json()
    browser.sync()
    (shown,) = browser.contacts
    assert (shown["id"], shown["phone"], shown["name"]) == (made["contact"]["id"], "5521988880001", "Rest")
    browser.deals.append(deal(shown["id"], "Deal of a server contact"))
    browser.edit("contacts", shown["id"], notes="seen in the browser")
    browser.sync()
    assert Contact.objects.filter(workspace=workspace).count() == 1
    stored = Contact.objects.get(workspace=workspace)
    assert (stored.notes, stored.client_key) == ("seen in the browser", None)
    assert browser.deals[0]["contactId"] == made["contact"]["id"]


def test_a_phone_that_exists_in_any_format_is_that_contact(api_client, workspace):
    # Stored with the old 8-digit Brazilian mobile and punctuation, synced as 9-digit digits.
    existing = api_client.post("/api/v1/contacts", {"phone": "(11) 9999-0001", "name": "Old"}, format="json").json()
    browser = Browser(api_client)
    ana = contact("5511999990001", "Ana", updatedAt=now_iso(5))
    browser.contacts.append(ana)
    browser.deals.append(deal(ana["id"], "Venda"))
    body = browser.sync()
    (merged,) = body["data"]["contacts"]
    assert merged["id"] == ana["id"]  # the client's id became this contact's name
    assert merged["name"] == "Ana"
    row = Contact.objects.get(workspace=workspace)
    assert str(row.pk) == existing["contact"]["id"]
    assert Deal.objects.get(workspace=workspace).contact_id == row.pk
    assert body["data"]["deals"][0]["contactId"] == ana["id"]


def test_two_client_ids_for_one_phone_are_one_contact(api_client, workspace):
    browser = Browser(api_client)
    first, second = contact("5511999990001", "Ana"), contact("+55 (11) 99999-0001", "Ana 2", updatedAt=now_iso(3))
    browser.contacts += [first, second]
    browser.deals += [deal(first["id"], "A"), deal(second["id"], "B")]
    body = browser.sync()
    assert len(body["data"]["contacts"]) == 1
    assert Contact.objects.get(workspace=workspace).name == "Ana 2"
    assert {d["contactId"] for d in body["data"]["deals"]} == {body["data"]["contacts"][0]["id"]}


def test_sync_writes_publish_the_rest_events_and_payloads(api_client, workspace):
    browser = Browser(api_client)
    browser.contacts.append(contact("5511999990001", "Ana"))
    browser.deals.append(deal(browser.contacts[0]["id"], "Venda"))
    browser.sync()
    row = Contact.objects.get(workspace=workspace)
    deal_row = Deal.objects.get(workspace=workspace)
    (created,) = [payload for name, payload in events(workspace, "contact:") if name == "contact:created"]
    assert created == api_client.get(f"/api/v1/contacts/{row.pk}").json()["contact"]
    (deal_created,) = [payload for name, payload in events(workspace, "deal:")]
    assert deal_created == api_client.get(f"/api/v1/crm/deals/{deal_row.pk}").json()["deal"]
    assert {name for name, _ in events(workspace, "stage:")} == {"stage:created"}

    browser.sync()
    browser.edit("deals", browser.deals[0]["id"], stage="lost")
    before = len(events(workspace))
    browser.sync()
    (name, payload), *_ = events(workspace)[before:]
    assert name == "deal:updated"
    assert (payload["status"], payload["id"]) == ("lost", str(deal_row.pk))
    assert len(events(workspace)) == before + 1
    kinds = list(deal_row.activities.values_list("kind", flat=True))
    assert {"created", "stage_changed", "status_changed"} <= set(kinds)


def test_labels_document_keeps_the_clients_last_updated(api_client, workspace):
    browser = Browser(api_client)
    browser.labels["labels"].append({"id": "hot", "name": "Quente", "color": "#ff0000", "icon": "🔥"})
    browser.labels["contactLabels"] = {"5511999990001@c.us": ["hot"]}
    sent = browser.labels["lastUpdated"]
    body = browser.sync()
    labels = body["data"]["labels"]
    assert labels["lastUpdated"] == sent
    assert labels["contactLabels"] == {"5511999990001@c.us": ["hot"]}
    assert {"hot", "vip"} <= {label["id"] for label in labels["labels"]}
    assert Label.objects.get(workspace=workspace, client_key="hot").name == "Quente"

    older = copy.deepcopy(labels)
    older["lastUpdated"] = sent - 10_000
    older["labels"] = [{"id": "hot", "name": "Renamed by an old tab", "color": "#000000", "icon": ""}]
    api_client.post(SYNC, {"labels": older}, format="json")
    assert Label.objects.get(workspace=workspace, client_key="hot").name == "Quente"


def test_the_pipeline_comes_back_as_slug_stages_in_order(api_client, workspace):
    browser = Browser(api_client)
    browser.sync()
    browser.sync()
    moved = [dict(stage) for stage in browser.pipeline["stages"]]
    moved[0]["order"], moved[1]["order"] = moved[1]["order"], moved[0]["order"]
    moved[0]["name"] = "Primeiro contato"
    browser.pipeline = {"id": "default", "stages": moved}
    body = browser.sync()
    stages = body["data"]["pipeline"]["stages"]
    assert [s["order"] for s in stages] == list(range(len(stages)))
    assert stages[1]["id"] == moved[0]["id"] and stages[1]["name"] == "Primeiro contato"
    positions = list(PipelineStage.objects.filter(workspace=workspace).values_list("position", flat=True))
    assert sorted(positions) == list(range(len(stages)))


def test_crm_data_answers_the_same_data_without_writing(api_client, workspace):
    browser = Browser(api_client)
    browser.contacts.append(contact("5511999990001", "Ana"))
    synced = browser.sync()["data"]
    with CaptureQueriesContext(connection) as queries:
        reply = api_client.get("/api/v1/crm/data")
    assert writes(queries) == []
    body = reply.json()
    assert next(iter(body)) == "success"
    data = body["data"]
    assert {k: v for k, v in data.items() if k != "lastSync"} == {k: v for k, v in synced.items() if k != "lastSync"}


def test_another_workspaces_client_ids_never_match(api_client, other_client, workspace, other_workspace):
    mine, theirs = Browser(api_client), Browser(other_client)
    ana = contact("5511999990001", "Ana")
    mine.contacts.append(ana)
    mine.deals.append(deal(ana["id"], "Minha venda"))
    mine.sync()
    theirs.contacts.append({**ana, "name": "Intruder", "updatedAt": now_iso(60)})
    theirs.deals.append({**mine.deals[0], "title": "Intruder deal", "updatedAt": now_iso(60)})
    body = theirs.sync()
    assert Contact.objects.get(workspace=workspace).name == "Ana"
    assert Deal.objects.get(workspace=workspace).title == "Minha venda"
    assert Contact.objects.get(workspace=other_workspace).name == "Intruder"
    assert "Minha venda" not in str(body)
    assert "Intruder" not in str(api_client.get("/api/v1/crm/data").json())


BAD_BODIES = [
    ({"contacts": "5511999990001"}, "contacts"),
    ({"contacts": [{"id": "c1", "phone": "5511999990001", "tags": {"a": 1}}]}, "contacts[0].tags"),
    ({"contacts": [{"id": "c1", "phone": "5511999990001"}, {"id": "c2", "phone": ["x"]}]}, "contacts[1].phone"),
    ({"contacts": [{"id": "c1", "phone": "not a phone"}]}, "contacts[0].phone"),
    ({"contacts": [{"id": "c1", "phone": "5511999990001", "customFields": "x"}]}, "contacts[0].customFields"),
    ({"contacts": [{"id": "c1", "phone": "5511999990001", "updatedAt": "yesterday"}]}, "contacts[0].updatedAt"),
    ({"contacts": [{"phone": "5511999990001"}]}, "contacts[0].id"),
    ({"contacts": [7]}, "contacts[0]"),
    ({"deals": [{"id": "d1", "contactId": "c1", "value": "abc"}]}, "deals[0].value"),
    ({"deals": [{"id": "d1", "contactId": "c1", "value": -5}]}, "deals[0].value"),
    ({"deals": [{"id": "d1", "contactId": "nobody"}]}, "deals[0].contactId"),
    ({"deals": [{"id": "d1", "contactId": "c1", "probability": "much"}]}, "deals[0].probability"),
    ({"deals": {"id": "d1"}}, "deals"),
    ({"pipeline": {"stages": [{"id": "lead", "color": "blue"}]}}, "pipeline.stages[0].color"),
    ({"pipeline": []}, "pipeline"),
    ({"labels": {"labels": [{"id": 5, "name": ["x"]}]}}, "labels.labels[0].name"),
    ({"labels": {"labels": [], "lastUpdated": "soon"}}, "labels.lastUpdated"),
    ({"contactLabels": []}, "contactLabels"),
    ({"contactLabels": {"5511999990001@c.us": "vip"}}, "contactLabels.5511999990001@c.us"),
    (
        {"labels": {"labels": [], "contactLabels": {"5511999990001": ["vip", True]}}},
        "labels.contactLabels.5511999990001[1]",
    ),
    (
        {"labels": {"labels": [], "contactLabels": {"5511999990001": [["vip"]]}}},
        "labels.contactLabels.5511999990001[0]",
    ),
]


@pytest.mark.parametrize(("extra", "path"), BAD_BODIES)
def test_a_wrong_type_anywhere_is_a_400_naming_the_path_and_writes_nothing(api_client, workspace, extra, path):
    good = contact("5511999990009", "Good")
    body = {"contacts": [good], "deals": [deal(good["id"], "Good deal")], **extra}
    if "contacts" in extra and isinstance(extra["contacts"], list):
        body["contacts"] = extra["contacts"]
    if "deals" in extra and isinstance(extra["deals"], list):
        body["contacts"] = [{"id": "c1", "phone": "5511999990001"}]
    counts = (Contact.objects.count(), Deal.objects.count(), Label.objects.count(), PipelineStage.objects.count())
    published = Event.objects.count()
    reply = api_client.post(SYNC, body, format="json")
    assert reply.status_code == 400, reply.content
    error = reply.json()
    assert error["code"] == "VALIDATION_ERROR"
    assert path in error["errors"], error
    assert error["message"].startswith(path)
    after = (Contact.objects.count(), Deal.objects.count(), Label.objects.count(), PipelineStage.objects.count())
    assert after == counts and Event.objects.count() == published


@pytest.mark.parametrize("body", [[], "text", 5])
def test_a_body_that_is_not_an_object_is_a_400(api_client, body):
    reply = api_client.post(SYNC, body, format="json")
    assert reply.status_code == 400
    assert reply.json()["code"] in {"VALIDATION_ERROR", "PARSE_ERROR"}


def test_viewers_read_but_do_not_sync(client_for, make_member, workspace):
    viewer = client_for(make_member(workspace, role="viewer"), workspace)
    assert viewer.get("/api/v1/crm/data").status_code == 200
    assert viewer.post(SYNC, {"contacts": []}, format="json").status_code == 403


def test_anonymous_is_401(anon_client):
    assert anon_client.post(SYNC, {}, format="json").status_code == 401
    assert anon_client.get("/api/v1/crm/data").status_code == 401


def test_deal_created_payloads_equal_the_rest_deal_for_new_and_stored_contacts(api_client, workspace):
    stored = api_client.post("/api/v1/contacts", {"phone": "+5511999990002", "name": "Bia"}, format="json").json()
    browser = Browser(api_client)
    ana = contact("5511999990001", "Ana")
    browser.contacts.append(ana)
    browser.deals += [
        deal(ana["id"], "Nova", value="10.5", stage="won"),
        deal(stored["contact"]["id"], "Da Bia", stage="proposal"),
    ]
    browser.sync()
    created = [payload for name, payload in events(workspace, "deal:") if name == "deal:created"]
    assert len(created) == 2
    for payload in created:
        assert payload == api_client.get(f"/api/v1/crm/deals/{payload['id']}").json()["deal"]
