from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection

from accounts.models import Membership
from contacts.tests.factories import contact_factory
from templates_app.models import MessageTemplate
from templates_app.tests.factories import template_factory
from whatshybrid.api.testing import assert_json_error, check_standard_endpoint

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/templates"


def detail(template: Any) -> str:
    return f"{LIST_URL}/{template.pk}"


def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    check_standard_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        list_url=LIST_URL,
        detail_url=detail,
        resource_name="templates",
        make=lambda ws: template_factory(workspace=ws),
        detail_methods=("get", "put", "delete"),
    )
    theirs = template_factory(workspace=other_workspace)
    for action in ("use", "render"):
        assert_json_error(api_client.post(f"{detail(theirs)}/{action}"), 404)
    theirs.refresh_from_db()
    assert theirs.usage_count == 0


def test_create_accepts_declared_variables_and_plain_names(api_client, user, workspace):
    body = {
        "name": "Boas-vindas",
        "category": "vendas",
        "content": "Olá {{nome}}, seu pedido {{pedido}} chegou.",
        "variables": [{"name": "nome"}, {"name": "pedido", "default": "123", "required": True}],
        "media_url": "https://example.com/a.png",
    }
    response = api_client.post(LIST_URL, body)
    assert response.status_code == 201, response.content
    template = response.json()["template"]
    assert template["variables"] == [
        {"name": "nome", "default": "", "required": False},
        {"name": "pedido", "default": "123", "required": True},
    ]
    assert (template["usage_count"], template["last_used_at"], template["created_by"]) == (0, None, str(user.pk))
    response = api_client.post(LIST_URL, {"name": "Curto", "content": "Oi {{name}}", "variables": ["name", "{{x}}"]})
    assert response.json()["template"]["variables"] == [
        {"name": "name", "default": "", "required": False},
        {"name": "x", "default": "", "required": False},
    ]
    assert response.json()["template"]["category"] == "general"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x"}, "name"),
        ({"name": "a"}, "content"),
        ({"name": "a", "content": "   "}, "content"),
        ({"name": "a", "content": "x", "variables": "nome"}, "variables"),
        ({"name": "a", "content": "x", "variables": [1]}, "variables"),
        ({"name": "a", "content": "x", "variables": [{"name": "1abc"}]}, "variables"),
        ({"name": "a", "content": "x", "variables": [{"name": "a b"}]}, "variables"),
        ({"name": "a", "content": "x", "variables": ["nome", "NOME"]}, "variables"),
        ({"name": "a", "content": "x", "variables": [{"name": "n", "required": "yes"}]}, "variables"),
        ({"name": "a", "content": "x", "variables": [{"name": "n", "default": {"a": 1}}]}, "variables"),
        ({"name": "a", "content": "x", "variables": [{"name": "n", "extra": 1}]}, "variables"),
        ({"name": "a", "content": "x", "media_url": "javascript:alert(1)"}, "media_url"),
        ({"name": "a", "content": "x" * 10_001}, "content"),
        ({"name": "a", "content": "x", "bogus": 5}, "bogus"),
        ({"name": ["a"], "content": "x"}, "name"),
        ({"name": "a", "content": 0}, "content"),
        ({"name": "a", "content": "x", "category": True}, "category"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(api_client, workspace, body, field):
    error = assert_json_error(api_client.post(LIST_URL, body), 400, "VALIDATION_ERROR")
    assert field in error["errors"], error
    assert not MessageTemplate.objects.filter(workspace=workspace).exists()


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("field", ["name", "category", "content", "media_url"])
def test_updates_refuse_numbers_for_text_fields(api_client, workspace, method, field):
    template = template_factory(workspace=workspace, content="Oi")
    error = assert_json_error(getattr(api_client, method)(detail(template), {field: 5}), 400, "VALIDATION_ERROR")
    assert list(error["errors"]) == [field]
    template.refresh_from_db()
    assert (template.content, template.category, template.media_url) == ("Oi", "general", "")


def test_usage_count_is_not_writable_but_echo_is_ignored(api_client, workspace):
    template = template_factory(workspace=workspace)
    body = api_client.get(detail(template)).json()["template"]
    response = api_client.put(detail(template), {**body, "name": "Novo nome"})
    assert response.status_code == 200, response.content
    assert response.json()["template"]["name"] == "Novo nome"


def test_list_filters_by_category_and_text(api_client, workspace):
    sale = template_factory(workspace=workspace, name="Promo", category="Vendas", content="Desconto hoje")
    template_factory(workspace=workspace, name="Suporte", category="suporte", content="Ajuda")
    ids = lambda url: [row["id"] for row in api_client.get(url).json()["templates"]]  # noqa: E731
    assert ids(f"{LIST_URL}?category=vendas") == [str(sale.pk)]
    assert ids(f"{LIST_URL}?q=desconto") == [str(sale.pk)]
    assert ids(f"{LIST_URL}?q=promo&category=suporte") == []
    assert len(ids(LIST_URL)) == 2


def test_update_is_partial_and_delete_answers_json(api_client, workspace):
    template = template_factory(workspace=workspace, category="vendas", variables=["nome"])
    response = api_client.put(detail(template), {"content": "Oi {{nome}} :)"})
    body = response.json()["template"]
    assert (body["content"], body["category"], body["variables"][0]["name"]) == ("Oi {{nome}} :)", "vendas", "nome")
    assert api_client.delete(detail(template)).json() == {"message": "Template deleted.", "id": str(template.pk)}
    assert not MessageTemplate.objects.filter(pk=template.pk).exists()


def test_use_takes_an_empty_json_body_and_counts(api_client, workspace):
    template = template_factory(workspace=workspace)
    for expected in (1, 2):
        response = api_client.generic("POST", f"{detail(template)}/use", "", content_type="application/json")
        assert response.status_code == 200, response.content
        body = response.json()["template"]
        assert body["usage_count"] == expected
        assert body["last_used_at"] is not None


def test_viewer_may_render_but_not_use_or_write(client_for, make_member, workspace):
    viewer = client_for(make_member(workspace, role=Membership.Role.VIEWER), workspace)
    template = template_factory(workspace=workspace, content="Oi")
    empty_body = viewer.generic("POST", f"{detail(template)}/render", "", content_type="application/json")
    assert empty_body.json()["content"] == "Oi"
    assert_json_error(viewer.post(f"{detail(template)}/use"), 403)
    assert_json_error(viewer.post(LIST_URL, {"name": "a", "content": "b"}), 403)
    template.refresh_from_db()
    assert template.usage_count == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_never_lose_a_count(client_for, user, workspace):
    template = template_factory(workspace=workspace)
    threads_count, uses_each = 8, 5
    barrier = threading.Barrier(threads_count)
    failures: list[Any] = []

    def hammer() -> None:
        client = client_for(user, workspace)
        barrier.wait()
        try:
            for _ in range(uses_each):
                response = client.post(f"{detail(template)}/use")
                if response.status_code != 200:
                    failures.append(response.content)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    template.refresh_from_db()
    assert template.usage_count == threads_count * uses_each


def render(client: Any, template: Any, body: Any = None) -> Any:
    return client.post(f"{detail(template)}/render", body if body is not None else {})


def test_render_fills_contact_fields_in_portuguese_and_english(api_client, workspace):
    contact = contact_factory(
        workspace=workspace,
        name="Maria Silva",
        email="maria@example.com",
        company="Padaria Sol",
        custom_fields={"cidade": "Recife"},
    )
    template = template_factory(
        workspace=workspace,
        content="{{nome}}|{{name}}|{{ primeiro_nome }}|{{telefone}}|{{phone}}|{{email}}|{{empresa}}|{{company}}|{{Cidade}}",
    )
    body = render(api_client, template, {"contact_id": str(contact.pk)}).json()
    phone = contact.phone
    assert (
        body["content"]
        == f"Maria Silva|Maria Silva|Maria|{phone}|{phone}|maria@example.com|Padaria Sol|Padaria Sol|Recife"
    )
    assert body["text"] == body["rendered"] == body["content"]
    assert body["unresolved"] == []
    template.refresh_from_db()
    assert template.usage_count == 0  # rendering is not a use


def test_given_values_win_and_defaults_fill_the_rest(api_client, workspace):
    contact = contact_factory(workspace=workspace, name="Maria")
    template = template_factory(
        workspace=workspace,
        content="Oi {{nome}}, cupom {{cupom}} vale até {{data}}. {{desconhecido}}",
        variables=[{"name": "cupom", "default": "BEMVINDO"}, {"name": "data", "required": True}],
    )
    body = render(
        api_client, template, {"contact_id": str(contact.pk), "variables": {"nome": "Dona Maria", "data": 31}}
    ).json()
    assert body == {
        "template_id": str(template.pk),
        "content": "Oi Dona Maria, cupom BEMVINDO vale até 31. {{desconhecido}}",
        "rendered": "Oi Dona Maria, cupom BEMVINDO vale até 31. {{desconhecido}}",
        "text": "Oi Dona Maria, cupom BEMVINDO vale até 31. {{desconhecido}}",
        "variables": {"nome": "Dona Maria", "cupom": "BEMVINDO", "data": "31"},
        "unresolved": ["desconhecido"],
    }


def test_missing_required_variable_is_400_naming_it(api_client, workspace):
    template = template_factory(
        workspace=workspace,
        content="{{nome}}: {{pedido}} {{prazo}}",
        variables=[{"name": "pedido", "required": True}, {"name": "prazo", "required": True}, "nome"],
    )
    error = assert_json_error(render(api_client, template, {"variables": {"prazo": ""}}), 400, "MISSING_VARIABLES")
    assert "pedido" in error["message"] and "prazo" in error["message"]
    assert set(error["errors"]["variables"]) == {"pedido", "prazo"}
    assert error["missing"] == ["pedido", "prazo"]
    body = render(api_client, template, {"variables": {"pedido": "#9", "prazo": "amanhã"}}).json()
    assert body["content"] == ": #9 amanhã"  # declared optional, no value, no default: empty


def test_render_never_executes_template_code(api_client, workspace):
    content = "{% load static %}{{ nome|upper }} {{nome.__class__}} {{ settings.SECRET_KEY }} {{nome}} ${7*7}"
    template = template_factory(workspace=workspace, content=content)
    body = render(api_client, template, {"variables": {"nome": "{{nome}} {% debug %}"}}).json()
    assert body["content"] == (
        "{% load static %}{{ nome|upper }} {{nome.__class__}} {{ settings.SECRET_KEY }} {{nome}} {% debug %} ${7*7}"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"contact_id": "00000000-0000-0000-0000-000000000000"},
        {"contact_id": "nope"},
        {"contact_id": ""},
        {"contact_id": 5},
        {"variables": ["nome"]},
        {"variables": {"nome": {"x": 1}}},
        {"variables": {"nome": True}},
        {"other": 1},
        None,
        [],
    ],
)
def test_render_bad_input_is_400(api_client, workspace, body):
    template = template_factory(workspace=workspace)
    encoded = json.dumps(body)
    response = api_client.generic("POST", f"{detail(template)}/render", encoded, content_type="application/json")
    assert_json_error(response, 400, "VALIDATION_ERROR")


