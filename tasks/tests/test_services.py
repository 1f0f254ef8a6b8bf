from __future__ import annotations

import datetime

import pytest

from contacts.tests.factories import contact_factory
from tasks import services
from tasks.models import Task
from tasks.tests.factories import deal_factory, task_factory
from whatshybrid.api.errors import ApplicationError
from whatshybrid.realtime.models import Event

pytestmark = pytest.mark.django_db


def test_services_refuse_another_workspaces_contact_or_deal(workspace, other_workspace):
    with pytest.raises(ApplicationError):
        services.task_create(workspace=workspace, title="t", contact=contact_factory(workspace=other_workspace))
    task = task_factory(workspace=workspace)
    with pytest.raises(ApplicationError):
        services.task_update(task=task, data={"deal": deal_factory(workspace=other_workspace)})
    assert list(Task.objects.filter(workspace=workspace)) == [task]
    assert Task.objects.get(pk=task.pk).deal_id is None


def test_due_date_switches_between_day_and_instant(workspace):
    task = task_factory(workspace=workspace, due_date=datetime.date(2030, 1, 1))
    assert (task.due_day, task.due_at) == (datetime.date(2030, 1, 1), None)
    instant = datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.UTC)
    task = services.task_update(task=task, data={"due_date": instant})
    assert (task.due_day, task.due_at) == (None, instant)


def test_created_completed_task_is_stamped_and_announced_once(workspace):
    task = task_factory(workspace=workspace, status="completed")
    assert task.completed_at is not None
    services.task_complete(task=task)
    names = list(Event.objects.filter(workspace=workspace).values_list("name", flat=True))
    assert names == ["task:created", "task:completed"]
