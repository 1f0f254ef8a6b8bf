"""Django's SQLite backend, with write transactions that queue on a lock file.

SQLite hands its write lock to whichever waiting connection polls first, and a waiter polls on
``busy_timeout``'s back-off (sleeps of 1, 2, 5 ... 100 ms), so a writer often sleeps on past the
moment the lock came free. With the API in several processes (``whatshybrid.wsgi_processes``)
writers meet there on every request.

Here ``BEGIN IMMEDIATE`` first takes an exclusive ``flock`` on ``<database>-write``, polled every
0.25 ms, and the transaction's end releases it: a waiter begins within a quarter of a millisecond
of the previous writer's commit. SQLite's lock, now uncontended among this backend's
connections, still guards against every other writer (the ``sqlite3`` shell, say), with the
back-off as before. The wait is capped at the connection's ``timeout`` (SQLite's busy timeout):
past it the transaction goes on to SQLite's lock, which then fails it as it would have, so a
transaction held open by mistake makes another writer fail, never hang.

These are private hooks of Django's backend (where a transaction begins, commits, rolls back and
the connection closes), fenced in this one module because of what they buy: ``POST /contacts``
from 16 clients (``wrk``, ``manage.py serve`` with two HTTP workers, 3 alternating pairs of 8 s,
3 December 2026) had a p99 of 108-120 ms against 591-598 ms on Django's own backend, and 230-264
requests per second against 184-239 (medians 252 and 194). A write outside
``transaction.atomic`` (an autocommit ``UPDATE``) does not queue and meets the back-off as before.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base

from whatshybrid.write_turns import take_lock

_POLL_SECONDS = 0.00025


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_queue: int | None = None  # the lock file, open while this connection holds it

    def _start_transaction_under_autocommit(self) -> None:
        descriptor = os.open(f"{self.settings_dict['NAME']}-write", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            take_lock(descriptor, fcntl.LOCK_EX, self.settings_dict["OPTIONS"].get("timeout", 5), poll=_POLL_SECONDS)
            super()._start_transaction_under_autocommit()
        except BaseException:
            os.close(descriptor)
            raise
        self._write_queue = descriptor

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._leave_write_queue()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._leave_write_queue()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._leave_write_queue()

    def _leave_write_queue(self) -> None:
        if self._write_queue is not None:
            descriptor, self._write_queue = self._write_queue, None
            os.close(descriptor)  # closing releases the lock
