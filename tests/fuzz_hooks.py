"""Schemathesis hooks for the schema fuzzing run (loaded through ``SCHEMATHESIS_HOOKS``).

The fuzzer authenticates as the seeded user. Fuzzing ``/auth/logout`` revokes that session on
purpose, so the token is cached but fetched again (a real login) whenever a request gets a 401.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis


@schemathesis.auth(refresh_interval=600)
class SeededUserLogin:
    def get(self, case: Any, context: Any) -> str:
        response = requests.post(
            f"{os.environ['WHL_FUZZ_BASE_URL']}/api/v1/auth/login",
            json={"email": os.environ["WHL_FUZZ_EMAIL"], "password": os.environ["WHL_FUZZ_PASSWORD"]},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["accessToken"]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
