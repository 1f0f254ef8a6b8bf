"""Every 429 the project sends says when to come back (``Retry-After``).

The extension retries 429s; one without ``Retry-After`` is retried at once, into the same limit.
Each source of a 429 is exercised here: the request limits, the login attempt limit, the busy
password hashing, and the floor that ``JsonErrorMiddleware`` puts under any other 429. The
Socket.IO polling refusals are checked in ``whatshybrid/realtime/tests/test_limits.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory

from whatshybrid.api.errors import RETRY_AFTER_DEFAULT_SECONDS
from whatshybrid.api.middleware import JsonErrorMiddleware

pytestmark = pytest.mark.django_db


def _retry_after(response: Any) -> int:
    assert response.status_code == 429, response.content
    return int(response["Retry-After"])


def test_the_general_request_limit(api_client: Any, settings: Any) -> None:
    settings.RATELIMIT_GENERAL = "2/m"
    answers = [api_client.get("/api/v1/auth/me") for _ in range(3)]
    assert 1 <= _retry_after(answers[-1]) <= 60


def test_the_login_attempt_limit(anon_client: Any, settings: Any) -> None:
    settings.RATELIMIT_AUTH = "1/15m"
    body = {"email": "nobody@example.com", "password": "wrong-123"}
    assert anon_client.post("/api/v1/auth/login", body).status_code == 401
    assert 1 <= _retry_after(anon_client.post("/api/v1/auth/login", body)) <= 15 * 60


def test_the_registration_limit(anon_client: Any, settings: Any) -> None:
    settings.RATELIMIT_AUTH = "1/15m"
    for n in range(2):
        response = anon_client.post(
            "/api/v1/auth/register", {"email": f"new{n}@example.com", "password": "s3cret-Passw0rd", "name": "N"}
        )
    assert 1 <= _retry_after(response) <= 15 * 60


def test_busy_password_hashing(anon_client: Any, settings: Any) -> None:
    settings.PASSWORD_HASH_CONCURRENCY = settings.PASSWORD_HASH_QUEUE = 0  # no turn left for anyone
    response = anon_client.post("/api/v1/auth/login", {"email": "nobody@example.com", "password": "wrong-123"})
    assert _retry_after(response) == 1 and response.json()["code"] == "SERVER_BUSY"


@pytest.mark.parametrize("content_type", ["application/json", "text/html"])
def test_a_429_that_names_no_wait_gets_the_default(content_type: str) -> None:
    """Whatever answers a 429 without the header (a future limit, a library), the client still
    learns when to come back."""

    def view(request: HttpRequest) -> Any:
        if content_type == "application/json":
            return JsonResponse({"message": "slow down", "code": "RATE_LIMITED"}, status=429)
        return HttpResponse(b"<p>slow down</p>", status=429, content_type=content_type)

    response = JsonErrorMiddleware(view)(RequestFactory().get("/api/v1/anything"))
    assert _retry_after(response) == RETRY_AFTER_DEFAULT_SECONDS
    assert response["Content-Type"].startswith("application/json")
