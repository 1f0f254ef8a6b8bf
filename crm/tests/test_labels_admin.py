from __future__ import annotations

import pytest

from contacts.tests.factories import contact_factory
from crm.models import Deal, DealActivity, Label, PipelineStage
from crm.tests.factories import deal_factory, stage_named
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint

pytestmark = pytest.mark.django_db

LABELS = "/api/v1/crm/labels"


def test_label_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    counter = iter(range(1000))
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=LABELS,
        detail_url=lambda label: f"{LABELS}/{label.pk}",
        resource_name="labels",
        make=lambda ws: Label.objects.create(workspace=ws, name=f"L{next(counter)}"),
    )


def test_label_crud(api_client, workspace):
    response = api_client.post(LABELS, {"name": "Quente", "color": "#F00", "description": "Lead quente"})
    assert response.status_code == 201, response.content
    label = response.json()["label"]
    assert (label["name"], label["color"], label["description"]) == ("Quente", "#f00", "Lead quente")
    names = [row["name"] for row in api_client.get(LABELS).json()["labels"]]
    assert names == sorted(["VIP", "Novo", "Recorrente", "Pendente", "Quente"])
    updated = api_client.put(f"{LABELS}/{label['id']}", {"name": "Morno"}).json()["label"]
    assert updated["name"] == "Morno" and updated["color"] == "#f00"
    assert api_client.delete(f"{LABELS}/{label['id']}").json() == {"message": "Label deleted.", "id": label["id"]}
    assert not Label.objects.filter(pk=label["id"]).exists()


def test_duplicate_label_name_any_case_is_409(api_client, workspace):
    body = assert_json_error(api_client.post(LABELS, {"name": "vip"}), 409, "LABEL_EXISTS")
    assert body["id"] == str(Label.objects.get(workspace=workspace, name="VIP").pk)
    novo = Label.objects.get(workspace=workspace, name="Novo")
    assert_json_error(api_client.put(f"{LABELS}/{novo.pk}", {"name": "PENDENTE"}), 409, "LABEL_EXISTS")
    novo.refresh_from_db()
    assert novo.name == "Novo"
    assert api_client.put(f"{LABELS}/{novo.pk}", {"name": "NOVO"}).status_code == 200


def test_same_label_name_in_another_workspace_is_fine(other_client):
    assert other_client.post(LABELS, {"name": "Quente"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 61}, "name"),
        ({"name": 5}, "name"),
        ({"name": "A", "color": "red"}, "color"),
        ({"name": "A", "description": 5}, "description"),
    ],
)
def test_bad_label_input(api_client, workspace, body, field):
    count = Label.objects.filter(workspace=workspace).count()
    assert field in assert_json_error(api_client.post(LABELS, body), 400)["errors"]
    assert Label.objects.filter(workspace=workspace).count() == count


def test_deleted_label_leaves_deals_and_contacts(api_client, workspace):
    vip = Label.objects.get(workspace=workspace, name="VIP")
    contact = contact_factory(workspace=workspace, labels=[vip])
    deal = deal_factory(workspace=workspace, contact=contact, labels=[vip])
    api_client.delete(f"{LABELS}/{vip.pk}")
    assert list(deal.labels.all()) == [] and list(contact.labels.all()) == []


@pytest.mark.parametrize("model", ["label", "pipelinestage", "deal", "dealactivity"])
def test_admin_changelists_search_and_filter(admin_client, workspace, model):
    deal_factory(workspace=workspace, title="Contrato Souza")
    response = admin_client.get(f"/admin/crm/{model}/", {"q": "Souza", "workspace__id__exact": str(workspace.pk)})
    assert response.status_code == 200


def test_admin_deal_search_finds_the_deal(admin_client, workspace):
    deal_factory(workspace=workspace, title="Contrato Souza")
    response = admin_client.get("/admin/crm/deal/", {"q": "Souza", "status__exact": "open"})
    assert b"Contrato Souza" in response.content


def test_admin_deal_edit_goes_through_services(admin_client, workspace):
    deal = deal_factory(workspace=workspace)
    proposta = stage_named(workspace, "Proposta")
    form = {
        "workspace": str(workspace.pk),
        "contact": str(deal.contact_id),
        "title": "Pelo admin",
        "stage": str(proposta.pk),
        "status": "open",
        "description": "",
        "value": "5.00",
        "currency": "BRL",
        "probability": "50",
        "expected_close_date": "",
        "assigned_to": "",
        "tags": "[]",
        "custom_fields": "{}",
        "lost_reason": "",
        "labels": "",
    }
    response = admin_client.post(f"/admin/crm/deal/{deal.pk}/change/", form)
    assert response.status_code == 302, response.content[:3000]
    deal.refresh_from_db()
    assert (deal.title, deal.stage_id) == ("Pelo admin", proposta.pk)
    assert DealActivity.objects.filter(deal=deal, kind="stage_changed").exists()


def test_admin_deal_refuses_another_workspaces_stage(admin_client, workspace, other_workspace):
    contact = contact_factory(workspace=workspace)
    form = {
        "workspace": str(workspace.pk),
        "contact": str(contact.pk),
        "title": "X",
        "stage": str(stage_named(other_workspace, "Lead").pk),
        "status": "open",
        "value": "1",
        "currency": "BRL",
        "probability": "0",
        "tags": "[]",
        "custom_fields": "{}",
    }
    response = admin_client.post("/admin/crm/deal/add/", form)
    assert response.status_code == 200
    assert b"Must belong to the same workspace" in response.content
    assert not Deal.objects.exists()


def test_admin_stage_add_and_refused_delete(admin_client, workspace):
    form = {"workspace": str(workspace.pk), "name": "Novo", "color": "#000000", "position": "0", "probability": "5"}
    assert admin_client.post("/admin/crm/pipelinestage/add/", form).status_code == 302
    assert stage_named(workspace, "Novo").position == 0
    lead = stage_named(workspace, "Lead")
    deal_factory(workspace=workspace, stage=lead)
    admin_client.post(f"/admin/crm/pipelinestage/{lead.pk}/delete/", {"post": "yes"})
    assert PipelineStage.objects.filter(pk=lead.pk).exists()
    positions = list(PipelineStage.objects.filter(workspace=workspace).values_list("position", flat=True))
    assert sorted(positions) == list(range(7))
