from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from contacts.tests.factories import contact_factory
from crm import services
from crm.models import Deal, DealActivity, Label
from crm.tests.factories import deal_factory, stage_named
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db

DEALS = "/api/v1/crm/deals"


def detail(deal: Any) -> str:
    return f"{DEALS}/{deal.pk}"


def events(workspace: Any, name: str) -> list[dict]:
    return list(Event.objects.filter(workspace=workspace, name=name).order_by("seq").values_list("payload", flat=True))


@pytest.fixture
def contact(workspace):
    return contact_factory(workspace=workspace, name="Ana")


def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    def make(ws):
        deal = deal_factory(workspace=ws)
        deal.labels.set(Label.objects.filter(workspace=ws)[:2])
        return deal

    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=DEALS,
        detail_url=detail,
        resource_name="deals",
        make=make,
        detail_methods=("get", "put", "patch", "delete"),
    )


def test_create_with_defaults_and_event(api_client, workspace, contact):
    response = api_client.post(DEALS, {"contact_id": str(contact.pk), "title": "Site novo", "value": 1234.5})
    assert response.status_code == 201, response.content
    deal = response.json()["deal"]
    lead = stage_named(workspace, "Lead")
    assert deal["value"] == "1234.50"
    assert deal["currency"] == "BRL"
    assert deal["stage"] == str(lead.pk) and deal["stage_name"] == "Lead"
    assert deal["status"] == "open"
    assert deal["probability"] == lead.probability
    assert deal["contact"] == {"id": str(contact.pk), "name": "Ana", "phone": contact.phone}
    assert deal["won_at"] is None and deal["labels"] == []
    assert events(workspace, "deal:created") == [deal]
    created = DealActivity.objects.get(deal_id=deal["id"])
    assert (created.kind, created.to_stage_id, created.to_status) == ("created", lead.pk, "open")


def test_create_full_body(api_client, workspace, contact, make_member):
    member = make_member(workspace)
    vip = Label.objects.get(workspace=workspace, name="VIP")
    body = {
        "contact_id": str(contact.pk),
        "title": "Contrato anual",
        "description": "12 meses",
        "value": "99999999.99",
        "currency": "usd",
        "stage": "proposta",
        "probability": 60,
        "expected_close_date": "2026-12-31T03:00:00.000Z",
        "assigned_to": str(member.pk),
        "tags": ["anual", "anual"],
        "custom_fields": {"origem": "site"},
        "labels": [str(vip.pk)],
    }
    response = api_client.post(DEALS, body)
    assert response.status_code == 201, response.content
    deal = response.json()["deal"]
    assert deal["currency"] == "USD"
    assert deal["stage_name"] == "Proposta"
    assert deal["expected_close_date"] == "2026-12-31"
    assert deal["assigned_to"] == str(member.pk)
    assert deal["tags"] == ["anual"]
    assert deal["labels"] == [{"id": str(vip.pk), "name": "VIP", "color": "#fbbf24"}]
    assert Deal.objects.get(pk=deal["id"]).value == Decimal("99999999.99")
    assert api_client.put(f"{DEALS}/{deal['id']}", {"assigned_to": None}).json()["deal"]["assigned_to"] is None


@pytest.mark.parametrize(
    ("sent", "day"),
    [
        ("2026-12-31", "2026-12-31"),
        ("2026-12-31T03:00:00.000Z", "2026-12-31"),  # local midnight in São Paulo, from toISOString
        ("2026-12-31T02:59:00Z", "2026-12-30"),
        ("2026-12-31T10:00:00", "2026-12-31"),
        (None, None),
    ],
)
def test_expected_close_date_is_the_workspace_local_day(api_client, contact, sent, day):
    body = {"contact_id": str(contact.pk), "title": "X", "expected_close_date": sent}
    assert api_client.post(DEALS, body).json()["deal"]["expected_close_date"] == day


