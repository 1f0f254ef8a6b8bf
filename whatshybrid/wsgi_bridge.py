"""Serves ASGI HTTP requests with Django's WSGI handler on a fixed thread pool.

Django's ASGI handler hops between the event loop and worker threads for every sync middleware
and view and starts an executor per request: about 3 ms of CPU per request before any view code
(issue 15's profile). Here a request costs one hop: the body is read on the event loop, the whole
WSGI call (middleware, view, response) runs on one pool thread, and the response goes back out
on the loop. Websockets and Socket.IO long-polling stay on the event loop (``whatshybrid.asgi``).
Under ``manage.py serve`` the pools run in worker processes instead, one per core
(``run_in_processes``; ``whatshybrid.wsgi_processes``), and this process only parses, routes and
relays.

The body is read whole before Django sees it, with the size limit enforced while reading, so a
chunked request (no ``Content-Length``) is capped like any other and keeps its body: Django's WSGI
request reads exactly ``CONTENT_LENGTH`` bytes, which is set to what arrived.

Responses are collected whole on the pool thread: the API, the admin and the docs answer with
bounded bodies (pages are capped, static files are small), and nothing here streams.

Two pools. Python runs one thread at a time, so beyond one thread per core more threads only
queue: on the interpreter lock and, for writes on SQLite, on the database's lock, where a
waiter sleeps on a growing back-off (up to 100 ms) instead of waking when the lock is free. So
the requests of the API run on ``HTTP_THREADS`` threads, one per core by default
(``bench/side_by_side``: with 2 threads instead of 8, 10-20% more requests per second and a
write p99 of about 100 ms instead of 700-860 ms). Views that take far longer than the rest, so
that a few of them would hold every thread (waiting on an AI provider or a password hash, or a
whole bulk sync), set ``runs_long = True`` (an action: ``@action(..., runs_long=True)``) and run
on ``HTTP_LONG_THREADS`` threads of their own.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.urls import Resolver404, resolve

from whatshybrid.api.middleware import body_limit
from whatshybrid.wsgi_processes import Answer, WorkerLost, WorkerProcesses, serve_requests

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WsgiBridge:
    """An ASGI app for ``http`` scopes that runs ``wsgi_app`` on ``threads`` pool threads, and the
    views that run long on ``long_threads`` others."""

    def __init__(self, wsgi_app: WSGIApp, *, threads: int, long_threads: int) -> None:
        self.pools = ThreadPools(wsgi_app, threads=threads, long_threads=long_threads)
        self.workers: WorkerProcesses | None = None

    def run_in_processes(self, count: int) -> None:
        """From now on, the WSGI calls run in ``count`` worker processes (``wsgi_processes``).
        Call it before any thread of this process starts: the workers are forked from it."""
        self.workers = WorkerProcesses(count, serve=lambda sock: serve_requests(sock, self.pools))

    async def close(self) -> None:
        if self.workers is not None:
            await self.workers.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit(scope["path"])
        body = await _read_body(receive, limit)
        if body is None:
            return  # the client went away
        if isinstance(body, int):
            await _json_error(
                send,
                413,
                f"The request body is too large (the limit is {limit} bytes).",
                "PAYLOAD_TOO_LARGE",
                [(b"connection", b"close")],
            )  # the rest is never read
            return
        environ = _environ(scope)
        long = runs_long(scope["path"])
        if self.workers is None:
            executor = self.pools.executor(long)
            answer = await asyncio.get_running_loop().run_in_executor(executor, self.pools.call, environ, body)
        else:
            try:
                answer = await self.workers.call(environ, body, long)
            except WorkerLost:
                message = "The server process running this request stopped before it answered; it may or may not have been applied."
                await _json_error(send, 502, message, "WORKER_LOST", [])
                return
        status, headers, content = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


class ThreadPools:
    """The two pools of one process (the serving process, or each worker process)."""

    def __init__(self, wsgi_app: WSGIApp, *, threads: int, long_threads: int) -> None:
        self.wsgi_app = wsgi_app
        self._short = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")
        self._long = ThreadPoolExecutor(max_workers=long_threads, thread_name_prefix="http-long")

    def executor(self, long: bool) -> ThreadPoolExecutor:
        return self._long if long else self._short

    def call(self, environ: dict[str, Any], body: bytes) -> Answer:
        """One whole WSGI call: status, encoded headers and the body, collected."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        streams = {"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr}
        result = self.wsgi_app({**environ, **streams}, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # fires Django's request_finished (connection housekeeping)
        status, headers = started
        encoded = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]
        return int(status.split(" ", 1)[0]), encoded, content

    def shutdown(self) -> None:
        self._short.shutdown(wait=True)
        self._long.shutdown(wait=True)


def runs_long(path: str) -> bool:
    """Whether the view at ``path`` says it runs long (``runs_long``, or its action's)."""
    try:
        view = resolve(path).func
    except Resolver404:
        return False
    # DRF's as_view keeps the class and, for a viewset route, the action's keyword arguments.
    return getattr(view, "initkwargs", {}).get("runs_long", getattr(getattr(view, "cls", None), "runs_long", False))


async def _read_body(receive: Receive, limit: int) -> bytes | int | None:
    """The whole body; its length so far once it passes ``limit``; None if the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return size
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _json_error(send: Send, status: int, message: str, code: str, extra: list[tuple[bytes, bytes]]) -> None:
    # Django never answered this request, so the error is built here, in the API's error shape.
    body = json.dumps({"message": message, "code": code}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _environ(scope: Scope) -> dict[str, Any]:
    """The WSGI environ of ``scope`` but its body streams (``ThreadPools.call`` adds them), so it
    pickles for a worker process."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin1"),
        # WSGI carries the path as latin-1 decoded bytes; Django re-decodes them as UTF-8.
        "PATH_INFO": scope["path"].encode().decode("latin1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        value = raw_value.decode("latin1")
        if name == "CONTENT_LENGTH":
            continue  # what arrived: ThreadPools.call sets it
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
