"""Turns at SQLite's write lock for agents' requests while batch work runs.

SQLite gives its write lock to whichever waiting connection polls first, and a waiter polls on a
growing back-off (``busy_timeout``: 1, 2, 5 ... 100 ms), so a batch job that commits a chunk and
begins the next at once keeps the lock nearly all the time and agents' writes stall behind it.
Pausing after every chunk lets them in but, with nobody waiting, doubled an import's time
(``bench_contacts``: 4.8x the ORM's ``bulk_create`` against 2.3x without the pause).

So both sides say what they do, on two files beside the database (files, not process memory,
because the importer runs in the background worker, another process):

- a request that may write holds a shared ``flock`` on ``<database>-writers`` while it runs
  (``WriterTurnMiddleware``); it never waits for it;
- batch work holds ``<database>-batch`` exclusively while it writes a chunk (``batch_turn()``,
  which ``batches()`` wraps around every chunk), and before each chunk it waits while requests
  are in flight, so between two chunks the agents that arrived during the first write first;
- a request that arrives during a chunk waits for the chunk's end on ``-batch``, polled every
  2 ms, rather than on SQLite's back-off, so it starts right after the chunk has committed
  instead of up to 100 ms later.

Two files because a request cannot wait on the lock the batch takes between chunks: the batch
would take it again at once, and the request would starve. Both waits are capped: past the cap
each side goes on and SQLite's own lock decides. PostgreSQL queues lock waiters in order and
needs none of this.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connection
from django.http import HttpRequest, HttpResponse

# Bounds the batch's wait for a request that holds its turn for long without writing (an AI call
# waiting on its provider): the chunk then goes on as if that request were waiting for the lock.
_WAIT_CAP_SECONDS = 0.1
# Bounds a request's wait for a chunk that runs long (chunks are sized to take about as long as
# a request): the request then goes on and waits for the database's write lock instead.
_REQUEST_WAIT_CAP_SECONDS = 1.0
_POLL_SECONDS = 0.002
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_announced = threading.local()


def _lock_file(suffix: str = "-writers") -> int:
    return os.open(f"{connection.settings_dict['NAME']}{suffix}", os.O_RDWR | os.O_CREAT, 0o600)


def take_lock(descriptor: int, operation: int, seconds: float, *, poll: float = _POLL_SECONDS) -> bool:
    """Polls for the lock rather than blocking on it, so that the wait can be capped."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(descriptor, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)


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
            _wait_for_chunk()
            return self.get_response(request)
        finally:
            _announced.descriptor = None
            os.close(descriptor)  # closing releases the lock


def _wait_for_chunk() -> None:
    descriptor = _lock_file("-batch")
    try:
        take_lock(descriptor, fcntl.LOCK_SH, _REQUEST_WAIT_CAP_SECONDS)
    finally:
        os.close(descriptor)


@dataclass
class Turn:
    """``alone``: no request was in flight when the turn began (always true off SQLite)."""

    alone: bool = True


@contextlib.contextmanager
def batch_turn() -> Iterator[Turn]:
    """Holds the batch's turn while the caller writes one chunk of batch work (SQLite only): it
    starts once no request announced by ``WriterTurnMiddleware`` is in flight (at most
    ``_WAIT_CAP_SECONDS`` later), and requests that arrive meanwhile wait for its end. Commit the
    chunk inside the block."""
    if not settings.DATABASE_IS_SQLITE or getattr(_announced, "in_chunk", False):
        yield Turn()  # nested batch work (a chunk that calls a batching service) runs in its parent's turn
        return
    turn = Turn(alone=_wait_for_writers())
    chunk = _lock_file("-batch")
    try:
        take_lock(chunk, fcntl.LOCK_EX, _WAIT_CAP_SECONDS)
        _announced.in_chunk = True
        yield turn
    finally:
        _announced.in_chunk = False
        os.close(chunk)


def _wait_for_writers() -> bool:
    """Whether no request was in flight, once none is (or the cap has passed)."""
    own = getattr(_announced, "descriptor", None)
    if own is not None:  # batch work inside a request must not wait for its own turn
        fcntl.flock(own, fcntl.LOCK_UN)
    writers = _lock_file()
    try:
        if take_lock(writers, fcntl.LOCK_EX, 0):
            return True
        take_lock(writers, fcntl.LOCK_EX, _WAIT_CAP_SECONDS)
        return False
    finally:
        os.close(writers)
        if own is not None:
            fcntl.flock(own, fcntl.LOCK_SH)
