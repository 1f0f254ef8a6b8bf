from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import workspace_create
from crm import services
from crm.models import DealActivity, Label, PipelineStage
from crm.tests.factories import deal_factory, stage_named
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

PIPELINE = "/api/v1/crm/pipeline"
STAGES = "/api/v1/crm/pipeline/stages"


def positions(workspace) -> list[tuple[str, int]]:
    return list(PipelineStage.objects.filter(workspace=workspace).order_by("position").values_list("name", "position"))


def names(workspace) -> list[str]:
    return [name for name, _ in positions(workspace)]


def assert_contiguous(workspace) -> None:
    assert [position for _, position in positions(workspace)] == list(
        range(PipelineStage.objects.filter(workspace=workspace).count())
    )


def test_new_workspace_gets_the_original_defaults(workspace):
    stages = list(PipelineStage.objects.filter(workspace=workspace).order_by("position"))
    assert [(s.name, s.color, s.is_won, s.is_lost) for s in stages] == [
        ("Lead", "#3b82f6", False, False),
        ("Qualificado", "#8b5cf6", False, False),
        ("Proposta", "#f59e0b", False, False),
        ("Negociação", "#ef4444", False, False),
        ("Fechado", "#10b981", True, False),
        ("Perdido", "#6b7280", False, True),
    ]
    labels = dict(Label.objects.filter(workspace=workspace).values_list("name", "color"))
    assert labels == {"VIP": "#fbbf24", "Novo": "#3b82f6", "Recorrente": "#10b981", "Pendente": "#ef4444"}


def test_defaults_are_not_duplicated(workspace):
    services.crm_defaults_create(workspace=workspace)
    assert PipelineStage.objects.filter(workspace=workspace).count() == 6
    assert Label.objects.filter(workspace=workspace).count() == 4


def test_registration_creates_defaults(anon_client):
    response = anon_client.post(
        "/api/v1/auth/register",
        {"email": "new@example.com", "password": "s3cret-Passw0rd-x", "name": "New"},
    )
    assert response.status_code == 201, response.content
    from accounts.models import Workspace

    workspace = Workspace.objects.get(memberships__user__email="new@example.com")
    assert names(workspace)[0] == "Lead"


def test_pipeline_board_totals_in_one_query(api_client, workspace):
    lead = stage_named(workspace, "Lead")
    deal_factory(workspace=workspace, stage=lead, value=Decimal("10.50"))
    deal_factory(workspace=workspace, stage=lead, value=Decimal("0.25"))
    deal_factory(workspace=workspace, stage=stage_named(workspace, "Fechado"), value=Decimal("1000"))
    with CaptureQueriesContext(connection) as ctx:
        response = api_client.get(PIPELINE)
    assert response.status_code == 200
    stages = response.json()["stages"]
    assert [s["name"] for s in stages] == ["Lead", "Qualificado", "Proposta", "Negociação", "Fechado", "Perdido"]
    assert [s["position"] for s in stages] == [0, 1, 2, 3, 4, 5]
    assert (stages[0]["deal_count"], stages[0]["total_value"]) == (2, "10.75")
    assert (stages[1]["deal_count"], stages[1]["total_value"]) == (0, "0.00")
    assert (stages[4]["deal_count"], stages[4]["total_value"], stages[4]["is_won"]) == (1, "1000.00", True)
    assert set(stages[0]) >= {"id", "name", "color", "position", "probability", "is_won", "is_lost"}
    stage_queries = [q["sql"] for q in ctx.captured_queries if "crm_pipelinestage" in q["sql"]]
    assert len(stage_queries) == 1


def test_pipeline_is_scoped(api_client, other_client, other_workspace, anon_client):
    assert_json_error(anon_client.get(PIPELINE), 401)
    mine = {s["id"] for s in api_client.get(PIPELINE).json()["stages"]}
    theirs = {s["id"] for s in other_client.get(PIPELINE).json()["stages"]}
    assert mine and theirs and not mine & theirs


def test_stage_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    counter = iter(range(1000))
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=STAGES,
        detail_url=lambda stage: f"{STAGES}/{stage.pk}",
        resource_name="stages",
        make=lambda ws: services.stage_create(workspace=ws, name=f"S{next(counter)}"),
    )


def test_create_stage_at_position_shifts_the_rest(api_client, workspace):
    response = api_client.post(STAGES, {"name": "Contato", "color": "#ABCDEF", "position": 1, "probability": 15})
    assert response.status_code == 201, response.content
    stage = response.json()["stage"]
    assert (stage["position"], stage["color"], stage["deal_count"], stage["total_value"]) == (1, "#abcdef", 0, "0.00")
    assert names(workspace)[:3] == ["Lead", "Contato", "Qualificado"]
    assert_contiguous(workspace)


def test_create_stage_without_position_appends_and_clamps(api_client, workspace):
    assert api_client.post(STAGES, {"name": "Fim"}).json()["stage"]["position"] == 6
    assert api_client.post(STAGES, {"name": "Longe", "position": 999}).json()["stage"]["position"] == 7
    assert_contiguous(workspace)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "X", "color": "blue"}, "color"),
        ({"name": "X", "color": 123}, "color"),
        ({"name": "X", "position": -1}, "position"),
        ({"name": "X", "probability": 101}, "probability"),
        ({"name": "X", "is_won": "maybe"}, "is_won"),
        ({"name": "X", "bogus": 1}, "bogus"),
        ({"name": "X", "is_won": True, "is_lost": True}, "is_lost"),
    ],
)
def test_bad_stage_input_is_400_and_changes_nothing(api_client, workspace, body, field):
    before = positions(workspace)
    error = assert_json_error(api_client.post(STAGES, body), 400)
    assert field in error["errors"]
    assert positions(workspace) == before


