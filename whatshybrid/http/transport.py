"""The transport under ``whatshybrid.http.request``: connection pools that dial the vetted address
(keeping the URL's host name for Host, SNI and the certificate), and a deadline that bounds a
whole call."""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    from whatshybrid.http import VettedTarget

_running_call: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("whl_http_call", default=None)


class Deadline:
    """requests has per-operation timeouts only; this bounds a call's total time by shutting its
    socket down when the deadline passes, which fails whatever read or write is blocked on it."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._seconds = seconds
        self._connection: HTTPConnection | None = None
        self._finished = False
        self.expired = False

    def __enter__(self) -> Deadline:
        self._token = _running_call.set(self)
        _DEADLINES.add(self, time.monotonic() + self._seconds)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _running_call.reset(self._token)
        with self._lock:
            self._finished = True  # the watcher drops it when its time comes
            self._connection = None

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            if self.expired:
                self._abort()

    def _expire(self) -> None:
        with self._lock:
            if not self._finished:
                self.expired = True
                self._abort()

    def _abort(self) -> None:
        sock = getattr(self._connection, "sock", None)
        if sock is not None:
            # The plain socket's shutdown, also under TLS: SSLSocket.shutdown would tear down its
            # SSL object under the thread reading from it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class DeadlineWatcher:
    """One thread expires the deadlines of every call in the process. A timer thread per call
    cost more than a whole loopback call (its start, and its exit competing with the caller for
    the GIL right after the answer); this thread sleeps until the earliest deadline is due."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, Deadline]] = []  # a heap: (monotonic time, order, deadline)
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline, at: float) -> None:
        with self._wake:
            heapq.heappush(self._due, (at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # first call, or a forked child
                self._thread = threading.Thread(target=self._run, name="whl-http-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is deadline:  # due before the time the thread sleeps until
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                now = time.monotonic()
                due = []
                while self._due and self._due[0][0] <= now:
                    due.append(heapq.heappop(self._due)[2])
                if not due:
                    self._wake.wait(self._due[0][0] - now if self._due else None)
                    continue
            for deadline in due:
                deadline._expire()  # a no-op for a call that has finished


_DEADLINES = DeadlineWatcher()


class _WatchedConnection:
    """Puts each connection under the running call's deadline (connect covers a new TLS
    handshake; request covers a reused connection)."""

    def connect(self) -> None:
        self._watch()
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._watch()
        super().request(*args, **kwargs)  # type: ignore[misc]

    def _watch(self) -> None:
        call = _running_call.get()
        if call is not None:
            call.watch(self)  # type: ignore[arg-type]


class _HTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class VettedRequest(requests.PreparedRequest):
    target: VettedTarget


class _VettedAdapter(HTTPAdapter):
    """Pools keyed by the vetted IP (and, for TLS, the host name it must present); urllib3's pool
    manager is thread-safe and reuses connections per key."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> HTTPConnectionPool:
        target = request.target  # type: ignore[attr-defined]
        _host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if target.scheme == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": target.host, "assert_hostname": target.host}
        return self.poolmanager.connection_from_host(
            host=target.address, port=target.port, scheme=target.scheme, pool_kwargs=pool_kwargs
        )


ADAPTER = _VettedAdapter(pool_connections=32, pool_maxsize=64, max_retries=0)
