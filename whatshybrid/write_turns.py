"""Turns at SQLite's write lock for agents' requests while batch work runs.

SQLite gives its write lock to whichever waiting connection polls first, and a waiter polls on a
growing back-off (``busy_timeout``: 1, 2, 5 ... 100 ms), so a batch job that commits a chunk and
begins the next at once keeps the lock nearly all the time and agents' writes stall behind it.
Pausing after every chunk lets them in but, with nobody waiting, doubled an import's time
(``bench_contacts``: 4.8x the ORM's ``bulk_create`` against 2.3x without the pause).

So requests that may write say so: each holds a shared ``flock`` on a file beside the database
while it runs (``WriterTurnMiddleware``), and ``batches()`` calls ``let_writers_in()`` between
chunks, which waits only while such a request is in flight. A lock file, not process memory,
because the importer runs in the background worker, another process. PostgreSQL queues lock
waiters in order and needs none of this.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connection
from django.http import HttpRequest, HttpResponse

# Bounds the wait for a request that holds its turn for long without writing (an AI call waiting
# on its provider): the batch then goes on as if that request were waiting for the lock.
_WAIT_CAP_SECONDS = 0.1
_POLL_SECONDS = 0.002
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_announced = threading.local()


def _lock_file() -> int:
    return os.open(f"{connection.settings_dict['NAME']}-writers", os.O_RDWR | os.O_CREAT, 0o600)


class WriterTurnMiddleware:
    """Holds the request's shared turn lock while a request that may write (any method but GET,
    HEAD and OPTIONS) runs; only on SQLite."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.DATABASE_IS_SQLITE:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in _SAFE_METHODS:
            return self.get_response(request)
        descriptor = _lock_file()
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH)
            _announced.descriptor = descriptor
            return self.get_response(request)
        finally:
            _announced.descriptor = None
            os.close(descriptor)  # closing releases the lock


def let_writers_in() -> None:
    """Returns once no request announced by ``WriterTurnMiddleware`` is in flight (at most
    ``_WAIT_CAP_SECONDS`` later); immediately when none is. Call it between committed chunks."""
    own = getattr(_announced, "descriptor", None)
    if own is not None:  # batch work inside a request must not wait for its own turn
        fcntl.flock(own, fcntl.LOCK_UN)
    descriptor = _lock_file()
    deadline = time.monotonic() + _WAIT_CAP_SECONDS
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(_POLL_SECONDS)
    finally:
        os.close(descriptor)
        if own is not None:
            fcntl.flock(own, fcntl.LOCK_SH)
