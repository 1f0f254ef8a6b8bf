"""CRM rows for tests, made through the services the API uses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from accounts.models import Workspace
from contacts.tests.factories import contact_factory
from crm import services
from crm.models import Deal, PipelineStage


def stage_named(workspace: Workspace, name: str) -> PipelineStage:
    return PipelineStage.objects.get(workspace=workspace, name=name)


def deal_factory(*, workspace: Workspace, contact: Any = None, title: str = "Deal", **fields: Any) -> Deal:
    fields.setdefault("value", Decimal("100.00"))
    return services.deal_create(
        workspace=workspace, contact=contact or contact_factory(workspace=workspace), title=title, **fields
    )
