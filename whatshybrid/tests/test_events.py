"""The event catalog matches what the code publishes and what the docs say; subscribers run
inside the publishing transaction or after its commit."""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import transaction

from whatshybrid import events
from whatshybrid.realtime.models import Event
from whatshybrid.realtime.publisher import opt_in_update, publish, publish_many
from whatshybrid.scheduling.models import ScheduleEntry

ROOT = Path(__file__).resolve().parents[2]
EVENT_NAME = re.compile(r"^[a-z_]+:[a-z_]+$")
PUBLISHERS = {"publish", "publish_many"}
TABLE = re.compile(r"<!-- event-catalog:start.*?-->\n(.*?)\n<!-- event-catalog:end -->", re.S)


def source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if not {"tests", ".venv", "node_modules", "bench"} & set(parts):
            yield path


def published_names() -> set[str]:
    """Every event-name literal in a function of the code that calls ``publish``/``publish_many``
    (the names are literals at the call or in the list of events the function passes)."""
    names = set()
    for path in source_files():
        for function in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            nodes = list(ast.walk(function))
            calls = {
                getattr(node.func, "id", getattr(node.func, "attr", None))
                for node in nodes
                if isinstance(node, ast.Call)
            }
            if calls & PUBLISHERS:
                names |= {
                    node.value
                    for node in nodes
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and EVENT_NAME.match(node.value)
                }
    return names


def test_the_catalog_lists_exactly_the_events_the_code_publishes():
    published = published_names()
    assert {"message:created", "contacts:imported", "task:reminder"} <= published  # the scan sees them
    assert sorted(published - set(events.EVENTS)) == [], "published but not in the catalog"
    assert sorted(set(events.EVENTS) - published) == [], "in the catalog but never published"
    assert all(event.description for event in events.EVENTS.values())


def test_the_docs_event_table_is_the_catalog():
    documented = TABLE.search((ROOT / "docs" / "realtime.md").read_text())
    assert documented, "docs/realtime.md lost its event-catalog markers"
    # On a mismatch, paste ``whatshybrid.events.event_table()`` between the markers.
    assert documented.group(1) == events.event_table()


def test_every_payload_builder_resolves():
    for event in events.EVENTS.values():
        if event.payload is None:
            continue
        module = event.payload.rsplit(".", 1)[0]
        pytest.importorskip(module, reason=f"{module} (the payload builders' new home) is not merged yet")
        assert callable(event.payload_builder), event.name


@pytest.fixture
def subscribers(monkeypatch):
    """Subscriptions made by a test stay in that test; the live fan-out stays subscribed."""
    monkeypatch.setattr(events, "_IN_TRANSACTION", list(events._IN_TRANSACTION))
    monkeypatch.setattr(events, "_AFTER_COMMIT", list(events._AFTER_COMMIT))


def outbox_writer(rows: list[Event]) -> None:
    """An in-transaction subscriber writing a row per event, as a webhooks outbox would."""
    ScheduleEntry.objects.bulk_create([ScheduleEntry(name=f"outbox-{row.seq}-{row.name}") for row in rows])


@pytest.mark.django_db(transaction=True)
def test_an_in_transaction_subscriber_commits_and_rolls_back_with_the_events(workspace, subscribers):
    events.subscribe_in_transaction(outbox_writer)
    with transaction.atomic():
        publish_many(workspace, [("contact:created", {}), ("contact:updated", {})])
    assert sorted(ScheduleEntry.objects.values_list("name", flat=True)) == [
        "outbox-1-contact:created",
        "outbox-2-contact:updated",
    ]

    with pytest.raises(RuntimeError), transaction.atomic():
        publish(workspace, "contact:deleted", {})
        assert ScheduleEntry.objects.filter(name="outbox-3-contact:deleted").exists()  # written inside
        raise RuntimeError("the service fails after publishing")
    assert not ScheduleEntry.objects.filter(name__startswith="outbox-3").exists()
    assert Event.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_opt_in_subscriber_runs_only_in_workspaces_that_opted_in(workspace, other_workspace, subscribers):
    events.subscribe_in_transaction(outbox_writer, opt_in="outbox")
    publish(workspace, "contact:created", {})
    assert not ScheduleEntry.objects.exists()

    opt_in_update(workspace.pk, "outbox", wanted=lambda: True)
    publish(workspace, "contact:updated", {})
    publish(other_workspace, "contact:updated", {})
    assert list(ScheduleEntry.objects.values_list("name", flat=True)) == ["outbox-2-contact:updated"]

    opt_in_update(workspace.pk, "outbox", wanted=lambda: False)
    publish(workspace, "contact:deleted", {})
    assert ScheduleEntry.objects.count() == 1
    assert [e.seq for e in Event.objects.filter(workspace=workspace).order_by("seq")] == [
        1,
        2,
        3,
    ]  # opting takes no number


@pytest.mark.django_db(transaction=True)
def test_a_raising_in_transaction_subscriber_fails_the_write(workspace, subscribers):
    def refuse(rows: list[Event]) -> None:
        raise ValueError("outbox full")

    events.subscribe_in_transaction(refuse)
    with pytest.raises(ValueError, match="outbox full"), transaction.atomic():
        publish(workspace, "contact:created", {})
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_after_commit_subscribers_run_once_after_commit_and_never_after_a_rollback(workspace, subscribers, caplog):
    seen: list[list[tuple[int, str]]] = []

    def broken(rows: list[Event]) -> None:
        raise RuntimeError("the analytics store is down")

    def record(rows: list[Event]) -> None:
        in_log = set(Event.objects.filter(pk__in=[row.pk for row in rows]).values_list("seq", flat=True))
        assert in_log == {row.seq for row in rows}  # committed: visible on a fresh read
        seen.append([(row.seq, row.name) for row in rows])

    events.subscribe_after_commit(broken)
    events.subscribe_after_commit(record)
    with pytest.raises(RuntimeError, match="the write fails"), transaction.atomic():
        publish(workspace, "contact:created", {})
        raise RuntimeError("the write fails")
    assert seen == []

    with caplog.at_level(logging.ERROR, logger="whatshybrid.events"), transaction.atomic():
        stored = publish_many(workspace, [("contact:created", {}), ("contact:updated", {})])
        assert seen == []  # not before the commit
    # The broken subscriber neither failed the write nor kept the next one from running.
    assert [(row.seq, row.name) for row in stored] == [(1, "contact:created"), (2, "contact:updated")]
    assert Event.objects.count() == 2
    assert seen == [[(1, "contact:created"), (2, "contact:updated")]]
    assert "the analytics store is down" in caplog.text


def test_an_event_registered_twice_differently_stops_startup(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setattr(events, "EVENTS", dict(events.EVENTS))
    created = events.EVENTS["contact:created"]
    events.register_event(created.name, created.description, payload=created.payload)  # ready() again
    with pytest.raises(ImproperlyConfigured, match="'contact:created' is registered twice"):
        events.register_event("contact:created", "something else")
