"""Contacts benchmarks.

1. Import of N contacts (CSV bytes → parsed, validated, written, row report) against two
   baselines over the same rows already validated: raw ``sqlite3.executemany`` into a table of
   the same shape, and ORM ``bulk_create``. Run in a child process over a fresh database so the
   peak-memory growth is the import's own. Target: ≤ 3× ``bulk_create``, memory growth < 200 MB.
2. ``GET /api/v1/contacts?limit=50`` (auth, membership, throttle, serializer, keyset paging)
   against a bare Django view returning the same page with ``.values()`` + ``JsonResponse``,
   both served by the same uvicorn process. Target: ≥ 0.5× the bare view's throughput.

When ``WHL_BENCH_CONTACTS_SERVER=1`` this module is the server's settings and URLconf: the bare
view lives only in the benchmark, never in the product's URLs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

if os.environ.get("WHL_BENCH_CONTACTS_SERVER") == "1":  # imported as DJANGO_SETTINGS_MODULE
    from whatshybrid.settings import *  # noqa: F403

    ROOT_URLCONF = __name__

LIST_FIELDS = ("id", "phone", "phone_raw", "name", "email", "company", "notes", "tags", "custom_fields", "source")
LIST_FIELDS += ("opted_out", "last_interaction_at", "created_at", "updated_at")


def __getattr__(name: str) -> Any:
    # The URLconf is built on first use (after django.setup()), not while settings load.
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.http import HttpRequest, JsonResponse
    from django.urls import include, path

    from contacts.models import Contact

    def bare_contacts(request: HttpRequest) -> JsonResponse:
        rows = Contact.objects.filter(workspace_id=request.GET["workspace"]).order_by("-created_at", "-id")
        return JsonResponse({"contacts": list(rows.values(*LIST_FIELDS)[:50])})

    return [path("bench/bare-contacts", bare_contacts), path("", include("whatshybrid.urls"))]


# --- import ------------------------------------------------------------------------------------
def _csv_bytes(count: int) -> bytes:
    lines = ["phone,name,email,company,tags,notes"]
    lines += [f"+55119{i:08d},Cliente {i},cliente{i}@example.com,Loja {i % 97},vip;lead,Nota {i}" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _rss_kb(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def _import_worker(count: int) -> dict[str, float]:
    """Runs in the child process; prints the timings as JSON."""
    import sqlite3
    import tempfile

    import django

    django.setup()
    from django.db import transaction

    from accounts.models import Workspace
    from contacts.importing import contact_import_rows, parse_csv
    from contacts.models import Contact
    from contacts.phones import normalize_phone

    data = _csv_bytes(count)
    normalize_phone("+5511999990001")  # load the phone metadata outside the timings
    ours_ws, orm_ws = Workspace.objects.create(name="ours"), Workspace.objects.create(name="orm")

    rss_before = _rss_kb("VmRSS")
    start = time.perf_counter()
    report = contact_import_rows(workspace=ours_ws, rows=parse_csv(data))
    ours = time.perf_counter() - start
    growth_mb = (_rss_kb("VmHWM") - rss_before) / 1024
    assert report.created == count and not report.errors, report.as_dict() if report.errors[:3] else report.created

    # The baselines get the rows already validated and normalized: only the writing is timed.
    clean = [
        (f"+55119{i:08d}", f"Cliente {i}", f"cliente{i}@example.com", f"Loja {i % 97}", '["vip", "lead"]', f"Nota {i}")
        for i in range(count)
    ]
    start = time.perf_counter()
    with transaction.atomic():
        Contact.objects.bulk_create(
            [
                Contact(
                    workspace=orm_ws, phone=p, phone_raw=p, name=n, email=e, company=c, tags=["vip", "lead"], notes=t
                )
                for p, n, e, c, _tags, t in clean
            ],
            batch_size=1000,
        )
    orm = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(f"{tmp}/raw.sqlite3")
        db.execute(
            "CREATE TABLE contact (id TEXT PRIMARY KEY, workspace_id TEXT, phone TEXT, phone_raw TEXT, name TEXT,"
            " email TEXT, company TEXT, tags TEXT, notes TEXT, UNIQUE (workspace_id, phone))"
        )
        import uuid

        start = time.perf_counter()
        with db:
            db.executemany(
                "INSERT INTO contact VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((uuid.uuid4().hex, "ws", p, p, n, e, c, tags, t) for p, n, e, c, tags, t in clean),
            )
        raw = time.perf_counter() - start
        db.close()
    return {"ours": ours, "orm": orm, "raw": raw, "growth_mb": growth_mb}


def _bench_import(quick: bool) -> list:
    from bench.common import ROOT, Result, isolated_database, lower_is_better

    count = 5_000 if quick else 100_000
    with isolated_database("contacts_import") as env:
        output = subprocess.run(
            [sys.executable, "-m", "bench.bench_contacts", "import-worker", str(count)],
            cwd=ROOT,
            env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "whatshybrid.settings"},
            check=True,
            capture_output=True,
            text=True,
            timeout=1200,
        ).stdout
    timings = json.loads(output.strip().splitlines()[-1])
    rate = lambda seconds: count / seconds  # noqa: E731
    return [
        lower_is_better(f"import {count} contacts CSV vs ORM bulk_create", timings["ours"], timings["orm"], "s", 3.0),
        Result(
            f"import {count} contacts CSV vs sqlite3.executemany",
            timings["ours"],
            timings["raw"],
            "s",
            "informational",
            True,
            f"{rate(timings['ours']):.0f} vs {rate(timings['raw']):.0f} rows/s",
        ),
        Result(
            f"import {count} contacts peak memory growth",
            timings["growth_mb"],
            200.0,
            "MB",
            "< 200 MB",
            timings["growth_mb"] < 200,
        ),
    ]


# --- list --------------------------------------------------------------------------------------
def _throughput(session: Any, url: str, headers: dict[str, str], requests_count: int) -> float:
    deadline = time.monotonic() + 120
    start = time.perf_counter()
    done = 0
    while done < requests_count and time.monotonic() < deadline:
        response = session.get(url, headers=headers, timeout=30)
        response.raise_for_status()
        done += 1
    return done / (time.perf_counter() - start)


def _bench_list(quick: bool) -> list:
    import requests

    from bench.common import LiveServer, bench_server_env, higher_is_better, isolated_database, register_bench_user

    rounds, per_round = (2, 30) if quick else (5, 100)
    with isolated_database("contacts_list") as env:
        server_env = bench_server_env(env, settings_module="bench.bench_contacts", flag="WHL_BENCH_CONTACTS_SERVER")
        with LiveServer(server_env) as server, requests.Session() as session:
            headers, registered = register_bench_user(session, server.url)
            workspace_id = registered["workspace"]["id"]
            rows = [
                {"phone": f"+55119{i:08d}", "name": f"Cliente {i}", "email": f"c{i}@x.com", "tags": ["vip"]}
                for i in range(1000)
            ]
            session.post(
                f"{server.url}/api/v1/contacts/import", json={"contacts": rows}, headers=headers, timeout=120
            ).raise_for_status()
            ours_url = f"{server.url}/api/v1/contacts?limit=50"
            bare_url = f"{server.url}/bench/bare-contacts?workspace={workspace_id}"
            assert len(session.get(ours_url, headers=headers, timeout=30).json()["contacts"]) == 50
            assert len(session.get(bare_url, timeout=30).json()["contacts"]) == 50
            ours, bare = 0.0, 0.0
            for _ in range(rounds):  # interleaved, best of each: the machine is shared and noisy
                ours = max(ours, _throughput(session, ours_url, headers, per_round))
                bare = max(bare, _throughput(session, bare_url, {}, per_round))
    return [higher_is_better("GET /contacts?limit=50 vs bare .values() view", ours, bare, "req/s", 0.5)]


def run(quick: bool) -> list:
    return [*_bench_import(quick), *_bench_list(quick)]


if __name__ == "__main__" and sys.argv[1:2] == ["import-worker"]:
    print(json.dumps(_import_worker(int(sys.argv[2]))))
