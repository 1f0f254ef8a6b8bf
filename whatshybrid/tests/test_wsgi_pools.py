"""The bridge's two pools: views that run long never hold the threads of the rest of the API."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from whatshybrid.wsgi_bridge import WsgiBridge, runs_long


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/auth/login", True),
        ("/api/v1/auth/register", True),
        ("/api/v1/auth/password", True),
        ("/api/v1/ai/complete", True),
        ("/api/v2/ai/process", True),
        ("/api/v1/crm/sync", True),
        ("/api/v1/tasks/sync", True),
        ("/api/v1/contacts/import", True),  # a viewset action's own flag
        ("/api/v1/contacts", False),  # the same viewset's other routes
        (f"/api/v1/contacts/{uuid.uuid4()}", False),
        ("/api/v1/auth/me", False),
        (f"/api/v1/conversations/{uuid.uuid4()}/messages", False),
        ("/health", False),
        ("/admin/", False),
        ("/no/such/path", False),
    ],
)
def test_views_say_whether_they_run_long(path, expected):
    assert runs_long(path) is expected


def _scope(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}


async def _request(bridge: WsgiBridge, path: str) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await bridge(_scope(path), receive, send)
    return sent[0]["status"], sent[1]["body"]


def test_a_long_request_holding_every_long_thread_leaves_the_api_its_own():
    release = threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/api/v1/ai/complete":
            release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [threading.current_thread().name.encode()]

    bridge = WsgiBridge(app, threads=1, long_threads=1)

    async def scenario() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        stuck = asyncio.ensure_future(_request(bridge, "/api/v1/ai/complete"))
        await asyncio.sleep(0.05)
        # With one pool the only thread would be taken and this would wait for the release.
        quick = await asyncio.wait_for(_request(bridge, "/api/v1/contacts"), 5)
        assert not stuck.done()
        release.set()
        return quick, await stuck

    try:
        quick, long = asyncio.run(scenario())
    finally:
        release.set()
    assert quick[0] == 200 and quick[1].startswith(b"http_")
    assert long[0] == 200 and long[1].startswith(b"http-long_")
