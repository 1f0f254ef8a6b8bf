from __future__ import annotations

import pytest

from templates_app.models import MessageTemplate
from templates_app.tests.factories import template_factory

pytestmark = pytest.mark.django_db


def form(workspace, **fields) -> dict:
    data = {
        "workspace": str(workspace.pk),
        "created_by": "",
        "name": "Oi",
        "category": "vendas",
        "content": "Olá {{nome}}",
        "variables": '["nome"]',
        "media_url": "",
    }
    return {**data, **fields}


def test_changelist_search_and_filters(admin_client, workspace):
    template_factory(workspace=workspace, name="Promoção de Natal", category="vendas")
    response = admin_client.get("/admin/templates_app/messagetemplate/", {"q": "Natal", "category": "vendas"})
    assert response.status_code == 200
    assert "Promoção de Natal".encode() in response.content


def test_admin_add_normalizes_variables_and_rejects_bad_ones(admin_client, workspace):
    response = admin_client.post("/admin/templates_app/messagetemplate/add/", form(workspace, variables='[{"x": 1}]'))
    assert response.status_code == 200
    assert b"unknown keys x" in response.content
    assert not MessageTemplate.objects.exists()
    response = admin_client.post("/admin/templates_app/messagetemplate/add/", form(workspace))
    assert response.status_code == 302
    template = MessageTemplate.objects.get(workspace=workspace)
    assert template.variables == [{"name": "nome", "default": "", "required": False}]
