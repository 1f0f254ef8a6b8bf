"""Runs the API's WSGI calls in worker processes, one per core, behind the one event loop.

Python runs one thread at a time per process, so in one process the whole API gets one core
however many threads it has: every 1,000-contact row of ``bench/side_by_side`` used 1.0 core
while the second stayed idle (issue 15). Here the serving process keeps the event loop (HTTP
parsing, websockets, Socket.IO sessions, the event relay) and hands each request's WSGI call
(middleware, view, response) to a worker process, which runs it on the same two thread pools that
``WsgiBridge`` uses in one process. Nothing that lives on the event loop (a polling session, a
socket) ever has to be found in another process; the rate-limit counters live in the cache that
every process shares (settings: CACHES).

Workers are forked by a spawner, itself forked from the serving process once Django and the
URLconf are loaded and before any thread starts. They share that memory copy-on-write
(``gc.freeze`` in ``whatshybrid.asgi`` keeps the collector from writing to it), and a worker that
dies is replaced by another fork of the same loaded, single-threaded state: never a fork of the
serving process once it runs threads, which would keep locks those threads held.

On the wire (a unix socket pair per worker), each way a 4-byte length and a pickle: to the
worker ``(request id, runs long, environ, body)``, back ``(request id, status, headers, body,
published)``. ``published`` says the request committed events, so the relay polls the event log
at once (rows from other processes otherwise wait for its next tick).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import itertools
import json
import logging
import os
import pickle
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from django.db import connections

from whatshybrid.realtime.hub import relay

if TYPE_CHECKING:
    from whatshybrid.wsgi_bridge import ThreadPools

logger = logging.getLogger(__name__)

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
_LENGTH = struct.Struct("!I")
# A worker that keeps dying right after its fork (a broken deploy) is not re-forked in a tight loop.
RESPAWN_DELAY_SECONDS = 1.0
# How long a stop waits for each worker to answer the requests it holds.
CLOSE_WAIT_SECONDS = 10.0


class WorkerLost(Exception):
    """The worker running a request exited before it answered."""


class WorkerProcesses:
    """The serving process's side: forks ``count`` workers running ``serve`` and sends each
    request to the one with the fewest requests in flight."""

    def __init__(self, count: int, serve: Callable[[socket.socket], None]) -> None:
        connections.close_all()  # a connection open across a fork would be shared by two processes
        self._spawner = _start_spawner(serve)
        self._spawn_lock = threading.Lock()
        self._workers = [self._spawn() for _ in range(count)]
        self._opened: asyncio.Task[None] | None = None
        self._replacing: set[asyncio.Task[None]] = set()  # referenced until done, or the loop may drop them
        self._closing = False

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self._workers]

    async def call(self, environ: dict[str, Any], body: bytes, long: bool) -> Answer:
        if self._opened is None:
            self._opened = asyncio.ensure_future(asyncio.gather(*(w.open(self._lost) for w in self._workers)))
        await asyncio.shield(self._opened)
        ready = [worker for worker in self._workers if worker.open_]
        if not ready:
            raise WorkerLost  # every worker died at once; their replacements are on the way
        return await min(ready, key=lambda worker: len(worker.pending)).call(environ, body, long)

    async def close(self) -> None:
        """Stops the workers once they have answered what they hold (the server has stopped
        taking requests), then the spawner."""
        self._closing = True
        for worker in list(self._workers):
            await worker.close()
        self._spawner.close()

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        with self._spawn_lock:
            socket.send_fds(self._spawner, [b"w"], [theirs.fileno()])
            (pid,) = _LENGTH.unpack(self._spawner.recv(_LENGTH.size, socket.MSG_WAITALL))
        theirs.close()
        return _Worker(pid, ours)

    def _lost(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        if not self._closing:
            logger.error("HTTP worker process %s exited; forking another", worker.pid)
            replacing = asyncio.get_running_loop().create_task(self._replace())
            self._replacing.add(replacing)
            replacing.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        await asyncio.sleep(RESPAWN_DELAY_SECONDS)
        worker = await asyncio.to_thread(self._spawn)
        await worker.open(self._lost)
        self._workers.append(worker)


class _Worker:
    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock
        self.pending: dict[int, asyncio.Future[Answer]] = {}
        self.open_ = False
        self._ids = itertools.count()
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None

    async def open(self, on_exit: Callable[[_Worker], None]) -> None:
        reader, self._writer = await asyncio.open_unix_connection(sock=self.sock)
        self.open_ = True
        self._reading = asyncio.create_task(self._read(reader, on_exit))

    async def call(self, environ: dict[str, Any], body: bytes, long: bool) -> Answer:
        assert self._writer is not None
        request_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self.pending[request_id] = answer
        frame = pickle.dumps((request_id, long, environ, body), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            try:
                self._writer.write(_LENGTH.pack(len(frame)) + frame)
                await self._writer.drain()
            except ConnectionError as error:  # it exited before its end of the socket was read
                raise WorkerLost from error
            return await answer
        finally:
            self.pending.pop(request_id, None)

    async def close(self) -> None:
        if self._writer is not None and self.open_:
            self._writer.write_eof()  # the worker finishes what it holds, answers it and exits
            if self._reading is not None:
                # A worker stuck past this is left to the spawner's end: closing it sends the
                # workers SIGTERM (die_with_parent).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._reading), CLOSE_WAIT_SECONDS)

    async def _read(self, reader: asyncio.StreamReader, on_exit: Callable[[_Worker], None]) -> None:
        try:
            while True:
                (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
                request_id, status, headers, content, published = pickle.loads(await reader.readexactly(size))
                if published:
                    relay.notify()
                answer = self.pending.get(request_id)
                if answer is not None and not answer.done():  # done: its client went away
                    answer.set_result((status, headers, content))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker exited
        finally:
            self.open_ = False
            for answer in self.pending.values():
                if not answer.done():
                    answer.set_exception(WorkerLost())
            if self._writer is not None:
                self._writer.close()
            on_exit(self)


def serve_requests(sock: socket.socket, pools: ThreadPools) -> None:
    """A worker's whole life: runs each request it reads on ``pools`` and writes back the answer,
    until the serving process closes its end; then it finishes what it holds."""
    send_lock = threading.Lock()
    relay.forward = _mark_published

    def answer(request_id: int, done: Future[tuple[Answer, bool]]) -> None:
        try:
            (status, headers, content), published = done.result()
        except Exception:
            # Django turns a view's errors into JSON answers; this is a failure around it.
            logger.exception("HTTP worker request failed")
            body = json.dumps({"message": "Internal server error.", "code": "INTERNAL_ERROR"}).encode()
            status, headers, content, published = 500, [(b"content-type", b"application/json")], body, False
        frame = pickle.dumps((request_id, status, headers, content, published), protocol=pickle.HIGHEST_PROTOCOL)
        # OSError: the serving process is gone, and so is the client.
        with send_lock, contextlib.suppress(OSError):
            sock.sendall(_LENGTH.pack(len(frame)) + frame)

    reader = sock.makefile("rb")
    while len(length := reader.read(_LENGTH.size)) == _LENGTH.size:
        request_id, long, environ, body = pickle.loads(reader.read(_LENGTH.unpack(length)[0]))
        done = pools.executor(long).submit(_traced_call, pools, environ, body)
        done.add_done_callback(functools.partial(answer, request_id))
    pools.shutdown()


_published = threading.local()


def _mark_published() -> None:
    _published.flag = True


def _traced_call(pools: ThreadPools, environ: dict[str, Any], body: bytes) -> tuple[Answer, bool]:
    _published.flag = False
    answer = pools.call(environ, body)
    return answer, _published.flag


def _start_spawner(serve: Callable[[socket.socket], None]) -> socket.socket:
    ours, theirs = socket.socketpair()
    if os.fork() == 0:
        ours.close()
        _run_forked(lambda: _spawner_main(theirs, serve))
    theirs.close()
    return ours


def _spawner_main(sock: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    # The kernel reaps the workers: the serving process sees a worker's end as its socket's EOF.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        _message, fds, _flags, _address = socket.recv_fds(sock, 1, 1)
        if not fds:
            return  # the serving process closed its end
        worker_sock = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _run_forked(functools.partial(serve, worker_sock))
        worker_sock.close()
        sock.sendall(_LENGTH.pack(pid))


def _run_forked(main: Callable[[], None]) -> None:
    """Runs ``main`` in a forked child and exits it, never returning to the parent's code."""
    # Ctrl-C reaches the whole process group: the serving process decides when children stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    die_with_parent()
    code = 0
    try:
        main()
    except BaseException:
        logger.exception("forked process %s failed", os.getpid())
        code = 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def die_with_parent() -> None:
    """SIGTERM when the parent process dies, however it dies (Linux)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
