"""``publish()`` / ``publish_many()``: numbering under concurrency, atomicity with the caller,
after-commit fan-out."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from whatshybrid.realtime.jobs import events_prune_job
from whatshybrid.realtime.models import Event
from whatshybrid.realtime.publisher import batches, publish, publish_many, workspace_group
from whatshybrid.realtime.services import events_prune

WRITERS = 6
EVENTS_PER_WRITER = 15


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_gap_free_increasing_numbers(workspace, other_workspace, batch):
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(EVENTS_PER_WRITER):
                target = workspace if (index + i) % 3 else other_workspace
                with transaction.atomic():
                    if batch == 1:
                        publish(target, "contact:updated", {"writer": index, "i": i})
                    else:
                        publish_many(
                            target, [("contact:updated", {"writer": index, "i": i, "part": n}) for n in range(batch)]
                        )
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
        rows = list(Event.objects.filter(workspace=ws).order_by("id").values_list("seq", "payload"))
        # Gap-free, and numbered in insertion (= commit) order; a batch's events stay together.
        assert [seq for seq, _payload in rows] == list(range(1, len(rows) + 1))
        assert [payload.get("part", 0) for _seq, payload in rows] == [n % batch for n in range(len(rows))]
    assert Event.objects.count() == WRITERS * EVENTS_PER_WRITER * batch


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_writer_gives_its_number_back(workspace):
    publish(workspace, "a:b", {})
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_many(workspace, [("c:d", {}), ("c:e", {})])
        raise RuntimeError("the service failed after publishing")
    assert publish(workspace, "e:f", {}).seq == 2
    assert list(Event.objects.values_list("name", "seq")) == [("a:b", 1), ("e:f", 2)]


@pytest.mark.django_db
def test_fan_out_waits_for_commit(workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        publish(workspace, "contact:created", {"id": 1})
        publish_many(workspace, [("contact:updated", {"id": 1}), ("contact:deleted", {"id": 1})])
    assert len(callbacks) == 2  # one per call, however many events it carries


@pytest.mark.django_db
def test_publish_many_is_three_statements_and_no_savepoint(workspace):
    publish(workspace, "first:one", {})
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events = publish_many(workspace, [("a:one", {"n": 1}), ("a:two", {"n": 2}), ("a:three", {"n": 3})])
    # No savepoint of its own inside the caller's transaction: the counter bump, its read (with
    # the opted-in subscribers: none here, so the webhook outbox reads nothing), one insert of
    # all the rows.
    assert len(queries) == 3
    assert not any("SAVEPOINT" in query["sql"].upper() for query in queries)
    assert [(event.seq, event.name) for event in events] == [(2, "a:one"), (3, "a:two"), (4, "a:three")]
    stored = Event.objects.filter(workspace=workspace).order_by("seq").values_list("seq", "name", "payload")
    assert list(stored)[1:] == [(2, "a:one", {"n": 1}), (3, "a:two", {"n": 2}), (4, "a:three", {"n": 3})]
    assert publish_many(workspace, []) == []


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="publishers fan out themselves only on Redis")
@pytest.mark.django_db(transaction=True)
async def test_publish_many_fans_out_in_order_after_commit(workspace):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(workspace_group(workspace.pk), channel)

    def write() -> None:
        with transaction.atomic():
            publish_many(workspace, [("a:one", {"n": 1}), ("a:two", {"n": 2})])

    await database_sync_to_async(write)()
    batch = await asyncio.wait_for(layer.receive(channel), timeout=3)
    assert batch["type"] == "events.dispatch"  # one group send for the whole batch
    assert [(frame["event"], frame["seq"], frame["data"]) for frame in batch["events"]] == [
        ("a:one", 1, {"n": 1}),
        ("a:two", 2, {"n": 2}),
    ]
    await database_sync_to_async(lambda: publish(workspace, "a:three", {"n": 3}))()
    single = await asyncio.wait_for(layer.receive(channel), timeout=3)
    assert (single["type"], single["event"], single["seq"]) == ("event.dispatch", "a:three", 3)


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


@pytest.mark.django_db
def test_a_large_batch_is_stored_whole_and_in_order(workspace):
    names = [(f"bulk:{n}", {"n": n, "text": "ação"}) for n in range(1234)]
    events = publish_many(workspace, names)
    stored = list(Event.objects.filter(workspace=workspace).order_by("seq").values_list("pk", "seq", "name", "payload"))
    assert stored == [(event.pk, event.seq, event.name, event.payload) for event in events]
    assert [seq for _, seq, _, _ in stored] == list(range(1, 1235))
    assert stored[7][3] == {"n": 7, "text": "ação"}


@pytest.mark.django_db(transaction=True)
def test_batches_commit_each_chunk_and_release_the_counter_between_them(workspace):
    committed_before_next: list[int] = []
    for chunk in batches(range(7), 3):
        committed_before_next.append(Event.objects.filter(workspace=workspace).count())
        with transaction.atomic():
            publish_many(workspace, [("contact:created", {"n": n}) for n in chunk])
    # Each chunk saw the previous ones committed; the last chunk is the remainder.
    assert committed_before_next == [0, 3, 6]
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 8))
