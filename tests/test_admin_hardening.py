"""The operator admin (Django test client against the real admin site).

- Its login shares the API login's attempt limit and log: 30 wrong passwords, then the right
  one, does not get in (issue 14.9).
- Its pickers offer, and its saves accept, only related rows of the edited object's workspace:
  another workspace's labels never land on a contact or conversation (issue 14.9).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, override_settings

from accounts.models import User, Workspace
from contacts.tests.factories import contact_factory
from crm.models import Label
from messaging.tests.factories import conversation_factory

pytestmark = pytest.mark.django_db
PASSWORD = "s3cret-Passw0rd"


@override_settings(RATELIMIT_AUTH="5/15m")
def test_admin_login_is_limited_and_logged(caplog: Any) -> None:
    User.objects.create_superuser(email="ops@example.com", password=PASSWORD, name="Ops")
    client = Client()
    with caplog.at_level(logging.INFO, logger="accounts.services"):
        for n in range(30):
            client.post("/admin/login/", {"username": "ops@example.com", "password": f"wrong-{n}"})
        response = client.post("/admin/login/?next=/admin/", {"username": "ops@example.com", "password": PASSWORD})
    assert response.status_code == 200  # the form again, not the redirect into the admin
    assert b"Too many login attempts" in response.content
    assert client.get("/admin/").status_code == 302  # still anonymous
    lines = [record.getMessage() for record in caplog.records]
    assert sum("login failed channel=admin" in line for line in lines) == 5
    assert any("login refused (rate limited) channel=admin" in line for line in lines)
    # Another IP, with the right password, gets in (the budget is per IP + email).
    other = Client(REMOTE_ADDR="10.0.0.5")
    assert (
        other.post("/admin/login/?next=/admin/", {"username": "ops@example.com", "password": PASSWORD}).status_code
        == 302
    )


def test_admin_login_shares_the_api_budget(anon_client: Any) -> None:
    User.objects.create_superuser(email="ops@example.com", password=PASSWORD, name="Ops")
    with override_settings(RATELIMIT_AUTH="3/15m"):
        for _ in range(3):
            assert (
                anon_client.post("/api/v1/auth/login", {"email": "ops@example.com", "password": "bad"}).status_code
                == 401
            )
        response = Client().post("/admin/login/", {"username": "ops@example.com", "password": PASSWORD})
    assert b"Too many login attempts" in response.content


@pytest.fixture
def foreign_label(other_workspace: Workspace) -> Label:
    return Label.objects.create(workspace=other_workspace, name="Foreign-Label-7Q")


def test_contact_admin_offers_and_saves_only_its_workspace_labels(
    admin_client: Client, workspace: Workspace, foreign_label: Label
) -> None:
    own = Label.objects.create(workspace=workspace, name="Own-Label")
    contact = contact_factory(workspace=workspace, name="Ana")
    url = f"/admin/contacts/contact/{contact.pk}/change/"
    offered = admin_client.get(url).context["adminform"].form.fields["labels"].queryset
    assert own in offered and foreign_label not in offered
    form = {
        "phone": contact.phone,
        "name": "Ana",
        "tags": "[]",
        "custom_fields": "{}",
        "source": "manual",
        "labels": f"{own.pk},{foreign_label.pk}",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200 and response.context["adminform"].form.errors["labels"]
    assert list(contact.labels.all()) == []
    # A new contact picks its labels from the workspace it is created in.
    new = {**form, "phone": "+5511912345678", "workspace": str(workspace.pk), "labels": str(foreign_label.pk)}
    response = admin_client.post("/admin/contacts/contact/add/", new)
    assert response.status_code == 200 and response.context["adminform"].form.errors["labels"]


def test_conversation_admin_offers_and_saves_only_its_workspace_labels(
    admin_client: Client, workspace: Workspace, foreign_label: Label
) -> None:
    conversation = conversation_factory(workspace=workspace)
    url = f"/admin/messaging/conversation/{conversation.pk}/change/"
    page = admin_client.get(url)
    assert foreign_label.name.encode() not in page.content  # filter_horizontal lists the choices
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in ("status", "assigned_to", "priority", "snoozed_until")}
    data.update(
        {
            "tags": "[]",
            "labels": [str(foreign_label.pk)],
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "0",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200 and response.context["adminform"].form.errors["labels"]
    assert list(conversation.labels.all()) == []


def test_admin_login_hashes_in_a_hash_turn(settings: Any) -> None:
    """The admin login's hash is bounded like the API's (accounts/hashing.py): with every turn
    taken, the form says so, no 500 and no hash on the request thread."""
    User.objects.create_superuser(email="ops@example.com", password=PASSWORD, name="Ops")
    settings.PASSWORD_HASH_CONCURRENCY = settings.PASSWORD_HASH_QUEUE = 0
    response = Client().post("/admin/login/?next=/admin/", {"username": "ops@example.com", "password": PASSWORD})
    assert response.status_code == 200 and b"Too many sign-ins at once" in response.content
    settings.PASSWORD_HASH_CONCURRENCY = settings.PASSWORD_HASH_QUEUE = 1
    response = Client().post("/admin/login/?next=/admin/", {"username": "ops@example.com", "password": PASSWORD})
    assert response.status_code == 302
