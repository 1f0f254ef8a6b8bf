"""A real password hasher that records every use: how many, and whether a transaction was open."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection


@dataclass(frozen=True)
class HashCall:
    kind: str  # "encode" or "verify"
    in_transaction: bool


class RecordingHasher(MD5PasswordHasher):
    """MD5 (the suite's fast hasher, so existing hashes verify) plus a log of calls per process."""

    calls: list[HashCall] = []  # noqa: RUF012 - one shared log, read by the test
    _lock = threading.Lock()

    @classmethod
    def record(cls, kind: str) -> None:
        with cls._lock:
            cls.calls.append(HashCall(kind, connection.in_atomic_block))

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
