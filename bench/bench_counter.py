"""How long a batch write holds the workspace's event counter, seen from an agent's writes.

Every publish takes the workspace's ``EventSequence`` row lock (SQLite: the database's write lock)
until its transaction commits, so a batch that creates many rows in one transaction makes every
other write of that workspace wait for all of it. A second process writes 1,000 contacts through
the service layer (``contact_create``, as a campaign or an importer would) while an agent's client
creates contacts over HTTP in the same workspace; the agent's p99 is compared with its p99 without
the batch. The batch commits in the chunks of ``whatshybrid.realtime.publisher.batches`` (the
pattern ``docs/realtime.md`` prescribes): the importer as the API calls it (one call, which
chunks itself), and two writers chunked here.

Run alone: ``python -m bench counter``.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time

import requests

from bench.common import ROOT, LiveServer, Result, isolated_database, lower_is_better, percentile, register

BATCH_TOTAL = 1_000
MAX_RATIO = 2.0
AGENT_CLIENTS = 2
_phones = itertools.count(1)


def _agent_writes(url: str, token: str, *, stop: threading.Event, max_seconds: float, min_count: int) -> list[float]:
    """Agents creating contacts until ``stop`` (after at least ``min_count``) or ``max_seconds``;
    a failed create (the database stayed locked past its busy timeout) counts as infinitely slow."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def agent() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine = []
        while time.monotonic() < deadline and (not stop.is_set() or len(mine) < min_count):
            started = time.perf_counter()
            try:
                response = session.post(
                    f"{url}/api/v1/contacts", json={"phone": f"+551197{next(_phones):07d}", "name": "Agent"}, timeout=60
                )
                ok = response.status_code == 201
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - started if ok else float("inf"))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=agent, daemon=True) for _ in range(AGENT_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max_seconds + 60)
    return latencies


def _batch_write(env: dict[str, str], workspace_id: str, mode: str, rows: int, first_phone: int) -> dict[str, float]:
    """Runs ``writer`` below in its own process (another worker of the deployment)."""
    command = ["writer", mode, workspace_id, str(rows), str(first_phone)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_counter", *command],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def writer(mode: str, workspace_id: str, rows: int, first_phone: int) -> None:
    """1,000 contacts, ``rows`` per transaction (``batches()``): through the importer's set-based
    writes (``import``) or one ``contact_create`` per row (``service``). Prints how long the
    transactions held the counter (the importer publishes at the end of each, ``contact_create``
    with each row)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatshybrid.settings")
    django.setup()
    from django.db import transaction

    from accounts.models import Workspace
    from contacts.importing import contact_import_rows
    from contacts.services import contact_create
    from whatshybrid.realtime.publisher import batches

    workspace = Workspace.objects.get(pk=workspace_id)
    phones = [f"+551196{n:07d}" for n in range(first_phone, first_phone + BATCH_TOTAL)]
    # A worker of a running deployment has been through this code before; a cold first chunk
    # (imports, query compilation) would be charged to the agents that wait for it.
    contact_import_rows(workspace=workspace, rows=[{"phone": phones[0], "name": "Warm-up"}], dry_run=True)
    holds = []
    started = time.perf_counter()
    # The importer takes its own turns (it calls batches() inside): a turn around the call as well
    # would make agents wait for its validation, which writes nothing.
    chunks = itertools.batched(phones, rows) if mode == "import" else batches(phones, rows)
    for chunk in chunks:
        began = time.perf_counter()
        if mode == "import":  # the importer commits CONTACTS_IMPORT_BATCH_SIZE rows per transaction
            contact_import_rows(workspace=workspace, rows=[{"phone": phone, "name": "Batch"} for phone in chunk])
        else:
            with transaction.atomic():
                for phone in chunk:
                    contact_create(workspace=workspace, phone=phone, name="Batch")
        holds.append(time.perf_counter() - began)
    total = time.perf_counter() - started
    mean = sum(holds) / len(holds)
    summary = {"rows": rows, "total_s": total, "max_hold_ms": max(holds) * 1000, "mean_hold_ms": mean * 1000}
    print(json.dumps(summary))


def _p99_beside_batch(url: str, token: str, env: dict[str, str], workspace_id: str, plan: tuple) -> dict:
    stop = threading.Event()
    latencies: list[float] = []
    agents = threading.Thread(
        target=lambda: latencies.extend(_agent_writes(url, token, stop=stop, max_seconds=300, min_count=20))
    )
    agents.start()
    try:
        batch = _batch_write(env, workspace_id, *plan)
    finally:
        stop.set()
        agents.join(400)
    return {**batch, "p99_ms": percentile(latencies, 0.99) * 1000, "requests": len(latencies)}


# (writer mode, rows per call, first phone number): the importer as the API calls it (the whole
# file in one call; it commits CONTACTS_IMPORT_BATCH_SIZE rows per transaction through
# ``batches()``), then the two paths chunked here, at the sizes docs/realtime.md gives.
PLANS = {
    "importer, one call (its default batches)": ("import", BATCH_TOTAL, 0),
    "import, batches()": ("import", 50, BATCH_TOTAL),
    "contact_create, batches()": ("service", 5, 2 * BATCH_TOTAL),
}


def run(quick: bool) -> list[Result]:
    baseline_seconds = 3.0 if quick else 10.0
    with isolated_database("counter") as env:
        env = {**env, "RATELIMIT_ENABLE": "0", "LOG_LEVEL": "WARNING"}
        with LiveServer(env) as server:
            auth = register(server.url, "counter@example.com")
            token, workspace_id = auth["accessToken"], auth["workspace"]["id"]
            _agent_writes(server.url, token, stop=threading.Event(), max_seconds=1.0, min_count=0)  # warm-up
            alone = _agent_writes(server.url, token, stop=threading.Event(), max_seconds=baseline_seconds, min_count=0)
            alone_p99 = percentile(alone, 0.99) * 1000
            beside = {
                name: _p99_beside_batch(server.url, token, env, workspace_id, plan) for name, plan in PLANS.items()
            }
    print(f"bench_counter: agents' contact create p99 alone {alone_p99:.1f} ms ({len(alone)} requests)")
    for name, seen in beside.items():
        print(
            f"bench_counter: beside 1,000 rows, {name} ({seen['rows']}/call): p99 {seen['p99_ms']:.1f} ms "
            f"({seen['requests']} requests); counter held {seen['mean_hold_ms']:.0f} ms mean, "
            f"{seen['max_hold_ms']:.0f} ms max per call; {seen['total_s']:.1f} s in all"
        )
    return [
        lower_is_better(
            f"counter: contact create p99 beside 1,000 rows, {name}",
            beside[name]["p99_ms"],
            alone_p99,
            "ms",
            MAX_RATIO,
            f"{AGENT_CLIENTS} agents, same workspace, {beside[name]['rows']} rows/call",
        )
        for name in PLANS
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["writer"]:
    writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
