"""A real webhook receiver on 127.0.0.1: verifies each request with the Standard Webhooks
reference library (``Webhook.verify``) and answers with the statuses it is told to."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified_with: list[int] = field(default_factory=list)  # indexes of the secrets that verify it


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secrets: list[str] = []
        self.statuses: list[int] = []  # answered in order; then 200
        self.headers_extra: dict[str, str] = {}
        self.reply = b'{"ok": true}'
        self.requests: list[Received] = []
        self.check_timestamp = True
        self.lock = threading.Lock()
        # hold_first: the first request is answered only once ``release`` is set (``held`` says
        # it arrived), to kill a sender mid-delivery.
        self.hold_first = False
        self.held = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def verify(self, headers: dict[str, str], body: bytes) -> list[int]:
        verified = []
        for index, secret in enumerate(self.secrets):
            try:
                if self.check_timestamp:
                    StandardWebhook(secret).verify(body, headers)
                else:  # a test with a controllable clock sends timestamps of its own "now"
                    signed = StandardWebhook(secret).sign(
                        headers["webhook-id"], _when(headers["webhook-timestamp"]), body.decode()
                    )
                    if signed not in headers["webhook-signature"].split(" "):
                        raise WebhookVerificationError("No matching signature found")
                verified.append(index)
            except WebhookVerificationError:
                pass
        return verified


def _when(timestamp: str) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(timestamp), tz=UTC)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {key.lower(): value for key, value in self.headers.items()}
        status = self.server.next_status()
        with self.server.lock:
            self.server.requests.append(Received(headers, body, self.server.verify(headers, body)))
            hold = self.server.hold_first and len(self.server.requests) == 1
        if hold:
            self.server.held.set()
            self.server.release.wait(60)
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", self.server.url + "/elsewhere")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.reply)))
        self.end_headers()
        self.wfile.write(self.server.reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = ["127.0.0.1/32"]
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