def test_move_stage_keeps_positions_contiguous(api_client, workspace):
    fechado = stage_named(workspace, "Fechado")
    response = api_client.put(f"{STAGES}/{fechado.pk}", {"position": 0, "name": "Ganho"})
    assert response.status_code == 200, response.content
    assert response.json()["stage"]["position"] == 0
    assert names(workspace) == ["Ganho", "Lead", "Qualificado", "Proposta", "Negociação", "Perdido"]
    lead = stage_named(workspace, "Lead")
    api_client.put(f"{STAGES}/{lead.pk}", {"position": 5})
    assert names(workspace) == ["Ganho", "Qualificado", "Proposta", "Negociação", "Perdido", "Lead"]
    assert_contiguous(workspace)


def test_reorder_action(api_client, workspace):
    perdido, lead = stage_named(workspace, "Perdido"), stage_named(workspace, "Lead")
    response = api_client.post(f"{STAGES}/reorder", {"stage_ids": [str(perdido.pk), str(lead.pk)]})
    assert response.status_code == 200, response.content
    assert [s["name"] for s in response.json()["stages"]][:3] == ["Perdido", "Lead", "Qualificado"]
    assert_contiguous(workspace)


def test_reorder_rejects_foreign_ids(api_client, workspace, other_workspace):
    foreign = stage_named(other_workspace, "Lead")
    before = positions(workspace)
    assert_json_error(api_client.post(f"{STAGES}/reorder", {"stage_ids": [str(foreign.pk)]}), 400)
    assert positions(workspace) == before


def test_delete_stage_with_deals_needs_move_to(api_client, workspace):
    lead, proposta = stage_named(workspace, "Lead"), stage_named(workspace, "Proposta")
    deal = deal_factory(workspace=workspace, stage=lead)
    body = assert_json_error(api_client.delete(f"{STAGES}/{lead.pk}"), 409, "STAGE_HAS_DEALS")
    assert body["deal_count"] == 1
    assert PipelineStage.objects.filter(pk=lead.pk).exists()

    assert_json_error(api_client.delete(f"{STAGES}/{lead.pk}?move_to={lead.pk}"), 400)
    assert_json_error(api_client.delete(f"{STAGES}/{lead.pk}?move_to=nowhere"), 400)
    assert_json_error(api_client.delete(f"{STAGES}/{lead.pk}?move_to=%00"), 400)

    response = api_client.delete(f"{STAGES}/{lead.pk}?move_to={proposta.pk}")
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Stage deleted.", "id": str(lead.pk), "moved_deals": 1}
    deal.refresh_from_db()
    assert deal.stage_id == proposta.pk
    assert names(workspace) == ["Qualificado", "Proposta", "Negociação", "Fechado", "Perdido"]
    assert_contiguous(workspace)
    move = DealActivity.objects.get(deal=deal, kind="stage_changed")
    assert move.data == {"from_stage_name": "Lead", "to_stage_name": "Proposta"}
    updated = Event.objects.filter(workspace=workspace, name="deal:updated").latest("seq")
    assert updated.payload["id"] == str(deal.pk) and updated.payload["stage"] == str(proposta.pk)


def test_delete_stage_move_to_other_workspace_is_400(api_client, workspace, other_workspace):
    lead = stage_named(workspace, "Lead")
    deal_factory(workspace=workspace, stage=lead)
    foreign = stage_named(other_workspace, "Proposta")
    assert_json_error(api_client.delete(f"{STAGES}/{lead.pk}?move_to={foreign.pk}"), 400)
    assert PipelineStage.objects.filter(pk=lead.pk).exists()


def test_delete_empty_stage(api_client, workspace):
    qualificado = stage_named(workspace, "Qualificado")
    assert api_client.delete(f"{STAGES}/{qualificado.pk}").status_code == 200
    assert_contiguous(workspace)


def test_viewer_cannot_change_stages(client_for, make_member, workspace):
    viewer = client_for(make_member(workspace, role="viewer"), workspace)
    assert viewer.get(PIPELINE).status_code == 200
    assert_json_error(viewer.post(STAGES, {"name": "X"}), 403)


def test_service_renumbering_with_many_stages(workspace):
    other = workspace_create(owner=workspace.memberships.first().user, name="Second")
    for index in range(20):
        services.stage_create(workspace=other, name=f"Extra {index}", position=index % 3)
    assert_contiguous(other)
    assert PipelineStage.objects.filter(workspace=other).count() == 26


def test_deals_moved_out_of_a_deleted_lost_stage_reopen(api_client, workspace):
    perdido, lead = stage_named(workspace, "Perdido"), stage_named(workspace, "Lead")
    deal = deal_factory(workspace=workspace, stage=perdido, lost_reason="Preço")
    assert (deal.status, deal.lost_reason) == ("lost", "Preço")
    assert api_client.delete(f"{STAGES}/{perdido.pk}?move_to=Lead").json()["moved_deals"] == 1
    deal.refresh_from_db()
    assert (deal.stage_id, deal.status, deal.lost_at, deal.lost_reason) == (lead.pk, "open", None, "")
    kinds = set(DealActivity.objects.filter(deal=deal).values_list("kind", flat=True))
    assert kinds == {"created", "stage_changed", "status_changed"}
