"""AI benchmark: what ``POST /api/v1/ai/complete`` adds on top of the provider's own time.

A fake provider (``ai/tests/fake_provider.py``, OpenAI format, answering at once) runs on
127.0.0.1; a live server calls it through the guarded client with the workspace's own key (set
through ``/settings/ai-keys``, encrypted at rest, as a workspace configures it). Each round sends
the same chat body to the provider directly (the bare round trip, baseline) and through
``/ai/complete`` (auth, throttles, the key's read, knowledge search over 50 FAQs, the credit
reservation and settlement, the stored call), interleaved so both see the same machine.
Target: the added p50 ≤ 20 ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

HELLO = [{"role": "system", "content": "Seja breve."}, {"role": "user", "content": "Vocês entregam no sábado?"}]


def _timed(session, url: str, body: dict, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = session.post(url, json=body, headers=headers, timeout=30)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed * 1000


def run(quick: bool) -> list:
    import requests
    from cryptography.fernet import Fernet

    from ai.tests.fake_provider import FakeProvider
    from bench.common import ROOT, LiveServer, Result, isolated_database, percentile, register_bench_user

    calls = 60 if quick else 400
    provider = FakeProvider()
    try:
        with isolated_database("ai") as env:
            server_env = {
                **env,
                "OUTGOING_HTTP_ALLOW_NETWORKS": "127.0.0.0/8",
                "AI_OPENAI_BASE_URL": provider.base_url,
                "ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # not the development key file
                "RATELIMIT_GENERAL": "100000000/m",
                "RATELIMIT_AI": "100000000/m",
            }
            with LiveServer(server_env) as server, requests.Session() as session:
                headers, registered = register_bench_user(session, server.url)
                subprocess.run(
                    [
                        sys.executable,
                        "manage.py",
                        "grant_credits",
                        "--workspace",
                        registered["workspace"]["id"],
                        str(calls * 10),
                    ],
                    cwd=ROOT,
                    env={**os.environ, **server_env},
                    check=True,
                    capture_output=True,
                )
                session.put(
                    f"{server.url}/api/v1/settings/ai-keys",
                    json={"openai": "sk-bench-0123456789"},
                    headers=headers,
                    timeout=30,
                ).raise_for_status()
                faq = [
                    {"id": f"f{i}", "question": f"Pergunta {i} sobre entrega e prazo?", "answer": f"Resposta {i}"}
                    for i in range(50)
                ]
                session.post(
                    f"{server.url}/api/v1/knowledge/sync",
                    json={"action": "sync", "knowledge": {"faq": faq}},
                    headers=headers,
                    timeout=30,
                ).raise_for_status()
                bare_url = f"{provider.base_url}/chat/completions"
                bare_body = {"model": "gpt-4o-mini", "messages": HELLO, "max_tokens": 64}
                ours_url = f"{server.url}/api/v1/ai/complete"
                ours_body = {"messages": HELLO, "maxTokens": 64}
                provider_headers = {"Authorization": "Bearer sk-bench-0123456789"}
                for _ in range(5):  # warm both paths (connections, first queries)
                    _timed(session, bare_url, bare_body, provider_headers)
                    _timed(session, ours_url, ours_body, headers)
                bare, ours = [], []
                deadline = time.monotonic() + 300
                for _ in range(calls):
                    if time.monotonic() > deadline:
                        break
                    bare.append(_timed(session, bare_url, bare_body, provider_headers))
                    ours.append(_timed(session, ours_url, ours_body, headers))
    finally:
        provider.stop()
    bare_p50, ours_p50 = percentile(bare, 0.5), percentile(ours, 0.5)
    added = ours_p50 - bare_p50
    return [
        Result(
            f"/ai/complete added p50 over the bare provider round trip ({len(ours)} calls)",
            added,
            bare_p50,
            "ms",
            "added p50 <= 20 ms",
            added <= 20,
            note=f"p50 ours {ours_p50:.1f} ms, bare {bare_p50:.1f} ms; p99 ours {percentile(ours, 0.99):.1f} ms",
        ),
    ]