def test_render_without_a_contact_is_null_or_absent_never_an_empty_string(api_client, workspace):
    template = template_factory(workspace=workspace, content="Oi {{nome}}")
    for body in ({}, {"contact_id": None}):
        assert render(api_client, template, body).json()["content"] == "Oi {{nome}}"
    error = assert_json_error(render(api_client, template, {"contact_id": ""}), 400, "VALIDATION_ERROR")
    assert list(error["errors"]) == ["contact_id"]


def test_render_refuses_another_workspaces_contact(api_client, workspace, other_workspace):
    theirs = contact_factory(workspace=other_workspace, name="Segredo")
    template = template_factory(workspace=workspace)
    error = assert_json_error(render(api_client, template, {"contact_id": str(theirs.pk)}), 400)
    assert "contact_id" in error["errors"]


def test_routes_answer_json_for_odd_requests(api_client, workspace):
    template = template_factory(workspace=workspace)
    assert_json_error(api_client.get(f"{LIST_URL}/not-a-uuid"), 404)
    assert_json_error(api_client.get(f"{detail(template)}/use"), 405)
    assert_json_error(
        api_client.generic("POST", f"{detail(template)}/render", "[1]", content_type="application/json"), 400
    )
    assert_json_error(api_client.generic("PUT", detail(template), "{x", content_type="application/json"), 400)
    template.refresh_from_db()
    assert template.usage_count == 0
    # /use takes no body, so whatever arrives is not read.
    ignored = api_client.generic("POST", f"{detail(template)}/use", "{x", content_type="application/json")
    assert ignored.json()["template"]["usage_count"] == 1


@pytest.mark.parametrize("query", ["q=a%00b", "category=%00", "search=%00x"])
def test_nul_in_filters_is_400_not_500(api_client, query):
    assert_json_error(api_client.get(f"{LIST_URL}?{query}"), 400, "VALIDATION_ERROR")
