"""Issue #14 item 9: admin pickers, lookup popups and saves stay inside the object's workspace."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import RequestFactory

from crm.models import Label
from messaging.models import Conversation
from messaging.tests.factories import contact_factory, conversation_factory
from tasks import services as task_services
from tasks.models import Task

pytestmark = pytest.mark.django_db


def admin_form(model: type, obj: Any, superuser: Any, data: dict[str, Any] | None = None) -> Any:
    """The change form the admin itself builds for ``obj`` (its widgets, fields and read-only set)."""
    request = RequestFactory().get("/")
    request.user = superuser
    form_class = admin.site._registry[model].get_form(request, obj=obj, change=True)
    return form_class(data=data, instance=obj)


@pytest.fixture
def superuser(make_user: Any) -> Any:
    root = make_user(email="root@example.com")
    root.is_staff = root.is_superuser = True
    root.save()
    return root


def test_lookup_popups_are_scoped_to_the_objects_workspace(superuser, workspace, other_workspace):
    task = task_services.task_create(workspace=workspace, title="Ligar")
    form = admin_form(Task, task, superuser)
    for name in ("contact", "deal"):
        assert form.fields[name].widget.url_parameters()["workspace__id__exact"] == str(workspace.pk)
    assert form.fields["assigned_to"].widget.url_parameters()["memberships__workspace__id__exact"] == str(workspace.pk)
    conversation = conversation_factory(workspace=workspace)
    params = admin_form(Conversation, conversation, superuser).fields["assigned_to"].widget.url_parameters()
    assert params["memberships__workspace__id__exact"] == str(workspace.pk)


def test_the_assignee_popup_lists_only_the_workspaces_members(admin_client, user, workspace, other_user):
    response = admin_client.get(
        "/admin/accounts/user/",
        {"_popup": "1", "_to_field": "id", "memberships__workspace__id__exact": str(workspace.pk)},
    )
    assert response.status_code == 200  # the filter is allowed, not refused with ?e=1
    assert user.email in response.text and other_user.email not in response.text


def test_the_label_popup_lists_only_the_workspaces_labels(admin_client, workspace, other_workspace):
    Label.objects.create(workspace=other_workspace, name="Alheia")
    response = admin_client.get(
        "/admin/crm/label/", {"_popup": "1", "_to_field": "id", "workspace__id__exact": str(workspace.pk)}
    )
    assert response.status_code == 200 and "Alheia" not in response.text


def test_conversation_assignee_must_be_a_member(superuser, workspace, other_user, user):
    conversation = conversation_factory(workspace=workspace)
    initial = admin_form(Conversation, conversation, superuser)
    data = {name: initial.initial.get(name) for name in initial.fields if initial.initial.get(name) is not None}
    data["tags"] = "[]"
    refused = admin_form(Conversation, conversation, superuser, {**data, "assigned_to": str(other_user.pk)})
    assert not refused.is_valid() and "assigned_to" in refused.errors
    accepted = admin_form(Conversation, conversation, superuser, {**data, "assigned_to": str(user.pk)})
    assert accepted.is_valid(), accepted.errors


def test_task_admin_refuses_another_workspaces_contact_and_a_non_member(
    superuser, workspace, other_workspace, other_user
):
    task = task_services.task_create(workspace=workspace, title="Ligar")
    data = {"title": "Ligar", "type": task.type, "priority": task.priority, "status": task.status}
    foreign = contact_factory(workspace=other_workspace)
    form = admin_form(Task, task, superuser, {**data, "contact": str(foreign.pk), "assigned_to": str(other_user.pk)})
    assert not form.is_valid()
    assert {"contact", "assigned_to"} <= set(form.errors)
    own = contact_factory(workspace=workspace)
    assert admin_form(Task, task, superuser, {**data, "contact": str(own.pk)}).is_valid()
