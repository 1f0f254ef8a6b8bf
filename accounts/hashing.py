"""Password hashing that other requests never wait on (issue 14.2).

A hash (PBKDF2, ~0.45 s of CPU) used to run on the request's HTTP thread: a burst of logins took
every HTTP thread and both cores, and another workspace's writes waited seconds for a thread and
then for a core. Now:

- Hashes run on ``PASSWORD_HASH_CONCURRENCY`` dedicated threads (``hashlib`` releases the GIL
  while it hashes, so they take a core, never the interpreter). On Linux those threads run at
  ``PASSWORD_HASH_NICE``: the kernel gives every request thread the CPU first, and hashes use
  what is left. The cost is that logins slow down while the machine is saturated by other work.
  Measured (``bench/run auth``, 2 cores at load 4-11, three alternating pairs): the p99 of another
  workspace's creates during a 60-client login burst was 1.17-1.79x the p99 alone at nice 10,
  1.78-11.5x at nice 0 (median 1.36x against 4.87x).
- At most ``PASSWORD_HASH_CONCURRENCY + PASSWORD_HASH_QUEUE`` requests hold a turn (each keeps
  its HTTP thread while its hash runs or waits); one more is refused at once, so a login flood
  holds a bounded number of HTTP threads and the others keep serving everyone else.
- The refusal is 429 ``SERVER_BUSY`` with ``Retry-After``, not 503: it is admission control of
  one endpoint family, working as designed, not a failing server. The extension retries a 429
  as it retries a 5xx (client contract), HTTP clients that honour ``Retry-After`` wait, and a 5xx
  would page operators and count against error budgets for what is a deliberate answer; the same
  choice as the "secondary rate limits" of large public APIs.
- Callers hash outside any transaction (on SQLite that is the database-wide write lock, on
  PostgreSQL a pooled connection held for the hash's time), and the request's connection is
  handed back while the hash runs.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.hashers import make_password, verify_password
from django.db import connection

from whatshybrid.api.errors import ApplicationError


class HashingBusy(ApplicationError):
    status_code = 429
    default_code = "SERVER_BUSY"


def _lower_priority() -> None:
    # Linux keeps a nice value per thread (setpriority on the thread id); elsewhere the id would
    # name a process, so nothing is changed. Raising it back needs privileges: these threads
    # only ever hash.
    if settings.PASSWORD_HASH_NICE and sys.platform.startswith("linux"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), settings.PASSWORD_HASH_NICE)


_hash_threads = ThreadPoolExecutor(
    max_workers=settings.PASSWORD_HASH_CONCURRENCY, thread_name_prefix="password-hash", initializer=_lower_priority
)
_turns_lock = threading.Lock()
_turns_taken = 0
_holder = threading.local()


@contextmanager
def hashing_turn() -> Iterator[None]:
    """A turn to hash, taken before anything else a login does (a refusal costs no attempt)."""
    global _turns_taken
    with _turns_lock:
        admitted = _turns_taken < settings.PASSWORD_HASH_CONCURRENCY + settings.PASSWORD_HASH_QUEUE
        if admitted:
            _turns_taken += 1
    if not admitted:
        raise HashingBusy("Too many sign-ins at once; try again in a moment.", headers={"Retry-After": "1"})
    _holder.turn = True
    try:
        yield
    finally:
        _holder.turn = False
        with _turns_lock:
            _turns_taken -= 1


def _on_hash_thread[T](work: Callable[..., T], *args: str) -> T:
    if not getattr(_holder, "turn", False):
        raise RuntimeError("password hashed outside hashing_turn(): nothing bounds how many wait")
    if not connection.in_atomic_block:
        connection.close()  # back to the pool meanwhile; the next query reconnects
    return _hash_threads.submit(work, *args).result()


def password_encode(password: str) -> str:
    return _on_hash_thread(make_password, password)


def password_verify(password: str, encoded: str) -> tuple[bool, bool]:
    """``(correct, must_update)``: Django's check, the hash upgrade left to the caller."""
    return _on_hash_thread(verify_password, password, encoded)
