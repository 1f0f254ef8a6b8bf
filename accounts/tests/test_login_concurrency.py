"""Logins under concurrency, over real HTTP (pytest-django's threaded live server on 127.0.0.1).

- The attempt limit is counted before the password is checked, so parallel guesses cannot all
  be checked (issue 14.3).
- No password is hashed or verified inside a transaction: on SQLite a write transaction is the
  database-wide lock, so a burst of logins stalled every other workspace's writes (issue 14.2).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.test import override_settings

from accounts.models import User, Workspace
from accounts.services import session_start
from accounts.tests.hashing import HASHERS, RecordingHasher, SlowHasher

PASSWORD = "s3cret-Passw0rd"
TIMEOUT = 60
WAVE = 20

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


@pytest.fixture
def recording() -> Any:
    with override_settings(PASSWORD_HASHERS=HASHERS):
        RecordingHasher.reset()
        yield RecordingHasher
        RecordingHasher.reset()


def _post_together(url: str, bodies: list[dict[str, Any]]) -> list[int]:
    """POSTs the bodies in waves of ``WAVE`` released together by a barrier; returns the statuses.

    Waves, not all at once: the live server's listen backlog is small, and a refused connection
    would test the socket layer instead of the login.
    """
    statuses: list[int] = []
    for first in range(0, len(bodies), WAVE):
        wave = bodies[first : first + WAVE]
        start = threading.Barrier(len(wave), timeout=TIMEOUT)

        def post(body: dict[str, Any], start: threading.Barrier = start) -> int:
            start.wait()
            return requests.post(url, json=body, timeout=TIMEOUT).status_code

        with ThreadPoolExecutor(max_workers=len(wave)) as pool:
            statuses += pool.map(post, wave)
    return statuses


# These two tests are about counting and 5xx, not about busy answers: every login may wait for a
# hash instead of getting 429 (test_a_login_burst_hashes_at_most_the_slots).
QUEUE_FOR_SLOTS = override_settings(PASSWORD_HASH_QUEUE=100)


@QUEUE_FOR_SLOTS
@override_settings(RATELIMIT_AUTH="5/15m")
def test_parallel_guesses_check_at_most_the_limit(live_server: Any, recording: Any, make_user: Any) -> None:
    user = make_user(email="target@example.com")
    Workspace.objects.create(name="W").memberships.create(user=user, role="owner")
    url = f"{live_server.url}/api/v1/auth/login"
    guesses = [{"email": user.email, "password": f"wrong-{n}"} for n in range(39)]
    statuses = _post_together(url, guesses)
    right = requests.post(url, json={"email": user.email, "password": PASSWORD}, timeout=TIMEOUT)

    checks = [call for call in recording.calls if call.kind == "verify"]
    assert len(checks) <= 5, f"{len(checks)} passwords were checked"
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) == len(checks)
    assert right.status_code == 429  # the budget is spent: the right password is not checked either
    assert len([call for call in recording.calls if call.kind == "verify"]) == len(checks)


@QUEUE_FOR_SLOTS
def test_a_login_burst_answers_no_5xx_beside_another_workspaces_writes(
    live_server: Any, recording: Any, other_workspace: Workspace, other_user: User
) -> None:
    """60 logins with unknown emails while another workspace writes: no 5xx, every login hashed."""
    token = session_start(user=other_user, workspace=other_workspace).access
    logins = [{"email": f"nobody-{n}@example.com", "password": "whatever-123"} for n in range(60)]
    writes = [{"phone": f"+5511987{n:06d}", "name": f"W{n}"} for n in range(20)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        login_run = pool.submit(_post_together, f"{live_server.url}/api/v1/auth/login", logins)
        write_run = pool.submit(
            lambda: [
                requests.post(
                    f"{live_server.url}/api/v1/contacts",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=TIMEOUT,
                ).status_code
                for body in writes
            ]
        )
        login_statuses, write_statuses = login_run.result(), write_run.result()

    assert login_statuses == [401] * 60
    assert write_statuses == [201] * 20
    assert len(recording.calls) >= 60


HASH_SECONDS = 3.0


@pytest.mark.parametrize("action", ["register", "login", "password"])
def test_a_write_commits_while_a_password_hashes(
    action: str, live_server: Any, settings: Any, make_user: Any, other_workspace: Workspace, other_user: User
) -> None:
    """No request hashes inside a transaction: on SQLite a write transaction is the database-wide
    lock, and another workspace's write would wait for the whole hash (issue 14.2)."""
    user = make_user(email="hasher@example.com")
    workspace = Workspace.objects.create(name="Hashing")
    workspace.memberships.create(user=user, role="owner")
    settings.PASSWORD_HASHERS = ["accounts.tests.hashing.SlowHasher"]  # verifies the fixture's MD5 hash
    SlowHasher.seconds, SlowHasher.running = HASH_SECONDS, 0
    url = f"{live_server.url}/api/v1/auth"
    request = {
        "register": lambda: requests.post(
            f"{url}/register", json={"email": "new@example.com", "password": PASSWORD, "name": "N"}, timeout=TIMEOUT
        ),
        "login": lambda: requests.post(
            f"{url}/login", json={"email": user.email, "password": "wrong"}, timeout=TIMEOUT
        ),
        "password": lambda: requests.put(
            f"{url}/password",
            json={"currentPassword": "wrong", "newPassword": "An0ther-Passw0rd"},
            headers={"Authorization": f"Bearer {session_start(user=user, workspace=workspace).access}"},
            timeout=TIMEOUT,
        ),
    }[action]
    write_token = session_start(user=other_user, workspace=other_workspace).access
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(request)
            deadline = time.monotonic() + TIMEOUT
            while not SlowHasher.running and time.monotonic() < deadline and not hashing.done():
                time.sleep(0.01)
            assert SlowHasher.running, "the hash never started"
            write = requests.post(
                f"{live_server.url}/api/v1/contacts",
                json={"phone": "+5511987000001"},
                headers={"Authorization": f"Bearer {write_token}"},
                timeout=TIMEOUT,
            )
            still_hashing = SlowHasher.running
            assert hashing.result().status_code < 500
    finally:
        SlowHasher.seconds = 0.3
    assert write.status_code == 201
    assert still_hashing, f"the write waited for the {HASH_SECONDS} s hash ({write.elapsed.total_seconds():.2f} s)"


