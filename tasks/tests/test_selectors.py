"""Overdue around midnight: a date-only task is due all of its local day, an instant is exact."""

from __future__ import annotations

import datetime

import pytest

from tasks.models import Task
from tasks.selectors import overdue_condition, parse_due
from tasks.tests.factories import task_factory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# São Paulo is UTC-3 all year: local midnight of 2026-11-30 is 03:00Z.
LOCAL_MIDNIGHT = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
TICK = datetime.timedelta(microseconds=1)


def overdue_titles(workspace, now: datetime.datetime) -> set[str]:
    rows = Task.objects.filter(workspace=workspace).filter(overdue_condition(workspace, now))
    return set(rows.values_list("title", flat=True))


@pytest.fixture
def around_midnight(workspace):
    task_factory(workspace=workspace, title="day 28", due_date=datetime.date(2026, 11, 28))
    task_factory(workspace=workspace, title="day 29", due_date=datetime.date(2026, 11, 29))
    task_factory(workspace=workspace, title="day 30", due_date=datetime.date(2026, 11, 30))
    task_factory(workspace=workspace, title="at 23:30 local", due_date=LOCAL_MIDNIGHT - datetime.timedelta(minutes=30))
    task_factory(workspace=workspace, title="at local midnight", due_date=LOCAL_MIDNIGHT)
    return workspace


def test_late_evening_in_sao_paulo_is_already_tomorrow_in_utc(around_midnight):
    # 23:45 on the 29th in São Paulo, 02:45Z on the 30th: the 29th is still today locally.
    now = LOCAL_MIDNIGHT - datetime.timedelta(minutes=15)
    assert overdue_titles(around_midnight, now) == {"day 28", "at 23:30 local"}


def test_the_day_becomes_overdue_exactly_at_local_midnight(around_midnight):
    assert overdue_titles(around_midnight, LOCAL_MIDNIGHT - TICK) == {"day 28", "at 23:30 local"}
    assert overdue_titles(around_midnight, LOCAL_MIDNIGHT) == {"day 28", "day 29", "at 23:30 local"}
    assert overdue_titles(around_midnight, LOCAL_MIDNIGHT + TICK) == {
        "day 28",
        "day 29",
        "at 23:30 local",
        "at local midnight",
    }


def test_the_same_instant_in_a_utc_workspace_has_passed_the_29th(around_midnight):
    around_midnight.timezone = "UTC"
    now = LOCAL_MIDNIGHT - datetime.timedelta(minutes=15)
    assert overdue_titles(around_midnight, now) == {"day 28", "day 29", "at 23:30 local"}


def test_finished_tasks_are_never_overdue(workspace):
    for status in ("completed", "cancelled"):
        task_factory(workspace=workspace, title=status, status=status, due_date=datetime.date(2020, 1, 1))
    task_factory(workspace=workspace, title="in_progress", status="in_progress", due_date=datetime.date(2020, 1, 1))
    assert overdue_titles(workspace, LOCAL_MIDNIGHT) == {"in_progress"}


def test_parse_due_reads_dates_offsets_and_local_wall_time(workspace):
    assert parse_due("2026-11-29", workspace=workspace) == datetime.date(2026, 11, 29)
    assert parse_due("2026-11-29T23:30:00", workspace=workspace) == LOCAL_MIDNIGHT - datetime.timedelta(minutes=30)
    assert parse_due("2026-11-30T03:00:00Z", workspace=workspace) == LOCAL_MIDNIGHT
    assert parse_due("2026-11-30T03:00:00.000Z", workspace=workspace) == LOCAL_MIDNIGHT
    for bad in ("29/11/2026", "2026-02-30", "", "tomorrow", "2026-11-29T25:00"):
        with pytest.raises(ValueError):
            parse_due(bad, workspace=workspace)
