"""CRM benchmarks, served by one uvicorn process over its own database.

1. ``GET /api/v1/crm/pipeline`` (auth, membership, throttle; every stage's deal count and total
   value in one grouped query) against a bare Django view doing what the original backend did:
   a count and a sum query per stage. Target: ≥ 0.8× the bare view's throughput.
2. ``GET /api/v1/crm/deals?limit=50`` (filters, keyset paging, nested contact, labels in one
   query) against a bare view returning the same rows with ``.values()`` + ``JsonResponse``.
   Target: ≥ 0.4× the bare view's throughput.

When ``WHL_BENCH_CRM_SERVER=1`` this module is the server's settings and URLconf: the bare views
live only in the benchmark, never in the product's URLs.
"""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("WHL_BENCH_CRM_SERVER") == "1":  # imported as DJANGO_SETTINGS_MODULE
    from whatshybrid.settings import *  # noqa: F403

    ROOT_URLCONF = __name__

BARE_DEAL_FIELDS = ("id", "title", "description", "value", "currency", "stage_id", "stage__name", "status")
BARE_DEAL_FIELDS += ("probability", "contact_id", "contact__name", "contact__phone", "assigned_to_id", "created_at")


def __getattr__(name: str) -> Any:
    # The URLconf is built on first use (after django.setup()), not while settings load.
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.db.models import Sum
    from django.http import HttpRequest, JsonResponse
    from django.urls import include, path

    from crm.models import Deal, PipelineStage

    def bare_pipeline(request: HttpRequest) -> JsonResponse:
        stages = []
        for stage in PipelineStage.objects.filter(workspace_id=request.GET["workspace"]).order_by("position"):
            deals = Deal.objects.filter(stage=stage)
            total = deals.aggregate(total=Sum("value"))["total"] or 0
            stages.append({"id": stage.pk, "name": stage.name, "deal_count": deals.count(), "total_value": total})
        return JsonResponse({"stages": stages})

    def bare_deals(request: HttpRequest) -> JsonResponse:
        rows = Deal.objects.filter(workspace_id=request.GET["workspace"]).order_by("-created_at", "-id")
        return JsonResponse({"deals": list(rows.values(*BARE_DEAL_FIELDS)[:50])})

    return [
        path("bench/bare-pipeline", bare_pipeline),
        path("bench/bare-deals", bare_deals),
        path("", include("whatshybrid.urls")),
    ]


def _rate(base_url: str, path: str, headers: dict[str, str], count: int) -> float:
    """Sequential requests per second of one keep-alive client (every answer must be a 200)."""
    from bench.common import drive

    samples = drive(
        base_url, headers, lambda client, n: (path, "GET", path, None), clients=1, duration=120, max_requests=count
    )
    assert samples and all(sample.status == 200 for sample in samples), {s.status for s in samples}
    return len(samples) / sum(sample.seconds for sample in samples)


def _seed(session: Any, base_url: str, headers: dict[str, str], deals: int) -> None:
    rows = [{"phone": f"+55119{i:08d}", "name": f"Cliente {i}"} for i in range(50)]
    session.post(
        f"{base_url}/api/v1/contacts/import", json={"contacts": rows}, headers=headers, timeout=120
    ).raise_for_status()
    contacts = session.get(f"{base_url}/api/v1/contacts?limit=50", headers=headers, timeout=30).json()["contacts"]
    stages = session.get(f"{base_url}/api/v1/crm/pipeline", headers=headers, timeout=30).json()["stages"]
    labels = session.get(f"{base_url}/api/v1/crm/labels", headers=headers, timeout=30).json()["labels"]
    for i in range(deals):
        body = {
            "contact_id": contacts[i % len(contacts)]["id"],
            "title": f"Negócio {i}",
            "value": f"{(i * 37) % 10_000}.{i % 100:02d}",
            "stage": stages[i % len(stages)]["id"],
            "labels": [labels[i % len(labels)]["id"]],
        }
        session.post(f"{base_url}/api/v1/crm/deals", json=body, headers=headers, timeout=30).raise_for_status()


def run(quick: bool) -> list:
    import requests

    from bench.common import LiveServer, bench_server_env, higher_is_better, isolated_database, register_bench_user

    deals, rounds, per_round = (200, 2, 30) if quick else (1000, 5, 100)
    with isolated_database("crm") as env:
        server_env = bench_server_env(env, settings_module="bench.bench_crm", flag="WHL_BENCH_CRM_SERVER")
        with LiveServer(server_env) as server, requests.Session() as session:
            headers, registered = register_bench_user(session, server.url)
            workspace_id = registered["workspace"]["id"]
            _seed(session, server.url, headers, deals)

            board = session.get(f"{server.url}/api/v1/crm/pipeline", headers=headers, timeout=30).json()["stages"]
            bare_board = session.get(f"{server.url}/bench/bare-pipeline?workspace={workspace_id}", timeout=30).json()
            assert [s["deal_count"] for s in board] == [s["deal_count"] for s in bare_board["stages"]]
            assert sum(s["deal_count"] for s in board) == deals

            paths = {
                "pipeline": ("/api/v1/crm/pipeline", headers),
                "bare_pipeline": (f"/bench/bare-pipeline?workspace={workspace_id}", {}),
                "deals": ("/api/v1/crm/deals?limit=50", headers),
                "bare_deals": (f"/bench/bare-deals?workspace={workspace_id}", {}),
            }
            best = dict.fromkeys(paths, 0.0)
            for _ in range(rounds):  # interleaved, best of each: the machine is shared and noisy
                for key, (path, path_headers) in paths.items():
                    best[key] = max(best[key], _rate(server.url, path, path_headers, per_round))
    return [
        higher_is_better(
            f"GET /crm/pipeline ({deals} deals) vs bare per-stage count+sum view",
            best["pipeline"],
            best["bare_pipeline"],
            "req/s",
            0.8,
        ),
        higher_is_better(
            f"GET /crm/deals?limit=50 ({deals} deals) vs bare .values() view",
            best["deals"],
            best["bare_deals"],
            "req/s",
            0.4,
        ),
    ]
