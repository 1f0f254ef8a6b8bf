"""The embedded default's machine-wide cache: diskcache, holding no pickles.

Without Redis the processes of one machine (the HTTP workers, the background worker, commands)
share their rate-limit counters through diskcache's SQLite files. diskcache stores every value
and key it cannot keep as a plain SQLite value as a pickle and unpickles it when read, so
whoever can write the cache's files could run code in every process that reads them
(GHSA-w8v5-vhqr-4h9v, not fixed in any release). ``PlainDisk`` stores only plain values (str,
bytes, int, float) and keys, refuses anything else when written, and refuses a pickled row when
read: what this cache holds (rate-limit counts, the readiness probe's marker) is all plain.
"""

from __future__ import annotations

from typing import Any

from diskcache import Disk, DjangoCache
from diskcache.core import MODE_PICKLE

_PLAIN = (str, bytes, int, float)
_INT64 = range(-(2**63), 2**63)


def _is_plain(value: Any) -> bool:
    return type(value) in _PLAIN and (type(value) is not int or value in _INT64)


class PlainDisk(Disk):
    def put(self, key: Any) -> tuple[Any, bool]:
        if not _is_plain(key):
            raise TypeError(f"the machine cache keeps plain keys only, not {type(key).__name__}")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise ValueError("refusing a pickled key in the machine cache")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = None) -> tuple[Any, ...]:
        if read or not _is_plain(value):
            raise TypeError(f"the machine cache keeps plain values only, not {type(value).__name__}")
        return super().store(value, read, key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == MODE_PICKLE:
            raise ValueError("refusing a pickled value in the machine cache")
        return super().fetch(mode, filename, value, read)


class MachineCache(DjangoCache):
    """diskcache's Django backend on ``PlainDisk``."""

    def __init__(self, directory: str, params: dict[str, Any]) -> None:
        options = {**params.get("OPTIONS", {}), "disk": PlainDisk}
        super().__init__(directory, {**params, "OPTIONS": options})
