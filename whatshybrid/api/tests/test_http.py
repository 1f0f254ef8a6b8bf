"""The outgoing HTTP client (whatshybrid/http/) against real sockets on 127.0.0.1 / ::1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from whatshybrid import http
from whatshybrid.api.tests.listeners import REFUSED_HOSTS, Listener

LOOPBACK = ["127.0.0.1/32"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_refused_addresses_never_get_a_tcp_connection(listeners: dict[str, Listener], host: str) -> None:
    for listener in listeners.values():
        url = f"http://{host}:{listener.port}/hook"
        with pytest.raises(http.OutgoingURLRefused) as refused:
            http.request("POST", url, json={"a": 1})
        assert refused.value.rule in {"blocked_address", "invalid_url"}
        assert refused.value.rule in str(refused.value)
        with pytest.raises(http.OutgoingURLRefused):
            http.vet_url(url)
    assert {name: listener.accepted() for name, listener in listeners.items()} == dict.fromkeys(listeners, 0)


def test_refusals_name_the_rule_and_the_range() -> None:
    with pytest.raises(http.OutgoingURLRefused, match=r"\(blocked_address\): localhost resolves to 127\.0\.0\.1"):
        http.vet_url("http://localhost/")
    with pytest.raises(http.OutgoingURLRefused, match="link-local addresses are not allowed"):
        http.vet_url("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(http.OutgoingURLRefused, match=r"IPv6-embedded \(10\.1\.2\.3\) private"):
        http.vet_url("https://[::ffff:10.1.2.3]/")


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://user:pass@127.0.0.1:{port}/", "credentials"),
        ("http://user@127.0.0.1:{port}/", "credentials"),
        ("https://:pw@example.com/", "credentials"),
        ("ftp://127.0.0.1:{port}/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://127.0.0.1:{port}/_x", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("//127.0.0.1:{port}/", "scheme"),
        ("http://", "invalid_url"),
        ("http://127.0.0.1:99999/", "invalid_url"),
        ("not a url", "invalid_url"),
    ],
)
def test_credentials_other_schemes_and_malformed_urls_are_refused(
    settings: Any, listeners: dict[str, Listener], url: str, rule: str
) -> None:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = LOOPBACK  # refused for what they are, not for where they go
    with pytest.raises(http.OutgoingURLRefused) as refused:
        http.request("GET", url.format(port=listeners["v4"].port))
    assert refused.value.rule == rule
    assert listeners["v4"].accepted() == 0


# --- a real HTTP server ------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections = 0
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # ends stalled responses at teardown
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, Any]:
        self.connections += 1
        return super().get_request()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
    server: Server

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.handle_any()

    def do_POST(self) -> None:
        self.handle_any()

    def handle_any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append({"path": self.path, "host": self.headers["Host"], "body": body})
        route = self.path.split("?")[0]
        if route == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/landed")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "/big":
            self.reply(b"x" * (2 * 1024 * 1024))
        elif route == "/big-undeclared":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"y" * 32 * 1024)
        elif route == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"partial")
            self.wfile.flush()
            self.server.release.wait(10)
        elif route == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(100):  # a byte every 0.1 s: every read is quick, the whole is not
                if self.server.release.wait(0.1):
                    break
                self.wfile.write(b"z")
                self.wfile.flush()
        else:
            echo = {"path": self.path, "host": self.headers["Host"], "body": body.decode(), "method": self.command}
            self.reply(json.dumps(echo).encode(), content_type="application/json")

    def reply(self, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server(settings: Any) -> Iterator[Server]:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = LOOPBACK
    running = Server()
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield running
    running.release.set()
    running.shutdown()
    running.server_close()
    thread.join(5)


def test_an_allowlisted_network_gets_a_real_request(server: Server) -> None:
    response = http.request("POST", f"{server.url}/echo?x=1", json={"hello": "world"}, headers={"X-Test": "1"})
    assert response.status == 200 and response.ok
    echo = response.json()
    assert echo["method"] == "POST" and echo["path"] == "/echo?x=1"
    assert json.loads(echo["body"]) == {"hello": "world"}
    assert echo["host"] == server.url.removeprefix("http://")
    assert response.headers["content-type"] == "application/json"
    assert response.elapsed > 0 and response.text == response.body.decode()


def test_the_allowlist_is_required_and_opens_only_its_networks(settings: Any, server: Server) -> None:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = ["10.0.0.0/8"]
    with pytest.raises(http.OutgoingURLRefused, match="loopback"):
        http.request("GET", f"{server.url}/echo")
    assert server.connections == 0
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = ["127.0.0.0/8"]
    assert http.request("GET", f"{server.url}/echo").status == 200
    # The IPv4-mapped spelling of an allowed address is allowed too (it is the same address).
    port = server.server_address[1]
    assert http.vet_url(f"http://[::ffff:127.0.0.1]:{port}/").address == "::ffff:127.0.0.1"


def test_redirects_are_returned_not_followed(server: Server) -> None:
    response = http.request("GET", f"{server.url}/redirect")
    assert response.status == 302
    assert response.headers["Location"] == "/landed"
    assert [seen["path"] for seen in server.requests] == ["/redirect"]


def test_the_response_size_cap(settings: Any, server: Server) -> None:
    with pytest.raises(http.OutgoingResponseTooLarge, match="1048576-byte limit"):
        http.request("GET", f"{server.url}/big")  # declared too large: refused before reading
    with pytest.raises(http.OutgoingResponseTooLarge, match="1000-byte limit"):
        http.request("GET", f"{server.url}/big-undeclared", max_bytes=1000)  # stopped while streaming
    settings.OUTGOING_HTTP_MAX_BYTES = 4 * 1024 * 1024
    assert len(http.request("GET", f"{server.url}/big").body) == 2 * 1024 * 1024
    assert http.request("GET", f"{server.url}/echo").status == 200  # the pool recovered from the cut-offs


def bounded(seconds: float, call: Callable[[], Any], error: type[Exception]) -> float:
    started = time.monotonic()
    with pytest.raises(error):
        call()
    return time.monotonic() - started


def test_a_stall_mid_body_ends_at_the_total_timeout(server: Server) -> None:
    took = bounded(5, lambda: http.request("GET", f"{server.url}/stall", timeout=0.5), http.OutgoingTimeout)
    assert 0.4 < took < 3


def test_the_total_timeout_bounds_a_body_that_keeps_trickling(server: Server) -> None:
    # Each read gets a byte within 0.1 s, so only a total deadline stops this before 10 s.
    took = bounded(5, lambda: http.request("GET", f"{server.url}/trickle", timeout=0.6), http.OutgoingTimeout)
    assert 0.5 < took < 3


def test_each_call_keeps_its_own_deadline_among_concurrent_calls(server: Server) -> None:
    # One thread watches every deadline: a short one added while a long one is pending must
    # wake it, and the long one must not end with the short one.
    def stalled(timeout: float) -> float:
        return bounded(10, lambda: http.request("GET", f"{server.url}/stall", timeout=timeout), http.OutgoingTimeout)

    with ThreadPoolExecutor(max_workers=2) as pool:
        long_call = pool.submit(stalled, 2.0)
        time.sleep(0.2)
        short_call = pool.submit(stalled, 0.4)
        assert 0.3 < short_call.result(timeout=10) < 1.5
        assert 1.9 < long_call.result(timeout=10) < 4.5


def test_the_connect_timeout(settings: Any) -> None:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = LOOPBACK
    # A listener whose accept queue is full: the kernel drops further SYNs, so connect hangs.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    port = full.getsockname()[1]
    queued = []
    try:
        for _ in range(8):
            client = socket.socket()
            client.settimeout(0.3)
            try:
                client.connect(("127.0.0.1", port))
            except TimeoutError:
                client.close()
                break
            queued.append(client)
        call = lambda: http.request("GET", f"http://127.0.0.1:{port}/", connect_timeout=0.5, timeout=10)  # noqa: E731
        took = bounded(5, call, http.OutgoingTimeout)
        assert 0.4 < took < 3
    finally:
        for client in queued:
            client.close()
        full.close()


def test_a_refused_connection_is_a_connection_failure(settings: Any) -> None:
    settings.OUTGOING_HTTP_ALLOW_NETWORKS = LOOPBACK
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    with pytest.raises(http.OutgoingConnectionFailed, match="request to 127.0.0.1 failed"):
        http.request("GET", f"http://127.0.0.1:{port}/")


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The resolver boundary: names under .whl-test resolve to 127.0.0.1, and lookups are counted."""
    lookups: dict[str, int] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        lookups[name] = lookups.get(name, 0) + 1
        if name.endswith(".whl-test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", int(port)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_the_host_is_resolved_once_and_the_vetted_address_dialed(server: Server, resolver: dict[str, int]) -> None:
    port = server.server_address[1]
    for _ in range(3):
        assert http.request("GET", f"http://api.whl-test:{port}/echo").json()["host"] == f"api.whl-test:{port}"
    assert resolver["api.whl-test"] == 3  # one lookup per call: none by the connection
    response = http.request("GET", f"http://bücher.whl-test:{port}/echo")  # IDN: sent as punycode
    assert response.json()["host"] == f"xn--bcher-kva.whl-test:{port}"
    assert resolver["xn--bcher-kva.whl-test"] == 1


def test_an_unresolvable_host_is_a_connection_failure(resolver: dict[str, int]) -> None:
    with pytest.raises(http.OutgoingConnectionFailed, match="cannot resolve"):
        http.vet_url("https://no-such-host.invalid/")


def test_connections_are_reused_and_calls_are_thread_safe(server: Server) -> None:
    for _ in range(5):
        assert http.request("GET", f"{server.url}/echo").status == 200
    assert server.connections == 1

    def call(number: int) -> str:
        return http.request("POST", f"{server.url}/echo", json={"n": number}).json()["body"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        bodies = list(pool.map(call, range(60)))
    assert [json.loads(body)["n"] for body in bodies] == list(range(60))
    assert server.connections <= 13
