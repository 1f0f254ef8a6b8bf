"""The operator admin: every page renders (DEBUG off) and writes go through the services."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuthSession, Membership, User, Workspace
from accounts.signals import workspace_created
from crm.models import Label

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db) -> Client:
    User.objects.create_superuser(email="ops@example.com", password="s3cret-Passw0rd", name="Ops")
    client = Client()
    assert client.login(username="ops@example.com", password="s3cret-Passw0rd")
    return client


@pytest.mark.parametrize("model", ["user", "workspace", "membership", "authsession", "refreshtokenrecord"])
def test_changelists_and_search_render(operator, api_client, model):
    assert operator.get(f"/admin/accounts/{model}/").status_code == 200
    assert operator.get(f"/admin/accounts/{model}/", {"q": "ana"}).status_code == 200


def test_idempotency_records_render(operator, api_client):
    api_client.post("/api/v1/auth/logout", {}, HTTP_IDEMPOTENCY_KEY="admin-key")
    assert operator.get("/admin/api/idempotencyrecord/").status_code == 200


def test_admin_created_workspace_gets_its_defaults(operator):
    seen = []

    def receiver(sender, workspace, **kwargs):
        seen.append(workspace.pk)
        Label.objects.create(workspace=workspace, name="Default")

    workspace_created.connect(receiver)
    try:
        response = operator.post(
            "/admin/accounts/workspace/add/",
            {
                "name": "Via admin",
                "plan": "pro",
                "timezone": "UTC",
                "default_country": "PT",
                "currency": "EUR",
                "settings": "{}",
                "memberships-TOTAL_FORMS": "0",
                "memberships-INITIAL_FORMS": "0",
            },
        )
    finally:
        workspace_created.disconnect(receiver)
    assert response.status_code == 302, response.content[:2000]
    workspace = Workspace.objects.get(name="Via admin")
    assert seen == [workspace.pk]
    assert workspace.plan == "pro" and workspace.default_country == "PT"
    assert Label.objects.filter(workspace=workspace, name="Default").exists()


def test_admin_edit_replaces_settings_and_keeps_credits(operator, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(settings={"old": 1}, credits=42)
    response = operator.post(
        f"/admin/accounts/workspace/{workspace.pk}/change/",
        {
            "name": "Renamed",
            "plan": "pro",
            "timezone": "UTC",
            "default_country": "BR",
            "currency": "BRL",
            "settings": '{"new": 2}',
            "credits": "999999",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(workspace.memberships.get().pk),
            "memberships-0-user": str(workspace.memberships.get().user_id),
            "memberships-0-workspace": str(workspace.pk),
            "memberships-0-role": "owner",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    workspace.refresh_from_db()
    assert workspace.name == "Renamed" and workspace.plan == "pro"
    assert workspace.settings == {"new": 2}
    assert workspace.credits == 42  # read-only in the admin too


def test_admin_membership_delete_ends_sessions(operator, workspace, make_member, client_for):
    agent = make_member(workspace, role="agent")
    client = client_for(agent, workspace)
    membership = Membership.objects.get(user=agent)
    response = operator.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert AuthSession.objects.get(user=agent).revoke_reason == "membership_removed"
    assert client.get("/api/v1/auth/me").status_code == 401


def test_admin_requires_staff(client, user):
    response = client.get("/admin/accounts/workspace/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
