"""uvicorn's HTTP protocol with JSON for the errors it answers itself.

Requests the HTTP parser refuses (an overlong URL or header block, a malformed request line)
never reach the application: uvicorn answers ``400`` in plain text and closes. This subclass
answers in the API's error shape instead. ``send_400_response`` is uvicorn's one place for those
answers; ``whatshybrid/api/tests/test_serving_stack.py`` fails if a uvicorn upgrade moves it.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


class JsonErrorsHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"message": msg, "code": "BAD_REQUEST"}).encode()
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
