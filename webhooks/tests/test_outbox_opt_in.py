"""The outbox subscriber runs only in workspaces with an active webhook, so every other
workspace's writes pay nothing for webhooks; each change of "has an active webhook" flips it."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.services import contact_create
from webhooks.models import Webhook, WebhookDelivery
from webhooks.services import OUTBOX, webhook_delete, webhook_disable, webhook_update
from webhooks.tests.factories import webhook_factory
from whatshybrid.realtime.models import EventSequence

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/in"


def opted_in(workspace) -> bool:
    return OUTBOX in EventSequence.objects.filter(workspace=workspace).values_list("opted_in", flat=True).first()


def test_a_workspace_without_webhooks_publishes_without_reading_them(workspace, other_workspace) -> None:
    webhook_factory(workspace=other_workspace, url=URL)  # another workspace's webhook changes nothing here
    contact_create(workspace=workspace, name="Ana", phone="+5511988887777")
    with CaptureQueriesContext(connection) as queries:
        contact_create(workspace=workspace, name="Bia", phone="+5511988886666")
    assert not [q["sql"] for q in queries.captured_queries if Webhook._meta.db_table in q["sql"]]
    assert not WebhookDelivery.objects.filter(workspace=workspace).exists()


def test_every_change_of_having_an_active_webhook_flips_the_outbox(workspace) -> None:
    first = webhook_factory(workspace=workspace, url=URL)
    assert opted_in(workspace)
    second = webhook_factory(workspace=workspace, url=URL, active=False)
    webhook_delete(webhook=first)
    assert not opted_in(workspace)  # the one left is inactive
    contact_create(workspace=workspace, name="Ana", phone="+5511988887777")
    assert not WebhookDelivery.objects.exists()

    webhook_update(webhook=second, data={"active": True})
    assert opted_in(workspace)
    contact_create(workspace=workspace, name="Bia", phone="+5511988886666")
    assert WebhookDelivery.objects.filter(webhook=second, event_type="contact:created").count() == 1

    webhook_disable(webhook=second, reason="410 Gone")
    assert not opted_in(workspace)
    webhook_update(webhook=second, data={"active": True})
    webhook_update(webhook=second, data={"active": False})
    assert not opted_in(workspace)


def test_the_migration_opts_in_workspaces_that_already_have_webhooks(workspace, other_workspace) -> None:
    active = webhook_factory(workspace=workspace, url=URL)
    webhook_factory(workspace=other_workspace, url=URL, active=False)
    EventSequence.objects.update(opted_in=[])  # as stored before the flag existed
    EventSequence.objects.filter(workspace=workspace).delete()  # and a workspace that never published

    migration = importlib.import_module("webhooks.migrations.0002_outbox_opt_in")
    migration.opt_in_workspaces_with_webhooks(apps, None)
    migration.opt_in_workspaces_with_webhooks(apps, None)  # twice: nothing doubles
    assert EventSequence.objects.get(workspace=workspace).opted_in == [OUTBOX]
    assert not opted_in(other_workspace)
    contact_create(workspace=workspace, name="Ana", phone="+5511988887777")
    assert WebhookDelivery.objects.filter(webhook=active).count() == 1
