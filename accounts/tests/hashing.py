"""Real password hashers for tests: one records every use, one takes a production hash's time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import MD5PasswordHasher


@dataclass(frozen=True)
class HashCall:
    kind: str  # "encode" or "verify"


class RecordingHasher(MD5PasswordHasher):
    """MD5 (the suite's fast hasher, so existing hashes verify) plus a log of calls per process."""

    calls: list[HashCall] = []  # noqa: RUF012 - one shared log, read by the test
    _lock = threading.Lock()

    @classmethod
    def record(cls, kind: str) -> None:
        with cls._lock:
            cls.calls.append(HashCall(kind))

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.calls.clear()

    def encode(self, password: str, salt: str) -> str:
        self.record("encode")
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        self.record("verify")
        return super().verify(password, encoded)


HASHERS = ["accounts.tests.hashing.RecordingHasher"]


class SlowHasher(MD5PasswordHasher):
    """MD5 that takes as long as a production hash, and counts how many run at the same time."""

    seconds = 0.3
    running = 0
    most_at_once = 0
    _lock = threading.Lock()

    def _timed(self, work: Any) -> Any:
        cls = type(self)
        with cls._lock:
            cls.running += 1
            cls.most_at_once = max(cls.most_at_once, cls.running)
        try:
            time.sleep(cls.seconds)
            return work()
        finally:
            with cls._lock:
                cls.running -= 1

    def encode(self, password: str, salt: str) -> str:
        return self._timed(lambda: super(SlowHasher, self).encode(password, salt))

    def verify(self, password: str, encoded: str) -> bool:
        return self._timed(lambda: super(SlowHasher, self).verify(password, encoded))
