"""Schemathesis hooks for the schema fuzzing run (loaded through ``SCHEMATHESIS_HOOKS``).

The fuzzer authenticates as the seeded user. Fuzzing ``/auth/logout`` revokes that session on
purpose, so the token is cached but fetched again (a real login) whenever a request gets a 401.
Every list's query parameters also get hostile values as explicit examples (see the end).
"""

from __future__ import annotations

import base64
import json
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


# --- hostile query parameters ------------------------------------------------------------------
# Values a generator rarely reaches but an attacker sends first: every documented query parameter
# of every operation without path parameters gets each, alone; the gate is still "no 5xx".
EXTREME_MOMENTS = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")
# Past the API's 1,000-character cap on query values, and still under the HTTP server's URL limit
# (uvicorn refuses longer request lines itself); whatshybrid/api/tests/test_params.py sends 50,001.
HUGE = "%_" * 2_500
NUMBER_OVERFLOWS = ("1e99999999", str(2**64))
DATE_WORDS = ("after", "before", "since", "date", "due")


def _cursor_with(moment: str) -> str:
    raw = json.dumps([moment, "00000000-0000-0000-0000-000000000001"], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def hostile_values(name: str, schema: dict[str, Any]) -> list[str]:
    values = ["a\x00b", HUGE]
    if schema.get("type") in ("number", "integer") or name.endswith(("_min", "_max", "_value")):
        values += NUMBER_OVERFLOWS
    if any(word in name for word in DATE_WORDS):
        values += EXTREME_MOMENTS
    if name in ("cursor", "before", "after"):
        values += [_cursor_with(moment) for moment in EXTREME_MOMENTS]
    return values


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    operation = context.operation
    if operation is None or list(operation.path_parameters):
        return
    for parameter in operation.query:
        definition = getattr(parameter, "definition", {}) or {}
        for value in hostile_values(parameter.name, definition.get("schema", {})):
            examples.append(operation.Case(query={parameter.name: value}))
