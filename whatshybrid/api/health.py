"""Liveness (``/health``, ``/api/health``) and readiness (``/api/health/ready``) probes.

Plain Django views: no auth, no rate limit, no database on the liveness path so the
extension's 5-second probe never fails because of load elsewhere.
"""

from __future__ import annotations

import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

STARTED_AT = time.time()


@require_safe
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "service": "whatshybrid-api", "uptime_seconds": int(time.time() - STARTED_AT)})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    if cache.get(key) != "1":
        raise RuntimeError("cache read-back failed")
    cache.delete(key)


def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.send)(channel, {"type": "health.ping"})
    if async_to_sync(layer.receive)(channel).get("type") != "health.ping":
        raise RuntimeError("channel layer round-trip failed")


@require_safe
def readiness(request: HttpRequest) -> JsonResponse:
    checks = {}
    healthy = True
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("channel_layer", _check_channel_layer),
    ):
        started = time.perf_counter()
        try:
            check()
            checks[name] = {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as exc:  # a probe reports failures, it never raises them
            healthy = False
            checks[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
