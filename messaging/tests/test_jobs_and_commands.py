from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import jobs, services
from messaging.models import Conversation
from messaging.tests.factories import contact_factory, conversation_factory, message_factory
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


def test_snooze_enqueues_a_wake_up_that_reopens_once_due(workspace, django_capture_on_commit_callbacks):
    conversation = conversation_factory(workspace=workspace)
    until = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_update(conversation=conversation, data={"status": "snoozed", "snoozed_until": until})
    queued = DBTaskResult.objects.get(task_path="messaging.jobs.conversation_wake")
    assert queued.run_after == until
    assert queued.args_kwargs["kwargs"] == {"workspace_id": str(workspace.pk), "conversation_id": str(conversation.pk)}

    # Not due yet: the job leaves it snoozed.
    assert jobs.conversation_wake.call(**queued.args_kwargs["kwargs"]) is False
    Conversation.objects.filter(pk=conversation.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))
    assert jobs.conversation_wake.call(**queued.args_kwargs["kwargs"]) is True
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.snoozed_until is None
    assert Event.objects.filter(name="conversation:updated").last().payload["status"] == "open"
    # Running it again (a retried job) changes nothing.
    assert jobs.conversation_wake.call(**queued.args_kwargs["kwargs"]) is False


def test_wake_job_never_crosses_workspaces(workspace, other_workspace):
    conversation = conversation_factory(workspace=workspace)
    Conversation.objects.filter(pk=conversation.pk).update(status="snoozed", snoozed_until=timezone.now())
    assert (
        jobs.conversation_wake.call(workspace_id=str(other_workspace.pk), conversation_id=str(conversation.pk)) is False
    )
    conversation.refresh_from_db()
    assert conversation.status == "snoozed"


def test_export_conversation_as_json_and_contact_history_as_csv(workspace, other_workspace, tmp_path):
    contact = contact_factory(workspace=workspace, name="Dona Rosa")
    first = conversation_factory(workspace=workspace, contact=contact)
    message_factory(conversation=first, content='Olá, "tudo" bem?\nlinha 2', direction="in")
    services.conversation_update(conversation=first, data={"status": "resolved"})
    second = conversation_factory(workspace=workspace, contact=contact)
    message_factory(conversation=second, content="De volta", external_id="wamid.1")
    message_factory(conversation=conversation_factory(workspace=workspace), content="outro contato")

    out = io.StringIO()
    call_command("messaging_export", workspace=str(workspace.pk), conversation=str(first.pk), stdout=out)
    rows = json.loads(out.getvalue())
    assert [row["content"] for row in rows] == ['Olá, "tudo" bem?\nlinha 2']
    assert rows[0]["contact_name"] == "Dona Rosa" and rows[0]["direction"] == "in"

    target = tmp_path / "history.csv"
    call_command(
        "messaging_export", workspace=str(workspace.pk), contact=str(contact.pk), format="csv", output=str(target)
    )
    with target.open(encoding="utf-8", newline="") as handle:
        history = list(csv.DictReader(handle))
    assert [row["content"] for row in history] == ['Olá, "tudo" bem?\nlinha 2', "De volta"]
    assert history[1]["external_id"] == "wamid.1" and history[0]["external_id"] == ""

    with pytest.raises(CommandError):
        call_command("messaging_export", workspace=str(other_workspace.pk), conversation=str(first.pk))
    with pytest.raises(CommandError):
        call_command("messaging_export", workspace="nope", conversation=str(first.pk))
