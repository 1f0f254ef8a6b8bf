"""A burst of logins must not stall another workspace's writes (issue 14.2).

Login, register and password change hash passwords (PBKDF2, the production hasher here: the
server runs without ``WHL_TESTING``). Once they hashed inside ``transaction.atomic`` -- on SQLite
``BEGIN IMMEDIATE``, the database-wide write lock -- and 60 parallel logins stalled other
workspaces' writes for 11-20 s. Measured: the p99 of one client's contact creates while 60
clients log in with unknown emails, beside the p99 of the same creates alone. At most
PASSWORD_HASH_CONCURRENCY hashes run at once; the other logins answer 503 at once (counted
apart). What remains is the flood itself: 60 clients retrying without pause keep the HTTP
threads and cores busy with cheap refusals.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import LiveServer, Result, isolated_database, lower_is_better, percentile, register

LOGIN_CLIENTS = 60
MAX_RATIO = 10.0  # the lock stall was 11-20 s against ~10 ms writes: >1000x
_phones = itertools.count(1)


def _creates(url: str, token: str, count: int) -> tuple[list[float], list[int]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    seconds, statuses = [], []
    for _ in range(count):
        response = session.post(f"{url}/api/v1/contacts", json={"phone": f"+5511{next(_phones):09d}"}, timeout=60)
        seconds.append(response.elapsed.total_seconds())
        statuses.append(response.status_code)
    return seconds, statuses


def _login_burst(url: str, stop: threading.Event, statuses: list[int]) -> None:
    def client(index: int) -> None:
        session = requests.Session()
        for n in itertools.count():
            if stop.is_set() or n >= 50:
                return
            body = {"email": f"nobody-{index}-{n}@example.com", "password": "Whatever-123"}
            # Clients that ignore Retry-After on 503 (busy): the same flood as before the bound.
            statuses.append(session.post(f"{url}/api/v1/auth/login", json=body, timeout=60).status_code)

    with ThreadPoolExecutor(max_workers=LOGIN_CLIENTS) as pool:
        list(pool.map(client, range(LOGIN_CLIENTS)))


def run(quick: bool) -> list[Result]:
    writes = 30 if quick else 150
    with isolated_database("auth") as env:
        env = {**env, "RATELIMIT_ENABLE": "0", "LOG_LEVEL": "WARNING", "WHL_TESTING": "0"}
        with LiveServer(env) as server:
            token = register(server.url, "writer@example.com")["accessToken"]
            alone, alone_statuses = _creates(server.url, token, writes)
            stop, login_statuses = threading.Event(), []
            burst = threading.Thread(target=_login_burst, args=(server.url, stop, login_statuses), daemon=True)
            burst.start()
            during, during_statuses = _creates(server.url, token, writes)
            stop.set()
            burst.join(120)
    # 503 is the answer to a login beyond the hash slots (SERVER_BUSY, Retry-After): expected.
    busy = login_statuses.count(503)
    errors = sum(status >= 500 for status in [*alone_statuses, *during_statuses, *login_statuses]) - busy
    p99_alone, p99_during = percentile(alone, 0.99) * 1000, percentile(during, 0.99) * 1000
    print(
        f"bench_auth: {writes} contact creates alone p50 {percentile(alone, 0.5) * 1000:.1f} ms p99 {p99_alone:.1f} ms; "
        f"during {len(login_statuses)} logins from {LOGIN_CLIENTS} clients p50 {percentile(during, 0.5) * 1000:.1f} ms "
        f"p99 {p99_during:.1f} ms; 503 busy: {busy}; other 5xx: {errors}"
    )
    return [
        lower_is_better(
            "auth: create p99 during a login burst vs alone", p99_during, p99_alone, "ms", MAX_RATIO, "CPU, not a lock"
        ),
        lower_is_better(
            "auth: 5xx (but 503 busy logins) of all requests in the burst",
            errors,
            len(during) + len(login_statuses),
            "count",
            0.0,
            "must be 0",
        ),
    ]
