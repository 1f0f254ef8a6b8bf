"""``publish()``: numbering under concurrency, atomicity with the caller, after-commit fan-out."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from whatshybrid.realtime.jobs import events_prune_job
from whatshybrid.realtime.models import Event
from whatshybrid.realtime.publisher import publish
from whatshybrid.realtime.services import events_prune

WRITERS = 6
EVENTS_PER_WRITER = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_gap_free_increasing_numbers(workspace, other_workspace):
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(EVENTS_PER_WRITER):
                target = workspace if (index + i) % 3 else other_workspace
                with transaction.atomic():
                    publish(target, "contact:updated", {"writer": index, "i": i})
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    for ws in (workspace, other_workspace):
        rows = list(Event.objects.filter(workspace=ws).order_by("id").values_list("seq", flat=True))
        # Gap-free, and numbered in insertion (= commit) order.
        assert rows == list(range(1, len(rows) + 1))
    assert Event.objects.count() == WRITERS * EVENTS_PER_WRITER


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_writer_gives_its_number_back(workspace):
    publish(workspace, "a:b", {})
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(workspace, "c:d", {})
        raise RuntimeError("the service failed after publishing")
    assert publish(workspace, "e:f", {}).seq == 2
    assert list(Event.objects.values_list("name", "seq")) == [("a:b", 1), ("e:f", 2)]


@pytest.mark.django_db
def test_fan_out_waits_for_commit(workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        publish(workspace, "contact:created", {"id": 1})
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_pruning_drops_only_events_past_retention(workspace, other_workspace, settings):
    old = publish(workspace, "old:one", {})
    old_foreign = publish(other_workspace, "old:two", {})
    fresh = publish(workspace, "fresh:one", {})
    Event.objects.filter(pk__in=[old.pk, old_foreign.pk]).update(
        created_at=timezone.now() - settings.EVENT_RETENTION - timedelta(hours=1)
    )
    assert events_prune(workspace_id=other_workspace.pk) == 1
    assert events_prune_job.call() == 1
    assert events_prune_job.call() == 0  # idempotent
    assert list(Event.objects.values_list("pk", flat=True)) == [fresh.pk]
    # Numbering continues after pruning: sequence numbers are never reused.
    assert publish(workspace, "after:prune", {}).seq == 3


@pytest.mark.django_db
def test_prune_command_reports_the_count(workspace, settings, capsys):
    event = publish(workspace, "old:one", {})
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - settings.EVENT_RETENTION - timedelta(days=1))
    call_command("prune_events")
    assert "Deleted 1 events." in capsys.readouterr().out
    assert not Event.objects.exists()
