"""Ours against the original backend on the original's own workload, side by side (issue 15).

    bench/side_by_side [--quick] [--original DIR] [--topology embedded|scaled|both]

Starts the original (``DIR/run PORT DB``, a checkout of the original backend) and ours — as
``bin/serve`` starts it, and in the README's scaled topology (the web process as the
Dockerfile runs it + a separate ``db_worker``, PostgreSQL + Redis from ``DATABASE_URL`` /
``REDIS_URL``) — loads the same workspaces into both through their APIs, and runs every row
with ``wrk`` (``-t1 -c16``) in alternating rounds, original first. Prints one table of medians:
req/s, p50, p99, server CPU per request (``/proc``, the server's whole process tree), the
ratio ours/original, errors (non-2xx, socket errors and time-outs), and the RSS of every server
process at the end. Everything listens on 127.0.0.1; every round is bounded by wrk's duration.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.common import ROOT, free_port, isolated_database

CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "Bench-Passw0rd-2026"
SYNC_PATHS = [
    "/api/v1/contacts?limit=1000",
    "/api/v1/crm/deals",
    "/api/v1/tasks",
    "/api/v1/templates",
    "/api/v1/crm/labels",
]


def _default_original() -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / "shared" / "peers" / "original-backend"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "peers" / "original-backend"


# --- servers -------------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    url: str
    pid: int
    workspace: dict[str, str] = field(default_factory=dict)  # size -> bearer token
    conversation: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)

    def tree(self) -> list[int]:
        """The server's pid and every descendant's."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        roots = [self.pid] + [p.pid for p in self.processes if p.pid != self.pid]
        found, frontier = set(roots), list(roots)
        while frontier:
            pid = frontier.pop()
            children = [child for child, parent in parents.items() if parent == pid and child not in found]
            found.update(children)
            frontier += children
        return sorted(found)

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.tree():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / CLK_TCK

    def memory_mb(self) -> list[tuple[str, float, float]]:
        """(command, RSS, PSS) per process. RSS counts the pages that forked processes share in
        each of them; PSS divides each shared page among its sharers, so PSS adds up."""
        out = []
        for pid in self.tree():
            with contextlib.suppress(OSError):
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                rss, pss = (
                    int(re.search(rf"^{name}:\s+(\d+)", rollup, re.M).group(1)) / 1024 for name in ("Rss", "Pss")
                )
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:60]
                out.append((cmd.strip(), rss, pss))
        return out

    def memory_report(self, label: str) -> list[str]:
        processes = self.memory_mb()
        total_rss, total_pss = sum(p[1] for p in processes), sum(p[2] for p in processes)
        lines = [f"{label} (RSS / PSS; total PSS {total_pss:.0f} MB, RSS summed {total_rss:.0f} MB):"]
        return lines + [f"  {cmd}: {rss:.0f} / {pss:.0f} MB" for cmd, rss, pss in processes]


