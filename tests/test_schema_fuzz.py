"""Schema fuzzing: schemathesis against the served OpenAPI schema of a real server process.

uvicorn on 127.0.0.1 (free port, its own freshly migrated database), a user registered and
seeded through the API, every operation, every default check, a fixed seed and a bounded number
of examples per operation. The gate is 0 failures and 0 server errors. Every response body the
fuzzer received also goes through the secret scan.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from ai.tests.fake_provider import FakeProvider
from bench.common import ROOT, LiveServer, isolated_database
from tests.routes import ACTION, DETAIL, NESTED, api_routes
from tests.secret_scan import scanner_for
from tests.seed import Seeder, requests_transport

HERE = Path(__file__).resolve().parent
# Half of the generated ids are the seeded objects' (so the fuzzer reaches past the 404), half random.
SEEDED_ID_PROBABILITY = 0.5

SEED = 20261129
MAX_EXAMPLES = int(os.environ.get("WHL_FUZZ_MAX_EXAMPLES", "8"))
# Known failures in endpoints still being fixed, each with its reason and owner; anything new fails.
BASELINE = HERE / "schemathesis-baseline.json"
TIME_BUDGET_SECONDS = 240
PASSWORD = "Fuzz-Passw0rd-2026"

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(TIME_BUDGET_SECONDS + 120)]


@pytest.fixture(scope="module")
def fuzz_server() -> Any:
    # The AI calls answer from a fake provider on 127.0.0.1 (no provider would make them 503s).
    provider = FakeProvider()
    ai_env = {
        "OUTGOING_HTTP_ALLOW_NETWORKS": "127.0.0.0/8",
        "AI_OPENAI_BASE_URL": provider.base_url,
        "OPENAI_API_KEY": "sk-fuzz-0123456789",
    }
    # The fuzzer's token fetch logs in while its other worker hashes on /auth/login and
    # /auth/register: it queues for a hash instead of getting the busy 429.
    quiet = {"RATELIMIT_ENABLE": "0", "LOG_LEVEL": "WARNING", "PASSWORD_HASH_QUEUE": "8"}
    try:
        with (
            isolated_database("fuzz") as env,
            LiveServer({**env, **ai_env, **quiet}) as server,
        ):
            yield server
    finally:
        provider.stop()


def _register_and_seed(base_url: str) -> tuple[str, Seeder]:
    email = "fuzzer@example.com"
    reply = requests.post(
        f"{base_url}/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Fuzzer"}, timeout=30
    )
    assert reply.status_code == 201, reply.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {reply.json()['accessToken']}"
    seeder = Seeder(requests_transport(session, base_url), marker="MKFUZZ")
    seeder.seed_all()
    return email, seeder


def _config_with_seeded_ids(seeder: Seeder, target: Path) -> Path:
    """tests/schemathesis.toml plus, for every route with ids, a dictionary of the seeded ones."""
    lines = [(HERE / "schemathesis.toml").read_text()]
    used: set[str] = set()
    for served, route in api_routes(DETAIL, ACTION, NESTED):
        resources = [route.params[param] for param in served.params]
        if not all(seeder.available(resource) for resource in resources):
            continue
        bindings = []
        for param, resource in zip(served.params, resources, strict=True):
            used.add(resource)
            name = "id" if param == "pk" else param  # drf-spectacular documents {pk} as {id}
            bindings.append(
                f'"path.{name}" = {{ dictionary = "{resource}_ids", probability = {SEEDED_ID_PROBABILITY} }}'
            )
        pattern = "^/" + re.sub(r"\{\w+\}", r"\\\\{[^}]+\\\\}", served.path) + "$"
        lines.append(f'[[operations]]\ninclude-path-regex = "{pattern}"\nparameters = {{ {", ".join(bindings)} }}\n')
    for resource in sorted(used):
        lines.append(f'[dictionaries.{resource}_ids]\nvalues = ["{seeder.id(resource)}"]\n')
    target.write_text("\n".join(lines))
    return target


def test_schemathesis_finds_no_failures(
    fuzz_server: LiveServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    email, seeder = _register_and_seed(fuzz_server.url)
    config = _config_with_seeded_ids(seeder, tmp_path / "schemathesis.toml")
    har = tmp_path / "fuzz.har"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{fuzz_server.url}/api/v1/schema?format=json",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-database",
        "none",
        "--workers",
        "2",
        "--request-timeout",
        "20",
        "--no-color",
        "--report",
        "har",
        "--report-har-path",
        str(har),
        "--continue-on-failure",
        "--baseline",
        str(BASELINE),
    ]
    if os.environ.get("WHL_FUZZ_UPDATE_BASELINE") == "1":
        command.append("--baseline-update")
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks",
        "PYTHONPATH": str(ROOT),
        "WHL_FUZZ_BASE_URL": fuzz_server.url,
        "WHL_FUZZ_EMAIL": email,
        "WHL_FUZZ_PASSWORD": PASSWORD,
    }
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS + 60)
    report = run.stdout[-20000:] + run.stderr[-4000:]
    _scan_har(har, scanner_for(request.config))
    assert run.returncode == 0, f"schemathesis found problems (exit {run.returncode}):\n{report}"
    assert "No issues found" in run.stdout or "passed" in run.stdout, report


def _scan_har(har: Path, scanner: Any) -> None:
    if not har.exists():
        return
    for entry in json.loads(har.read_text()).get("log", {}).get("entries", []):
        text = entry.get("response", {}).get("content", {}).get("text") or ""
        where = f"fuzzed response to {entry['request']['method']} {entry['request']['url']}"
        scanner.scan_text(text, where=where, allow_from_request=-1)


def test_every_accepted_fuzz_failure_is_explained() -> None:
    entries = json.loads(BASELINE.read_text())["entries"] if BASELINE.exists() else []
    unexplained = [entry["operation"] for entry in entries if not entry.get("reason") or not entry.get("owner")]
    assert not unexplained, f"{BASELINE.name}: every accepted failure needs an owner and a reason: {unexplained}"