def test_register_hashes_whether_or_not_the_email_is_taken(anon_client: Any, user: User, recording: Any) -> None:
    """EMAIL_TAKEN costs the same hash as a new account: no enumeration by timing (issue 14.16)."""
    taken = anon_client.post("/api/v1/auth/register", {"email": user.email, "password": PASSWORD, "name": "X"})
    assert taken.status_code == 409 and taken.json()["code"] == "EMAIL_TAKEN"
    hashes_for_taken = [call.kind for call in recording.calls].count("encode")
    recording.reset()
    new = anon_client.post("/api/v1/auth/register", {"email": "fresh@example.com", "password": PASSWORD, "name": "Y"})
    assert new.status_code == 201
    assert hashes_for_taken == [call.kind for call in recording.calls].count("encode") == 1


def test_a_login_burst_hashes_at_most_the_slots_and_the_rest_are_429(live_server: Any, settings: Any) -> None:
    """Hashes are CPU work: 20 parallel logins took every HTTP thread and both cores, and another
    workspace's write waited 4.9 s (bench_auth). At most PASSWORD_HASH_CONCURRENCY hash at once,
    PASSWORD_HASH_QUEUE more wait; the others answer 429 busy with Retry-After at once."""
    settings.PASSWORD_HASHERS = ["accounts.tests.hashing.SlowHasher"]
    SlowHasher.running = SlowHasher.most_at_once = 0
    SlowHasher.seconds = HASH_SECONDS
    url = f"{live_server.url}/api/v1/auth/login"
    start = threading.Barrier(WAVE, timeout=TIMEOUT)

    def login(n: int) -> requests.Response:
        start.wait()
        return requests.post(url, json={"email": f"nobody-{n}@example.com", "password": "x-123"}, timeout=TIMEOUT)

    try:
        with ThreadPoolExecutor(max_workers=WAVE) as pool:
            responses = list(pool.map(login, range(WAVE)))
    finally:
        SlowHasher.seconds = 0.3
    assert SlowHasher.most_at_once <= settings.PASSWORD_HASH_CONCURRENCY
    statuses = [response.status_code for response in responses]
    assert set(statuses) == {401, 429}
    for busy in (response for response in responses if response.status_code == 429):
        assert busy.json()["code"] == "SERVER_BUSY" and busy.json()["message"]
        assert busy.headers["Retry-After"] == "1"
        assert busy.elapsed.total_seconds() < HASH_SECONDS  # refused at once, not after a wait
