"""The machine-wide cache of the embedded default (``whatshybrid.caching``): one count across
processes, and no pickle ever written or read."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from whatshybrid.caching import MachineCache

COUNT = (
    "import sys\n"
    "from whatshybrid.caching import MachineCache\n"
    "cache = MachineCache(sys.argv[1], {'SHARDS': 2, 'DATABASE_TIMEOUT': 1.0})\n"
    "cache.add('hits', 0, 60)\n"
    "for _ in range(200):\n"
    "    cache.incr('hits')\n"
)


def test_two_processes_count_into_one_counter(tmp_path: Path) -> None:
    counters = [subprocess.Popen([sys.executable, "-c", COUNT, str(tmp_path)], cwd=settings.BASE_DIR) for _ in range(2)]
    assert [counter.wait(timeout=60) for counter in counters] == [0, 0]
    assert MachineCache(str(tmp_path), {"SHARDS": 2}).get("hits") == 400


def test_plain_values_round_trip_and_others_are_refused(tmp_path: Path) -> None:
    cache = MachineCache(str(tmp_path), {"SHARDS": 1})
    for value in ("1", b"\x00bytes", 7, 2.5, "x" * 100_000):
        cache.set("key", value, 60)
        assert cache.get("key") == value
    for value in ({"a": 1}, [1], 2**70, None):
        with pytest.raises(TypeError):
            cache.set("other", value, 60)
    assert cache.get("other") is None


def test_a_planted_pickle_is_never_unpickled(tmp_path: Path) -> None:
    cache = MachineCache(str(tmp_path), {"SHARDS": 1})
    cache.set("victim", 1, 60)
    shard = next(tmp_path.glob("*/cache.db"))
    planted = pickle.dumps(Exploding())
    with sqlite3.connect(shard) as db:
        # diskcache's mode 4 is a pickle: what someone with write access to the files would plant.
        assert db.execute("UPDATE Cache SET mode = 4, value = ? WHERE key LIKE '%victim'", (planted,)).rowcount == 1
    with pytest.raises(ValueError, match="refusing a pickled value"):
        cache.get("victim")
    assert not Exploding.loaded


class Exploding:
    loaded = False

    def __reduce__(self):  # runs in whoever unpickles this
        return (Exploding._load, ())

    @staticmethod
    def _load() -> None:
        Exploding.loaded = True
