"""SQLite: requests that may write hold a turn, batch work takes turns with them chunk by chunk."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.db.models.signals import pre_save
from django.http import HttpResponse
from django.test import RequestFactory

from contacts.models import Contact
from whatshybrid import write_turns
from whatshybrid.realtime.publisher import batches
from whatshybrid.write_turns import WriterTurnMiddleware, batch_turn

pytestmark = pytest.mark.skipif(not settings.DATABASE_IS_SQLITE, reason="turns exist for SQLite's write lock only")


def _turn_taken(suffix: str = "-writers") -> bool:
    """Whether some request holds its turn (or, with ``-batch``, a chunk runs), seen from a
    descriptor of our own."""
    descriptor = write_turns._lock_file(suffix)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)


class _HeldRequest:
    """A POST inside ``WriterTurnMiddleware`` that stays in its view until ``finish()``."""

    def __init__(self, method: str = "POST", *, wait_inside: bool = True) -> None:
        self.inside, self.release = threading.Event(), threading.Event()

        def view(request):
            self.inside.set()
            self.release.wait(30)
            return HttpResponse("ok")

        request = RequestFactory().generic(method, "/api/v1/contacts")
        self.thread = threading.Thread(target=WriterTurnMiddleware(view), args=(request,))
        self.thread.start()
        if wait_inside:
            assert self.inside.wait(10)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(10)


def _in_thread(function) -> threading.Thread:
    thread = threading.Thread(target=function)
    thread.start()
    return thread


def _one_chunk() -> None:
    with batch_turn():
        pass


class _HeldChunk:
    """Batch work inside its turn until ``finish()``."""

    def __init__(self) -> None:
        self.inside, self.release = threading.Event(), threading.Event()

        def chunk():
            with batch_turn():
                self.inside.set()
                self.release.wait(30)

        self.thread = _in_thread(chunk)
        assert self.inside.wait(10)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(10)


@pytest.fixture
def long_cap(monkeypatch):
    monkeypatch.setattr(write_turns, "_WAIT_CAP_SECONDS", 60)
    monkeypatch.setattr(write_turns, "_REQUEST_WAIT_CAP_SECONDS", 60)


@pytest.mark.django_db
def test_with_no_request_in_flight_the_batch_goes_on_at_once(long_cap):
    waiter = _in_thread(_one_chunk)
    waiter.join(10)
    assert not waiter.is_alive()


@pytest.mark.django_db
def test_a_chunk_holds_the_turn_while_it_runs_and_gives_it_back(long_cap):
    chunk = _HeldChunk()
    assert _turn_taken("-batch")
    assert not _turn_taken()  # requests still announce themselves at once
    chunk.finish()
    assert not _turn_taken("-batch")


@pytest.mark.django_db
def test_the_batch_waits_until_a_writing_request_has_finished(long_cap):
    held = _HeldRequest()
    assert _turn_taken()
    waiter = _in_thread(_one_chunk)
    waiter.join(0.3)
    assert waiter.is_alive()  # far below the (patched) cap: it is waiting for the request
    held.finish()
    waiter.join(10)
    assert not waiter.is_alive()
    assert not _turn_taken()


@pytest.mark.django_db
def test_a_request_that_holds_its_turn_for_long_delays_the_batch_only_up_to_the_cap(monkeypatch):
    monkeypatch.setattr(write_turns, "_WAIT_CAP_SECONDS", 0.05)
    held = _HeldRequest()
    try:
        waiter = _in_thread(_one_chunk)
        waiter.join(10)
        assert not waiter.is_alive()
        assert _turn_taken()  # the request keeps its turn
    finally:
        held.finish()


@pytest.mark.django_db
def test_a_writing_request_that_arrives_during_a_chunk_starts_when_the_chunk_ends(long_cap):
    chunk = _HeldChunk()
    held = _HeldRequest(wait_inside=False)
    try:
        assert not held.inside.wait(0.3)  # far below the (patched) cap: it waits for the chunk
        chunk.finish()
        assert held.inside.wait(1)
    finally:
        held.finish()
        chunk.finish()


@pytest.mark.django_db
def test_a_request_waits_for_a_long_chunk_only_up_to_its_cap(monkeypatch):
    monkeypatch.setattr(write_turns, "_REQUEST_WAIT_CAP_SECONDS", 0.05)
    chunk = _HeldChunk()
    held = _HeldRequest(wait_inside=False)
    try:
        assert held.inside.wait(10)  # the chunk still runs: SQLite's own lock decides from here
    finally:
        held.finish()
        chunk.finish()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reading_requests_take_no_turn(method):
    held = _HeldRequest(method)
    try:
        assert not _turn_taken()
    finally:
        held.finish()


@pytest.mark.django_db
def test_batch_work_inside_a_request_does_not_wait_for_its_own_turn_and_keeps_it(long_cap):
    seen = {}

    def view(request):
        chunks = []
        for chunk in batches(range(5), 2):
            chunks.append(list(chunk))
            seen.setdefault("nested", [list(inner) for inner in batches(chunk, 1)])  # in its parent's turn
        seen["chunks"] = chunks
        seen["still_holding"] = _turn_taken()
        return HttpResponse("ok")

    worker = _in_thread(lambda: WriterTurnMiddleware(view)(RequestFactory().post("/api/v1/contacts/import")))
    worker.join(10)
    assert not worker.is_alive()
    assert seen == {"chunks": [[0, 1], [2, 3], [4]], "nested": [[0], [1]], "still_holding": True}
    assert not _turn_taken()


@pytest.mark.django_db
def test_a_write_through_the_api_holds_its_turn_while_it_writes(api_client):
    # The real stack: the middleware is installed and a POST's database write happens inside it.
    turns_while_saving = []

    def record(sender, **kwargs):
        turns_while_saving.append(_turn_taken())

    pre_save.connect(record, sender=Contact)
    try:
        response = api_client.post("/api/v1/contacts", {"phone": "+5511987654321", "name": "Ana"})
    finally:
        pre_save.disconnect(record, sender=Contact)
    assert response.status_code == 201
    assert turns_while_saving == [True]
    assert not _turn_taken()
    assert os.path.exists(f"{connection.settings_dict['NAME']}-writers")


@pytest.mark.django_db
def test_chunks_shrink_to_a_quarter_while_agents_write_and_stay_whole_without_them(monkeypatch):
    monkeypatch.setattr(write_turns, "_WAIT_CAP_SECONDS", 0.01)
    assert [len(chunk) for chunk in batches(range(20), 8)] == [8, 8, 4]
    held = _HeldRequest()
    try:
        assert [len(chunk) for chunk in batches(range(9), 8)] == [2, 2, 2, 2, 1]
    finally:
        held.finish()
