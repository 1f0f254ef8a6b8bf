"""TCP listeners that count accepted connections: proof that a refused URL was never dialed.

Shared by the outgoing HTTP client's tests and every feature that sends to user-given URLs
(webhooks). The root conftest loads this module as a plugin, so ``listeners`` is a fixture everywhere.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest


class Listener:
    """A bare TCP listener that never answers: whatever connected to it waits in its accept queue."""

    def __init__(self, family: int, host: str) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def accepted(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@pytest.fixture
def listeners() -> Iterator[dict[str, Listener]]:
    made = {"v4": Listener(socket.AF_INET, "127.0.0.1")}
    with contextlib.suppress(OSError):  # a host without IPv6 loopback tests IPv4 only
        made["v6"] = Listener(socket.AF_INET6, "::1")
    yield made
    for listener in made.values():
        listener.sock.close()


# Every form of an internal address: numeric notations the resolver accepts, IPv6 forms that reach
# IPv4, names that resolve to loopback, IDN spellings, and the other refused ranges.
REFUSED_HOSTS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "0177.1",
    "127.0.0.1.",
    "0.0.0.0",
    "0",
    "localhost",
    "localhost.",
    "LOCALHOST",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[64:ff9b::127.0.0.1]",
    "[2002:7f00:1::]",
    "[::]",
    "ｌｏｃａｌｈｏｓｔ",
    "127。0。0。1",
    "169.254.169.254",
    "[::ffff:169.254.169.254]",
    "[fe80::1]",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "[fc00::1]",
    "[ff02::1]",
    "[2001:db8::1]",
]
