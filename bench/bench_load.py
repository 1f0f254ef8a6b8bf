"""Bounded loopback load: concurrent extension-like clients on mixed traffic, 0 errors, p50/p99.

One uvicorn process (the default topology) over its own database, rate limits off. Each client
has its own conversation and deal (as one extension page would) and loops over a weighted mix:
``/auth/me``, contacts list, message create, deal move, lists of deals/tasks/templates, AI
complete (over the fake provider of ``ai/tests/fake_provider.py`` on 127.0.0.1, with credits
granted). An endpoint the server does not serve yet is left out and named in the output. The
baseline of every latency row is ``/health`` (no auth, no database) under the same load.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import requests

from ai.tests.fake_provider import FakeProvider
from bench.common import LiveServer, Result, drive, grant_credits, isolated_database, percentile, register
from tests.seed import Seeder, requests_transport

Plan = Callable[[int, int], tuple[str, str, str, Any]]
# (name, weight, schema path that must be served, request builder(context, client, n))
MIX: list[tuple[str, int, str, Callable[[dict, int, int], tuple[str, str, Any]]]] = [
    ("GET /auth/me", 3, "/api/v1/auth/me", lambda c, i, n: ("GET", "/api/v1/auth/me", None)),
    ("GET /contacts", 3, "/api/v1/contacts", lambda c, i, n: ("GET", "/api/v1/contacts?limit=50", None)),
    (
        "POST /conversations/:id/messages",
        2,
        "/api/v1/conversations/{id}/messages",
        lambda c, i, n: (
            "POST",
            f"/api/v1/conversations/{c['conversations'][i]}/messages",
            {"content": f"load {i}-{n}", "message_type": "text"},
        ),
    ),
    (
        "PUT /crm/deals/:id (move)",
        1,
        "/api/v1/crm/deals/{id}",
        lambda c, i, n: ("PUT", f"/api/v1/crm/deals/{c['deals'][i]}", {"stage": c["stages"][n % len(c["stages"])]}),
    ),
    ("GET /crm/deals", 1, "/api/v1/crm/deals", lambda c, i, n: ("GET", "/api/v1/crm/deals", None)),
    ("GET /tasks", 1, "/api/v1/tasks", lambda c, i, n: ("GET", "/api/v1/tasks", None)),
    ("GET /templates", 1, "/api/v1/templates", lambda c, i, n: ("GET", "/api/v1/templates", None)),
    (
        "POST /ai/complete",
        1,
        "/api/v1/ai/complete",
        lambda c, i, n: ("POST", "/api/v1/ai/complete", {"messages": [{"role": "user", "content": "Olá"}]}),
    ),
    ("GET /health", 1, "/health", lambda c, i, n: ("GET", "/health", None)),
]
NEEDS = {
    "POST /conversations/:id/messages": "conversation",
    "PUT /crm/deals/:id (move)": "deal",
}


def _served(base_url: str) -> set[str]:
    paths = requests.get(f"{base_url}/api/v1/schema?format=json", timeout=30).json()["paths"]
    return set(paths) | {"/health"}


def _canonical(paths: set[str]) -> set[str]:
    # Seed recipes name routes the way tests/routes.py does: no leading slash, {pk} for the object id.
    return {re.sub(r"\{id\}", "{pk}", path.lstrip("/")) for path in paths}


def _seed(base_url: str, headers: dict[str, str], served: set[str], clients: int) -> tuple[dict, list[str]]:
    session = requests.Session()
    session.headers.update(headers)
    seeder = Seeder(requests_transport(session, base_url), marker="MKLOAD", served=_canonical(served))
    for _ in range(20):
        if seeder.available("contact"):
            seeder.make("contact")
    context: dict[str, list[str]] = {"conversations": [], "deals": [], "stages": []}
    unavailable = []
    for name, resource in NEEDS.items():
        if not seeder.available(resource):
            unavailable.append(f"{name} ({seeder.missing(resource)})")
            continue
        key = {"conversation": "conversations", "deal": "deals"}[resource]
        context[key] = [str(seeder.make(resource)["id"]) for _ in range(clients)]
    if context["deals"]:
        pipeline = session.get(f"{base_url}/api/v1/crm/pipeline", timeout=30).json()
        context["stages"] = [str(stage["id"]) for stage in pipeline.get("stages", [])]
    return context, unavailable


@contextlib.contextmanager
def _fake_provider() -> Iterator[FakeProvider]:
    provider = FakeProvider()
    try:
        yield provider
    finally:
        provider.stop()


def run(quick: bool) -> list[Result]:
    clients, duration = (8, 5.0) if quick else (32, 30.0)
    with isolated_database("load") as env, _fake_provider() as provider:
        env = {
            **env,
            "RATELIMIT_ENABLE": "0",
            "LOG_LEVEL": "WARNING",
            "OUTGOING_HTTP_ALLOW_NETWORKS": "127.0.0.0/8",
            "AI_OPENAI_BASE_URL": provider.base_url,
            "OPENAI_API_KEY": "sk-bench-0123456789",
        }
        with LiveServer(env) as server:
            registered = register(server.url, "load@example.com")
            token = registered["accessToken"]
            grant_credits(env, registered["workspace"]["id"], 1_000_000)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            served = _served(server.url)
            context, unavailable = _seed(server.url, headers, served, clients)
            mix = []
            for name, weight, path, build in MIX:
                if path not in served:
                    unavailable.append(f"{name} (not served yet)")
                elif name in NEEDS and not context[{"conversation": "conversations", "deal": "deals"}[NEEDS[name]]]:
                    continue
                elif name == "PUT /crm/deals/:id (move)" and not context["stages"]:
                    unavailable.append(f"{name} (no pipeline stages)")
                else:
                    mix += [(name, build)] * weight
            schedule = itertools.cycle(range(len(mix)))

            def next_request(client: int, n: int) -> tuple[str, str, str, Any]:
                name, build = mix[(next(schedule) + client) % len(mix)]
                return (name, *build(context, client, n))

            samples = drive(server.url, headers, next_request, clients=clients, duration=duration)
    for item in unavailable:
        print(f"bench_load: skipped {item}")
    by_name: dict[str, list] = defaultdict(list)
    for sample in samples:
        by_name[sample.name].append(sample)
    errors = [s for s in samples if not 200 <= s.status < 300]
    statuses = sorted({s.status for s in errors})
    print(
        f"bench_load: {clients} clients x {duration:.0f} s, {len(samples)} requests "
        f"({len(samples) / duration:.0f} req/s), {len(errors)} errors {statuses or ''}"
    )
    health = [s.seconds * 1000 for s in by_name.get("GET /health", [])]
    health_p50, health_p99 = percentile(health, 0.5), percentile(health, 0.99)
    results = [
        Result(
            f"load: errors ({clients} clients x {duration:.0f} s)",
            len(errors),
            len(samples),
            "errors",
            "0 errors (ratio = error rate)",
            not errors and bool(samples),
            f"statuses {statuses}" if statuses else "",
        )
    ]
    for name in sorted(by_name):
        if name == "GET /health":
            continue
        millis = [s.seconds * 1000 for s in by_name[name]]
        p50, p99 = percentile(millis, 0.5), percentile(millis, 0.99)
        note = f"n={len(millis)}; baseline = /health under the same load"
        results.append(Result(f"load p50 {name}", p50, health_p50, "ms", "reported", True, note))
        results.append(Result(f"load p99 {name}", p99, health_p99, "ms", "reported", True, note))
    return results