def _wait_healthy(url: str, processes: list[subprocess.Popen], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a server process exited while starting ({url})")
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy in {seconds} s")


@contextlib.contextmanager
def original_server(directory: Path, tmp: Path) -> Iterator[Server]:
    port = free_port()
    db = tmp / "original.db"
    out = subprocess.run([str(directory / "run"), str(port), str(db)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"the original did not start: {out.stderr.strip()}")
    server = Server("original", f"http://127.0.0.1:{port}", int(out.stdout.split()[-1]))
    server.db = db  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGTERM)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


_QUIET = {"RATELIMIT_ENABLE": "0", "LOG_LEVEL": "WARNING"}


@contextlib.contextmanager
def ours_embedded(tmp: Path) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, **_QUIET, "SQLITE_PATH": str(tmp / "ours.sqlite3"), "DATABASE_URL": "", "REDIS_URL": ""}
    serve = subprocess.Popen(
        [str(ROOT / "bin" / "serve"), "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    server = Server("ours: bin/serve", f"http://127.0.0.1:{port}", serve.pid, processes=[serve])
    try:
        _wait_healthy(server.url, [serve])
        yield server
    finally:
        _stop([serve])


@contextlib.contextmanager
def ours_scaled() -> Iterator[Server]:
    port = free_port()
    with isolated_database("sbs") as db_env:
        env = {**os.environ, **db_env, **_QUIET}
        # As the Dockerfile's CMD and docker-compose's worker service run them.
        web = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker",
             "--no-scheduler", "--no-migrate"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        worker = subprocess.Popen([sys.executable, "manage.py", "db_worker"], cwd=ROOT, env=env)
        server = Server("ours: scaled", f"http://127.0.0.1:{port}", web.pid, processes=[web, worker])
        try:
            _wait_healthy(server.url, [web, worker])
            yield server
        finally:
            _stop([web, worker])


# --- loading the same workspace into both ------------------------------------------------------
def _register(server: Server, email: str) -> tuple[str, str]:
    body = {"email": email, "password": PASSWORD, "name": "Bench"}
    reply = requests.post(f"{server.url}/api/v1/auth/register", json=body, timeout=60)
    reply.raise_for_status()
    data = reply.json()
    workspace = (data.get("workspace") or {}).get("id") or data["user"].get("workspaceId")
    return data["accessToken"], workspace


def _contacts(count: int, offset: int) -> list[dict[str, str]]:
    return [
        {"name": f"Cliente {i:05d}", "phone": f"+55119{i + offset:08d}", "email": f"cliente{i:05d}@example.com"}
        for i in range(count)
    ]


def load(server: Server, size: int) -> None:
    token, workspace = _register(server, f"bench-{size}@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    rows = _contacts(size, 0)
    batch = 2000  # below ours' background-import threshold; the original takes 5,000
    for start in range(0, size, batch):
        reply = requests.post(
            f"{server.url}/api/v1/contacts/import", json={"contacts": rows[start : start + batch]},
            headers=headers, timeout=600,
        )  # fmt: skip
        reply.raise_for_status()
    server.workspace[str(size)] = token
    if size == 1000:
        first = requests.get(f"{server.url}/api/v1/contacts?limit=1", headers=headers, timeout=30).json()
        contact = first["contacts"][0]["id"]
        if server.name == "original":  # it has no endpoint that opens a conversation
            out = subprocess.run(
                [str(server.directory / "run"), "--conversation", str(server.db), workspace, contact],  # type: ignore[attr-defined]
                capture_output=True, text=True, check=True, timeout=120,
            )  # fmt: skip
            server.conversation = out.stdout.split()[-1]
        else:
            reply = requests.post(
                f"{server.url}/api/v1/conversations", json={"contact_id": contact}, headers=headers, timeout=30
            )
            reply.raise_for_status()
            server.conversation = reply.json()["conversation"]["id"]


# --- the workload --------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    size: int
    method: str = "GET"
    path: str = ""
    body: str = ""  # a Lua expression of `n` (the request counter) and `prefix`
    sequence: list[str] = field(default_factory=list)


ROWS = [
    Row("GET /contacts (50 rows)", 1000, path="/api/v1/contacts?limit=50"),
    Row("GET /auth/me", 1000, path="/api/v1/auth/me"),
    Row(
        "POST /contacts (unique)",
        1000,
        "POST",
        "/api/v1/contacts",
        """string.format('{"name":"Novo %d","phone":"+55119%s%05d"}', n, prefix, n)""",
    ),  # fmt: skip
    Row(
        "POST /conversations/:id/messages",
        1000,
        "POST",
        "/api/v1/conversations/{conversation}/messages",
        """string.format('{"content":"mensagem %d"}', n)""",
    ),  # fmt: skip
    Row("sync all (5 GETs)", 1000, sequence=SYNC_PATHS),
    Row("GET /contacts @50k", 50000, path="/api/v1/contacts?limit=50"),
    Row("GET /contacts?search= @50k", 50000, path="/api/v1/contacts?limit=50&search=cliente%200424"),
]

LUA = """
local n = 0
local prefix = os.getenv("WRK_PREFIX")
local paths = {%(paths)s}
request = function()
  n = n + 1
  %(body)s
end
"""


def _script(row: Row, server: Server, tmp: Path) -> Path:
    if row.sequence:
        paths = ", ".join(f'"{p}"' for p in row.sequence)
        body = "return wrk.format('GET', paths[(n - 1) % #paths + 1])"
    else:
        paths = f'"{row.path.format(conversation=server.conversation)}"'
        payload = row.body or "nil"
        body = f"return wrk.format('{row.method}', paths[1], nil, {payload})"
    path = tmp / f"{abs(hash((row.name, server.name)))}.lua"
    path.write_text(LUA % {"paths": paths, "body": body})
    return path


@dataclass
class Measure:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    # wrk prints "-nanus" for a percentile of a run in which no request completed.
    if not (match := re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)):
        return math.nan
    value, unit = match.groups()
    return float(value) * _UNITS[unit]


def wrk(server: Server, row: Row, seconds: int, prefix: int, tmp: Path) -> Measure:
    token = server.workspace[str(row.size)]
    script = _script(row, server, tmp)
    before = server.cpu_seconds()
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", str(script),
         "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json", server.url],
        capture_output=True, text=True, timeout=seconds + 30, env={**os.environ, "WRK_PREFIX": f"{prefix:03d}"},
    ).stdout  # fmt: skip
    cpu = server.cpu_seconds() - before
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return Measure(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        # Anchored: a thread statistic such as "72.50%" ends in "50%" too.
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        cpu_ms=1000 * cpu / max(total, 1),
        errors=errors,
    )