def test_create_in_won_stage_is_won(api_client, workspace, contact):
    fechado = stage_named(workspace, "Fechado")
    deal = api_client.post(DEALS, {"contact_id": str(contact.pk), "title": "X", "stage": str(fechado.pk)}).json()[
        "deal"
    ]
    assert deal["status"] == "won" and deal["won_at"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"title": 5}, "title"),
        ({"description": 5}, "description"),
        ({"lost_reason": 1.5}, "lost_reason"),
        ({"value": "abc"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": "Infinity"}, "value"),
        ({"value": -1}, "value"),
        ({"value": True}, "value"),
        ({"value": "1e20"}, "value"),
        ({"value": "1e40"}, "value"),
        ({"currency": "R$"}, "currency"),
        ({"currency": 12}, "currency"),
        ({"probability": 101}, "probability"),
        ({"status": "maybe"}, "status"),
        ({"stage": "Nowhere"}, "stage"),
        ({"stage": 5}, "stage"),
        ({"expected_close_date": "tomorrow"}, "expected_close_date"),
        ({"expected_close_date": "2026-13-01T00:00:00Z"}, "expected_close_date"),
        ({"expected_close_date": "2026-12-01Tnoon"}, "expected_close_date"),
        ({"assigned_to": "not-a-uuid"}, "assigned_to"),
        ({"assigned_to": 7}, "assigned_to"),
        ({"assigned_to": ""}, "assigned_to"),
        ({"labels": ["nope"]}, "labels"),
        ({"labels": "VIP"}, "labels"),
        ({"tags": {"a": 1}}, "tags"),
        ({"custom_fields": [1]}, "custom_fields"),
        ({"contact_id": "00000000-0000-0000-0000-000000000000"}, "contact_id"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(api_client, workspace, contact, patch, field):
    body = {"contact_id": str(contact.pk), "title": "X", **patch}
    error = assert_json_error(api_client.post(DEALS, body), 400, "VALIDATION_ERROR")
    assert field in error["errors"], error
    deal = deal_factory(workspace=workspace, contact=contact)
    before = api_client.get(detail(deal)).json()["deal"]
    error = assert_json_error(api_client.put(detail(deal), patch), 400)
    assert field in error["errors"], error
    assert api_client.get(detail(deal)).json()["deal"] == before


def test_non_object_body_is_400(api_client):
    assert_json_error(api_client.post(DEALS, ["x"]), 400)
    assert_json_error(api_client.post(DEALS, "x"), 400)


def test_related_ids_of_other_workspace_are_rejected(api_client, workspace, other_workspace, other_user, contact):
    foreign_contact = contact_factory(workspace=other_workspace)
    foreign_stage = stage_named(other_workspace, "Lead")
    foreign_label = Label.objects.filter(workspace=other_workspace).first()
    for patch, field in (
        ({"contact_id": str(foreign_contact.pk)}, "contact_id"),
        ({"stage": str(foreign_stage.pk)}, "stage"),
        ({"labels": [str(foreign_label.pk)]}, "labels"),
        ({"assigned_to": str(other_user.pk)}, "assigned_to"),
    ):
        body = {"contact_id": str(contact.pk), "title": "X", **patch}
        assert field in assert_json_error(api_client.post(DEALS, body), 400)["errors"]
    assert not Deal.objects.filter(workspace=workspace).exists()


def test_ambiguous_stage_name_is_400(api_client, workspace, contact):
    services.stage_create(workspace=workspace, name="LEAD")
    body = {"contact_id": str(contact.pk), "title": "X", "stage": "lead"}
    error = assert_json_error(api_client.post(DEALS, body), 400)
    assert "stage id" in error["errors"]["stage"][0]


def test_stage_move_is_recorded_and_published(api_client, workspace, user):
    deal = deal_factory(workspace=workspace)
    proposta = stage_named(workspace, "Proposta")
    response = api_client.put(detail(deal), {"stage": str(proposta.pk)})
    assert response.status_code == 200, response.content
    body = response.json()["deal"]
    assert body["stage"] == str(proposta.pk) and body["status"] == "open"
    assert events(workspace, "deal:updated") == [body]
    reply = api_client.get(detail(deal)).json()
    assert reply["deal"] == body
    kinds = [(a["kind"], a["data"]) for a in reply["activities"]]
    assert kinds == [
        ("stage_changed", {"from_stage_name": "Lead", "to_stage_name": "Proposta"}),
        ("created", {"to_stage_name": "Lead"}),
    ]
    assert reply["activities"][0]["actor"] == str(user.pk)
    assert reply["activities"][0]["to_stage"] == str(proposta.pk)


def test_moving_to_won_then_lost_then_back_updates_status(api_client, workspace):
    deal = deal_factory(workspace=workspace)
    won = api_client.put(detail(deal), {"stage": "Fechado"}).json()["deal"]
    assert won["status"] == "won" and won["won_at"] and won["lost_at"] is None
    lost = api_client.put(detail(deal), {"stage": "Perdido", "lost_reason": "Preço"}).json()["deal"]
    assert lost["status"] == "lost" and lost["lost_at"] and lost["won_at"] is None
    assert lost["lost_reason"] == "Preço"
    reopened = api_client.put(detail(deal), {"stage": "Lead"}).json()["deal"]
    assert (reopened["status"], reopened["won_at"], reopened["lost_at"], reopened["lost_reason"]) == (
        "open",
        None,
        None,
        "",
    )
    statuses = list(
        DealActivity.objects.filter(deal=deal, kind="status_changed")
        .order_by("created_at")
        .values_list("from_status", "to_status")
    )
    assert statuses == [("open", "won"), ("won", "lost"), ("lost", "open")]


def test_explicit_status_overrides_stage(api_client, workspace):
    deal = deal_factory(workspace=workspace)
    body = api_client.put(detail(deal), {"status": "lost", "lost_reason": "Sumiu"}).json()["deal"]
    assert (body["status"], body["stage_name"], body["lost_reason"]) == ("lost", "Lead", "Sumiu")
    assert body["lost_at"]


def test_update_fields_and_labels(api_client, workspace):
    deal = deal_factory(workspace=workspace)
    novo = Label.objects.get(workspace=workspace, name="Novo")
    body = api_client.put(
        detail(deal), {"title": "Renamed", "value": "10.005", "labels": [{"id": str(novo.pk), "name": "Novo"}]}
    ).json()["deal"]
    assert (body["title"], body["value"]) == ("Renamed", "10.01")
    assert [label["name"] for label in body["labels"]] == ["Novo"]
    assert api_client.put(detail(deal), {"labels": []}).json()["deal"]["labels"] == []


def test_echoed_deal_is_accepted(api_client, workspace):
    deal = deal_factory(workspace=workspace)
    current = api_client.get(detail(deal)).json()["deal"]
    current.pop("labels")
    response = api_client.put(detail(deal), {**current, "title": "Echo"})
    assert response.status_code == 200, response.content
    assert response.json()["deal"]["title"] == "Echo"


def test_delete_publishes_and_removes_timeline(api_client, workspace):
    deal = deal_factory(workspace=workspace)
    response = api_client.delete(detail(deal))
    assert response.status_code == 200
    assert response.json() == {"message": "Deal deleted.", "id": str(deal.pk)}
    assert events(workspace, "deal:deleted") == [
        {"id": str(deal.pk), "contact_id": str(deal.contact_id), "stage_id": str(deal.stage_id)}
    ]
    assert not DealActivity.objects.filter(deal_id=deal.pk).exists()


def test_viewer_reads_but_cannot_write(client_for, make_member, workspace):
    viewer = client_for(make_member(workspace, role="viewer"), workspace)
    deal = deal_factory(workspace=workspace)
    assert viewer.get(detail(deal)).status_code == 200
    assert_json_error(viewer.put(detail(deal), {"title": "no"}), 403)
    assert_json_error(viewer.delete(detail(deal)), 403)


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["deals"]}


def test_filters(api_client, workspace, user, make_member):
    ana, bia = contact_factory(workspace=workspace, name="Ana"), contact_factory(workspace=workspace, name="Bia")
    member = make_member(workspace)
    vip = Label.objects.get(workspace=workspace, name="VIP")
    small = deal_factory(workspace=workspace, contact=ana, title="Pequeno", value=Decimal("10"), assigned_to=user)
    big = deal_factory(
        workspace=workspace, contact=bia, title="Grande", value=Decimal("5000"), stage=stage_named(workspace, "Fechado")
    )
    mid = deal_factory(workspace=workspace, contact=ana, title="Médio", value=Decimal("300"), assigned_to=member)
    mid.labels.add(vip)
    everyone = {str(small.pk), str(big.pk), str(mid.pk)}

    assert ids(api_client.get(DEALS)) == everyone
    assert ids(api_client.get(f"{DEALS}?stage=Fechado")) == {str(big.pk)}
    assert ids(api_client.get(f"{DEALS}?stage={small.stage_id}")) == {str(small.pk), str(mid.pk)}
    assert ids(api_client.get(f"{DEALS}?status=won")) == {str(big.pk)}
    assert ids(api_client.get(f"{DEALS}?contact={ana.pk}")) == {str(small.pk), str(mid.pk)}
    assert ids(api_client.get(f"{DEALS}?assigned_to={member.pk}")) == {str(mid.pk)}
    assert ids(api_client.get(f"{DEALS}?assigned_to=me")) == {str(small.pk)}
    assert ids(api_client.get(f"{DEALS}?assigned_to=none")) == {str(big.pk)}
    assert ids(api_client.get(f"{DEALS}?label=vip")) == {str(mid.pk)}
    assert ids(api_client.get(f"{DEALS}?label={vip.pk}")) == {str(mid.pk)}
    assert ids(api_client.get(f"{DEALS}?value_min=300&value_max=5000")) == {str(big.pk), str(mid.pk)}
    assert ids(api_client.get(f"{DEALS}?max_value=299.99")) == {str(small.pk)}
    assert ids(api_client.get(f"{DEALS}?q=grand")) == {str(big.pk)}
    assert ids(api_client.get(f"{DEALS}?q=bia")) == {str(big.pk)}
    future = "2999-01-01T00:00:00Z"
    assert ids(api_client.get(f"{DEALS}?updated_since={future}")) == set()


@pytest.mark.parametrize(
    "query",
    [
        "stage=Nowhere",
        "status=maybe",
        "contact=xyz",
        "assigned_to=xyz",
        "label=Nope",
        "value_min=abc",
        "value_max=NaN",
        "updated_since=yesterday",
        "q=%00",
        "stage=%00",
        "label=a%00",
    ],
)
def test_bad_filters_are_400(api_client, query):
    assert_json_error(api_client.get(f"{DEALS}?{query}"), 400)


def test_filter_by_other_workspace_stage_is_400(api_client, other_workspace):
    assert_json_error(api_client.get(f"{DEALS}?stage={stage_named(other_workspace, 'Lead').pk}"), 400)


def test_deleting_the_contact_deletes_its_deals(workspace, contact):
    deal = deal_factory(workspace=workspace, contact=contact)
    contact.delete()
    assert not Deal.objects.filter(pk=deal.pk).exists()


def test_detail_query_count_does_not_grow_with_the_timeline(api_client, workspace):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    deal = deal_factory(workspace=workspace)
    deal.labels.set(Label.objects.filter(workspace=workspace))

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api_client.get(detail(deal)).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for name in ["Qualificado", "Proposta", "Negociação", "Fechado", "Lead"] * 3:
        services.deal_update(deal=deal, data={"stage": stage_named(workspace, name)})
    assert queries() == few
    assert len(api_client.get(detail(deal)).json()["activities"]) == 1 + 15 + 2 * 3


def test_list_labels_match_the_detail_and_come_with_the_page_query(api_client, workspace):
    from whatshybrid.api.testing import list_query_count

    labelled = deal_factory(workspace=workspace)
    labelled.labels.set(Label.objects.filter(workspace=workspace))
    deal_factory(workspace=workspace)
    listed = {row["id"]: row["labels"] for row in api_client.get(DEALS).json()["deals"]}
    shown = api_client.get(detail(labelled)).json()["deal"]["labels"]
    assert listed[str(labelled.pk)] == shown and [] in listed.values()
    names = [row["name"] for row in shown]
    assert names == sorted(names, key=str.casefold) and len(names) == Label.objects.filter(workspace=workspace).count()
    # Authentication's session check, the page, and one query for the whole page's labels.
    assert list_query_count(api_client, DEALS, 50) == 3
