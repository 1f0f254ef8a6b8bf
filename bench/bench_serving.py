"""The production serving choice: DRF list and create under uvicorn (ASGI) vs gunicorn (WSGI).

Both servers run one process over the same freshly migrated database and the same seeded rows,
in the same run, hit by the same concurrent keep-alive clients. The target is the issue's rule:
if ASGI serves REST at under 0.5x WSGI's throughput, REST should go through WSGI in production
(websockets stay on ASGI).
"""

from __future__ import annotations

import itertools
import sys

import requests

from bench.common import (
    LiveServer,
    Result,
    drive,
    free_port,
    higher_is_better,
    isolated_database,
    percentile,
    register,
)

MIN_RATIO = 0.5
ROWS = 200
GUNICORN_THREADS = 8
_phones = itertools.count(1)


def _phone() -> str:
    return f"+551198{next(_phones) % 10_000_000:07d}"


def _gunicorn(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "whatshybrid.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(GUNICORN_THREADS),
        "--log-level",
        "warning",
    ]


def _measure(server: LiveServer, token: str, *, clients: int, duration: float) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    plans = {
        "list": lambda client, n: ("list", "GET", "/api/v1/contacts?limit=50", None),
        "create": lambda client, n: ("create", "POST", "/api/v1/contacts", {"phone": _phone(), "name": "Bench"}),
    }
    rates: dict[str, float] = {}
    for name, plan in plans.items():
        drive(server.url, headers, plan, clients=clients, duration=min(2.0, duration))  # warm-up
        samples = drive(server.url, headers, plan, clients=clients, duration=duration)
        failures = [s for s in samples if not 200 <= s.status < 300]
        if failures:
            raise RuntimeError(f"{name}: {len(failures)} failed requests, e.g. status {failures[0].status}")
        rates[name] = len(samples) / duration
        rates[f"{name}_p50_ms"] = percentile([s.seconds for s in samples], 0.5) * 1000
    return rates


def run(quick: bool) -> list[Result]:
    clients, duration = (4, 3.0) if quick else (8, 10.0)
    with isolated_database("serving") as env:
        env = {**env, "RATELIMIT_ENABLE": "0", "LOG_LEVEL": "WARNING"}
        with LiveServer(env) as asgi:
            auth = register(asgi.url, "serving@example.com")
            token = auth["accessToken"]
            if (
                requests.get(f"{asgi.url}/api/v1/contacts", headers={"Authorization": f"Bearer {token}"}).status_code
                != 200
            ):
                print("bench_serving: /api/v1/contacts is not served; nothing to measure")
                return []
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            for _ in range(ROWS):
                session.post(f"{asgi.url}/api/v1/contacts", json={"phone": _phone(), "name": "Seed"}).raise_for_status()
            asgi_rates = _measure(asgi, token, clients=clients, duration=duration)
        port = free_port()
        with LiveServer(env, command=_gunicorn(port), port=port) as wsgi:
            wsgi_rates = _measure(wsgi, token, clients=clients, duration=duration)
    print(
        f"bench_serving: {clients} clients x {duration:.0f} s per endpoint; uvicorn 1 process vs "
        f"gunicorn 1 process x {GUNICORN_THREADS} threads; p50 list ASGI {asgi_rates['list_p50_ms']:.1f} ms, "
        f"WSGI {wsgi_rates['list_p50_ms']:.1f} ms; create ASGI {asgi_rates['create_p50_ms']:.1f} ms, "
        f"WSGI {wsgi_rates['create_p50_ms']:.1f} ms"
    )
    note = "ASGI vs WSGI; under 0.5x -> serve REST with WSGI"
    return [
        higher_is_better(
            "serving: contacts list (50/page) ASGI vs WSGI",
            asgi_rates["list"],
            wsgi_rates["list"],
            "req/s",
            MIN_RATIO,
            note,
        ),
        higher_is_better(
            "serving: contact create ASGI vs WSGI", asgi_rates["create"], wsgi_rates["create"], "req/s", MIN_RATIO, note
        ),
    ]
