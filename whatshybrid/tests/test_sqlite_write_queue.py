"""SQLite write transactions queue on ``<database>-write`` (``whatshybrid.db_backends.sqlite3``):
a second writer waits there, not in SQLite's back-off, begins as soon as the first ends however
it ends, and a wait past the connection's timeout fails instead of hanging."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import OperationalError, connection, transaction

from accounts.models import Workspace
from whatshybrid.tests.test_write_turns import _turn_taken

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock only"),
]


def queue_is_held() -> bool:
    return _turn_taken("-write")


def in_thread(work: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_a_second_writer_waits_in_the_queue_and_begins_when_the_first_ends(ending: str) -> None:
    first_in, release, second_began = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with transaction.atomic():
            Workspace.objects.create(name="first")
            first_in.set()
            release.wait(10)
            if ending == "rollback":
                raise RuntimeError("rolled back")

    def second() -> None:
        first_in.wait(10)
        with transaction.atomic():
            second_began.set()
            Workspace.objects.create(name="second")

    first_thread, first_errors = in_thread(first)
    assert first_in.wait(10)
    assert queue_is_held()
    second_thread, second_errors = in_thread(second)
    assert not second_began.wait(0.3), "the second writer began while the first held the lock"
    release.set()
    first_thread.join(10)
    second_thread.join(10)
    assert second_began.is_set() and not second_errors
    assert [type(error) for error in first_errors] == ([RuntimeError] if ending == "rollback" else [])
    expected = {"second"} if ending == "rollback" else {"first", "second"}
    assert set(Workspace.objects.filter(name__in=["first", "second"]).values_list("name", flat=True)) == expected
    assert not queue_is_held()


def test_a_wait_past_the_timeout_fails_instead_of_hanging() -> None:
    first_in, release = threading.Event(), threading.Event()

    def first() -> None:
        with transaction.atomic():
            Workspace.objects.create(name="holder")
            first_in.set()
            release.wait(10)

    def second() -> None:
        # This connection's own copy: the settings dict is shared by every connection.
        options = {**connection.settings_dict["OPTIONS"], "timeout": 0.2}
        connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 100")
        with transaction.atomic():
            Workspace.objects.create(name="waiter")

    first_thread, _ = in_thread(first)
    assert first_in.wait(10)
    try:
        second_thread, second_errors = in_thread(second)
        second_thread.join(10)
        assert not second_thread.is_alive()
        assert len(second_errors) == 1 and isinstance(second_errors[0], OperationalError), second_errors
        assert "locked" in str(second_errors[0])
    finally:
        release.set()
        first_thread.join(10)
    assert not Workspace.objects.filter(name="waiter").exists()