def _median(values: list[Measure]) -> Measure:
    return Measure(
        *(statistics.median(getattr(m, f) for m in values) for f in ("rps", "p50_ms", "p99_ms", "cpu_ms")),
        errors=sum(m.errors for m in values),
    )


def compare(original: Server, ours: Server, rounds: int, seconds: int, tmp: Path) -> list[str]:
    lines = []
    prefix = 100
    for row in ROWS:
        results: dict[str, list[Measure]] = {"original": [], "ours": []}
        for _ in range(rounds):
            for key, server in (("original", original), ("ours", ours)):
                prefix += 1
                results[key].append(wrk(server, row, seconds, prefix, tmp))
        a, b = _median(results["original"]), _median(results["ours"])
        target = 3.0 if row.size == 50000 else 1.0
        met = b.rps >= target * a.rps and (row.size == 50000 or b.p99_ms <= a.p99_ms) and b.errors == 0
        lines.append(
            f"{row.name:34} {a.rps:8.0f} {b.rps:8.0f} {b.rps / a.rps:6.2f}x "
            f"{a.p50_ms:7.1f} {b.p50_ms:7.1f} {a.p99_ms:7.1f} {b.p99_ms:7.1f} "
            f"{a.cpu_ms:6.2f} {b.cpu_ms:6.2f} {a.errors:4d}/{b.errors:<4d} {'MET' if met else 'not met'} (>={target}x)"
        )
    return lines


HEADER = (
    f"{'row':34} {'orig/s':>8} {'ours/s':>8} {'ratio':>7} {'p50 o':>7} {'p50 u':>7} {'p99 o':>7} {'p99 u':>7} "
    f"{'cpu o':>6} {'cpu u':>6} {'errors':>9} target"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--original", type=Path, default=_default_original(), help="a checkout of the original backend")
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s per row (default: 3 rounds of 8 s)")
    parser.add_argument("--topology", choices=["embedded", "scaled", "both"], default="both")
    args = parser.parse_args()
    rounds, seconds = (1, 3) if args.quick else (3, 8)
    topologies = ["embedded", "scaled"] if args.topology == "both" else [args.topology]
    if "scaled" in topologies and not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        print("side_by_side: scaled topology skipped (set DATABASE_URL and REDIS_URL)")
        topologies.remove("scaled")
    report = []
    with tempfile.TemporaryDirectory(prefix="whl-sbs-") as name:
        tmp = Path(name)
        with original_server(args.original, tmp) as original:
            original.directory = args.original  # type: ignore[attr-defined]
            for size in (1000, 50000):
                load(original, size)
            for topology in topologies:
                starter = ours_embedded(tmp) if topology == "embedded" else ours_scaled()
                with starter as ours:
                    for size in (1000, 50000):
                        load(ours, size)
                    lines = compare(original, ours, rounds, seconds, tmp)
                    report += [f"\n== {ours.name} vs original (wrk -t1 -c16, {rounds}x{seconds}s rounds, medians; "
                               "latency ms, CPU ms/request)", HEADER, *lines, *ours.memory_report("memory, ours")]  # fmt: skip
            report += original.memory_report("memory, original")
    print(textwrap.dedent("\n".join(report)))


if __name__ == "__main__":
    main()
