"""Stage and label events: published in the write's transaction, payload = the REST object."""

from __future__ import annotations

from typing import Any

import pytest

from crm import services
from crm.models import Label, PipelineStage
from crm.tests.factories import deal_factory, stage_named
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

PIPELINE = "/api/v1/crm/pipeline"
STAGES = "/api/v1/crm/pipeline/stages"
LABELS = "/api/v1/crm/labels"


def events(workspace: Any, prefix: str) -> list[tuple[str, dict]]:
    rows = Event.objects.filter(workspace=workspace, name__startswith=prefix).order_by("seq")
    return list(rows.values_list("name", "payload"))


def board(client: Any) -> dict[str, dict]:
    return {stage["id"]: stage for stage in client.get(PIPELINE).json()["stages"]}


def test_new_workspace_defaults_publish_nothing(workspace):
    assert PipelineStage.objects.filter(workspace=workspace).exists()
    assert events(workspace, "stage:") == events(workspace, "label:") == []


def test_stage_create_publishes_the_stage_and_each_stage_it_moved(api_client, workspace):
    created = api_client.post(STAGES, {"name": "Contato", "position": 1}).json()["stage"]
    now = board(api_client)
    published = events(workspace, "stage:")
    assert published[-1] == ("stage:created", created)
    shifted = [payload for name, payload in published[:-1]]
    assert all(name == "stage:updated" for name, _ in published[:-1])
    # Lead stays at 0; every stage after the new one moved down one place.
    assert [stage["name"] for stage in shifted] == ["Qualificado", "Proposta", "Negociação", "Fechado", "Perdido"]
    assert shifted == [now[stage["id"]] for stage in shifted]


def test_appending_a_stage_moves_nothing_else(api_client, workspace):
    created = api_client.post(STAGES, {"name": "Fim"}).json()["stage"]
    assert events(workspace, "stage:") == [("stage:created", created)]


def test_stage_update_publishes_it_with_its_totals(api_client, workspace):
    lead = stage_named(workspace, "Lead")
    deal_factory(workspace=workspace, stage=lead)
    updated = api_client.put(f"{STAGES}/{lead.pk}", {"color": "#123456"}).json()["stage"]
    assert (updated["color"], updated["deal_count"], updated["total_value"]) == ("#123456", 1, "100.00")
    assert events(workspace, "stage:") == [("stage:updated", updated)]


def test_stage_move_publishes_every_stage_whose_position_changed(api_client, workspace):
    proposta = stage_named(workspace, "Proposta")
    moved = api_client.put(f"{STAGES}/{proposta.pk}", {"position": 0}).json()["stage"]
    now = board(api_client)
    published = events(workspace, "stage:")
    assert {name for name, _ in published} == {"stage:updated"}
    # Lead and Qualificado moved down; Negociação, Fechado and Perdido kept their places.
    assert [payload["name"] for _, payload in published] == ["Lead", "Qualificado", "Proposta"]
    assert published[-1][1] == moved == now[moved["id"]]
    assert [payload for _, payload in published] == [now[payload["id"]] for _, payload in published]


def test_reorder_publishes_only_moved_stages(api_client, workspace):
    order = [stage["id"] for stage in api_client.get(PIPELINE).json()["stages"]]
    swapped = [order[1], order[0], *order[2:]]
    assert api_client.post(f"{STAGES}/reorder", {"stage_ids": swapped}).status_code == 200
    now = board(api_client)
    assert events(workspace, "stage:") == [("stage:updated", now[order[1]]), ("stage:updated", now[order[0]])]


def test_stage_delete_publishes_deleted_then_the_stages_that_moved_up(api_client, workspace):
    proposta, lead = stage_named(workspace, "Proposta"), stage_named(workspace, "Lead")
    deal = deal_factory(workspace=workspace, stage=proposta)
    Event.objects.filter(workspace=workspace).delete()
    assert api_client.delete(f"{STAGES}/{proposta.pk}?move_to={lead.pk}").status_code == 200
    now = board(api_client)
    published = list(Event.objects.filter(workspace=workspace).order_by("seq").values_list("name", "payload"))
    assert [name for name, _ in published[:2]] == ["deal:updated", "stage:deleted"]
    assert published[0][1]["id"] == str(deal.pk)
    assert published[1][1] == {"id": str(proposta.pk)}
    assert [payload["name"] for _, payload in published[2:]] == ["Negociação", "Fechado", "Perdido"]
    assert all(name == "stage:updated" and payload == now[payload["id"]] for name, payload in published[2:])


def test_refused_stage_writes_publish_nothing(api_client, workspace):
    lead = stage_named(workspace, "Lead")
    deal_factory(workspace=workspace, stage=lead)
    Event.objects.filter(workspace=workspace).delete()
    assert api_client.delete(f"{STAGES}/{lead.pk}").status_code == 409
    assert api_client.put(f"{STAGES}/{lead.pk}", {"is_won": True, "is_lost": True}).status_code == 400
    assert api_client.post(STAGES, {"name": 5}).status_code == 400
    assert not Event.objects.filter(workspace=workspace).exists()


def test_label_events_carry_the_label(api_client, workspace):
    created = api_client.post(LABELS, {"name": "Quente", "color": "#F00"}).json()["label"]
    updated = api_client.put(f"{LABELS}/{created['id']}", {"description": "Lead quente"}).json()["label"]
    assert api_client.delete(f"{LABELS}/{created['id']}").status_code == 200
    assert events(workspace, "label:") == [
        ("label:created", created),
        ("label:updated", updated),
        ("label:deleted", {"id": created["id"]}),
    ]


def test_refused_label_writes_publish_nothing(api_client, workspace):
    vip = Label.objects.get(workspace=workspace, name="VIP")
    assert api_client.post(LABELS, {"name": "vip"}).status_code == 409
    assert api_client.put(f"{LABELS}/{vip.pk}", {"name": "NOVO"}).status_code == 409
    assert api_client.post(LABELS, {"name": 7}).status_code == 400
    assert events(workspace, "label:") == []


def test_events_stay_in_their_workspace(workspace, other_workspace):
    services.label_create(workspace=other_workspace, name="Deles")
    services.stage_create(workspace=other_workspace, name="Deles", position=0)
    assert events(workspace, "label:") == events(workspace, "stage:") == []
    assert [name for name, _ in events(other_workspace, "label:")] == ["label:created"]
    assert events(other_workspace, "stage:")[-1][0] == "stage:created"
