"""Issue #14 item 9: admin pickers, lookup popups and saves stay inside the object's workspace."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import User
from crm.models import Label
from messaging.models import Conversation
from messaging.tests.factories import contact_factory, conversation_factory
from tasks import services as task_services
from tasks.models import Task
from tests.seed import Seeder, django_transport
from whatshybrid.admin_scoping import WorkspaceScopedForm, workspace_owned

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


def test_every_scoped_lookup_popup_lists_only_the_objects_workspace(
    admin_client, superuser, workspace, other_workspace, other_client, user
):
    """Every admin form on WorkspaceScopedForm, every raw-id picker it narrows: the popup opens
    (its filter is allowed, not refused with ?e=1) and lists nothing of another workspace, while
    another workspace holds a row of every resource (seeded through the REST API)."""
    Seeder(django_transport(other_client)).seed_all()
    request = RequestFactory().get("/")
    request.user = superuser
    checked, foreign_rows_hidden = [], 0
    for model, model_admin in admin.site._registry.items():
        if not (issubclass(model_admin.form, WorkspaceScopedForm) and workspace_owned(model)):
            continue
        obj = model(workspace=workspace)
        form = model_admin.get_form(request, obj=obj, change=True)(instance=obj)
        for name, field in form.fields.items():
            widget = field.widget
            params = widget.url_parameters() if isinstance(widget, ForeignKeyRawIdWidget) else {}
            scope = {key: value for key, value in params.items() if "workspace" in key}
            if not scope:
                continue
            related = widget.rel.model
            url = reverse(f"admin:{related._meta.app_label}_{related._meta.model_name}_changelist")
            response = admin_client.get(url, {**params, "_popup": "1"})
            assert response.status_code == 200, f"{model.__name__}.{name}: {response.status_code} {url}"
            listed = list(response.context["cl"].queryset)
            if related is User:
                assert all(row.memberships.filter(workspace=workspace).exists() for row in listed), name
                outside = related.objects.exclude(memberships__workspace=workspace)
            else:
                assert all(row.workspace_id == workspace.pk for row in listed), f"{model.__name__}.{name}"
                outside = related.objects.exclude(workspace=workspace)
            foreign_rows_hidden += outside.exists()
            checked.append(f"{model.__name__}.{name}")
    assert {"Task.contact", "Task.deal", "Task.assigned_to", "Conversation.assigned_to"} <= set(checked), checked
    assert foreign_rows_hidden == len(checked), "every popup had another workspace's rows to hide"
