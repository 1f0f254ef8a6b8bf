from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from messaging.models import Conversation
from messaging.tests.factories import conversation_factory, message_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="op@example.com", password="x-Passw0rd-long", name="Op"))
    return client


def test_admin_pages_render_with_recent_messages(admin_client_, workspace):
    conversation = conversation_factory(workspace=workspace, name="Fulana")
    for i in range(25):
        message_factory(conversation=conversation, content=f"msg-{i:02d}")
    changelist = admin_client_.get("/admin/messaging/conversation/?status__exact=open")
    assert changelist.status_code == 200 and b"Fulana" in changelist.content
    page = admin_client_.get(f"/admin/messaging/conversation/{conversation.pk}/change/")
    assert page.status_code == 200
    assert b"msg-24" in page.content and b"msg-04" not in page.content  # the 20 newest only
    assert admin_client_.get("/admin/messaging/message/").status_code == 200


def test_admin_edit_goes_through_the_service(admin_client_, workspace):
    conversation = conversation_factory(workspace=workspace)
    page = admin_client_.get(f"/admin/messaging/conversation/{conversation.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in ("status", "assigned_to", "priority", "snoozed_until")}
    data.update(
        {
            "status": "resolved",
            "tags": "[]",
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "0",
        }
    )
    response = admin_client_.post(f"/admin/messaging/conversation/{conversation.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED and conversation.resolved_at is not None
    assert Event.objects.filter(name="conversation:updated").last().payload["status"] == "resolved"
