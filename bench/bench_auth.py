"""A burst of logins must not stall another workspace's writes (issue 14.2).

Login, register and password change hash passwords (PBKDF2, the production hasher here: the
server runs without ``WHL_TESTING``). Once they hashed inside ``transaction.atomic`` -- on SQLite
``BEGIN IMMEDIATE``, the database-wide write lock -- and 60 parallel logins stalled other
workspaces' writes for 11-20 s.

Measured: the p99 of one client's contact creates while 60 clients log in with unknown emails,
beside the p99 of the same creates alone, in alternating rounds (a fresh burst each round). The
login clients run in their own process, so their threads do not compete with the writer's for
the bench's interpreter. Two kinds of burst:

- ``polite``: each client logs in once, and on 429 waits ``Retry-After`` and tries again. This
  is the issue's scenario (a burst of 60 logins) and the row with the target.
- ``flood``: the clients ignore ``Retry-After`` and post again at once, 50 times each. Every
  refusal is cheap, but they are hundreds of requests a second sharing the HTTP threads and the
  interpreter with the writer: a request flood, which no login setting can make free. Printed
  for information (the ``bench_auth:`` line), without a target.

Logins beyond the hash slots answer 429 ``SERVER_BUSY`` (``accounts/hashing.py``); any 5xx fails.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.common import LiveServer, Result, isolated_database, lower_is_better, percentile, register

LOGIN_CLIENTS = 60
MAX_RATIO = 10.0  # the lock stall was 11-20 s against ~10 ms writes: >1000x
BURST_SECONDS = 60  # no burst outlives this, whatever the server does
_phones = itertools.count(1)


def _creates(session: requests.Session, url: str, count: int) -> tuple[list[float], list[int]]:
    seconds, statuses = [], []
    for _ in range(count):
        response = session.post(f"{url}/api/v1/contacts", json={"phone": f"+5511{next(_phones):09d}"}, timeout=60)
        seconds.append(response.elapsed.total_seconds())
        statuses.append(response.status_code)
    return seconds, statuses


def _burst(url: str, polite: bool, round_: int, stop: Any, out: Any) -> None:
    """One burst of logins (in a child process); puts the statuses of every answer on ``out``."""
    deadline = time.monotonic() + BURST_SECONDS

    def client(index: int) -> list[int]:
        session, statuses = requests.Session(), []
        body = {"email": f"nobody-{round_}-{index}@example.com", "password": "Whatever-123"}
        for _ in range(50):
            if stop.is_set() or time.monotonic() > deadline:
                break
            response = session.post(f"{url}/api/v1/auth/login", json=body, timeout=60)
            statuses.append(response.status_code)
            if response.status_code != 429:
                if polite:
                    break  # answered: this user has logged in (or been told the password is wrong)
            elif polite:
                stop.wait(float(response.headers.get("Retry-After", "1")))
        return statuses

    with ThreadPoolExecutor(max_workers=LOGIN_CLIENTS) as pool:
        out.put([status for statuses in pool.map(client, range(LOGIN_CLIENTS)) for status in statuses])


def _rounds(url: str, token: str, *, polite: bool, rounds: int, writes: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    alone: list[float] = []
    during: list[float] = []
    create_statuses: list[int] = []
    login_statuses: list[int] = []
    for round_ in range(rounds):
        seconds, statuses = _creates(session, url, writes)
        alone += seconds
        create_statuses += statuses
        stop, out = context.Event(), context.Queue()
        burst = context.Process(target=_burst, args=(url, polite, f"{int(polite)}{round_}", stop, out))
        burst.start()
        time.sleep(2.0)  # the process is up and the first logins are hashing
        seconds, statuses = _creates(session, url, writes)
        during += seconds
        create_statuses += statuses
        stop.set()
        login_statuses += out.get(timeout=BURST_SECONDS + 30)
        burst.join(30)
    return {
        "alone": alone,
        "during": during,
        "creates": create_statuses,
        "logins": login_statuses,
        "ratio": percentile(during, 0.99) / percentile(alone, 0.99),
    }


def _describe(kind: str, result: dict[str, Any]) -> str:
    alone, during, logins = result["alone"], result["during"], result["logins"]
    return (
        f"bench_auth: {kind}: {len(alone)} creates alone p50 {percentile(alone, 0.5) * 1000:.1f} ms "
        f"p99 {percentile(alone, 0.99) * 1000:.1f} ms; {len(during)} during the bursts p50 "
        f"{percentile(during, 0.5) * 1000:.1f} ms p99 {percentile(during, 0.99) * 1000:.1f} ms "
        f"(p99 ratio {result['ratio']:.2f}); logins: {len(logins)} answers, {logins.count(401)} hashed (401), "
        f"{logins.count(429)} busy (429), {sum(s >= 500 for s in logins)} 5xx; load {os.getloadavg()[0]:.1f}"
    )


def run(quick: bool) -> list[Result]:
    rounds, writes = (2, 30) if quick else (4, 50)
    with isolated_database("auth") as env:
        env = {**env, "RATELIMIT_ENABLE": "0", "LOG_LEVEL": "WARNING", "WHL_TESTING": "0"}
        with LiveServer(env) as server:
            token = register(server.url, "writer@example.com")["accessToken"]
            polite = _rounds(server.url, token, polite=True, rounds=rounds, writes=writes)
            print(_describe("polite burst (Retry-After honoured)", polite), flush=True)
            flood = _rounds(server.url, token, polite=False, rounds=max(1, rounds // 2), writes=writes)
            print(_describe("flood (Retry-After ignored; no target)", flood), flush=True)
    statuses = [*polite["creates"], *polite["logins"], *flood["creates"], *flood["logins"]]
    p99_alone, p99_during = (percentile(polite[key], 0.99) * 1000 for key in ("alone", "during"))
    return [
        lower_is_better(
            "auth: create p99 during a login burst vs alone", p99_during, p99_alone, "ms", MAX_RATIO, "CPU, not a lock"
        ),
        lower_is_better(
            "auth: 5xx of all requests (polite and flood)",
            sum(status >= 500 for status in statuses),
            len(statuses),
            "count",
            0.0,
            "must be 0",
        ),
    ]
