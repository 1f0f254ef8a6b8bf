"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat completions and Anthropic's
messages, for the tests and the benchmark. ``mode`` makes it answer, fail (a 401 that echoes
the key, as real providers do), stall, or return garbage or a wrong shape."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROMPT_TOKENS, COMPLETION_TOKENS = 12, 8


class FakeProvider:
    def __init__(self) -> None:
        self.mode = "ok"
        self.stall_seconds = 5.0
        self.requests: list[dict[str, Any]] = []
        self.during_call: Callable[[], None] | None = None  # runs in the server's thread before it answers
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; with Nagle on, the body waits for the
            # client's delayed ACK of the headers (40 ms on Linux) whenever the connection is
            # reused quickly. Real servers (uvicorn, nginx) set TCP_NODELAY, and so does this one.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with owner._lock:
                    owner.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if owner.during_call is not None:
                    owner.during_call()
                status, payload = owner.answer(self.path, self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a stall test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, headers: Any, body: Any) -> tuple[int, Any]:
        mode = self.mode
        key = headers.get("x-api-key") or headers.get("Authorization", "").removeprefix("Bearer ")
        if mode == "stall":
            time.sleep(self.stall_seconds)
        if mode == "fail":
            return 401, {"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}}
        if mode == "garbage":
            return 200, b"<html>not json</html>"
        if mode == "shape":
            return 200, {"choices": [], "content": "nope"}
        messages = (body or {}).get("messages") or []
        last = messages[-1]["content"] if messages else ""
        text = f"Resposta: {last}"
        model = (body or {}).get("model", "")
        if path.endswith("/messages"):
            return 200, {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS},
            }
        return 200, {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": PROMPT_TOKENS,
                "completion_tokens": COMPLETION_TOKENS,
                "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            },
        }
