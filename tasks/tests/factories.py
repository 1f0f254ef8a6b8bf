"""Tasks for tests, made through the service the API uses."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import Workspace
from contacts.tests.factories import contact_factory
from crm.models import Deal, PipelineStage
from tasks import services
from tasks.models import Task

_numbers = itertools.count(1)


def task_factory(*, workspace: Workspace, **fields: Any) -> Task:
    fields.setdefault("title", f"Task {next(_numbers)}")
    return services.task_create(workspace=workspace, **fields)


def deal_factory(*, workspace: Workspace, title: str = "Venda") -> Deal:
    """A deal to link tasks to (rows made directly: tasks only need one to point at)."""
    stage = PipelineStage.objects.filter(workspace=workspace).order_by("position").first()
    if stage is None:
        stage = PipelineStage.objects.create(workspace=workspace, name="Lead", position=0)
    return Deal.objects.create(
        workspace=workspace, contact=contact_factory(workspace=workspace), title=title, stage=stage
    )
