"""Rate limits from the original backend's table, counted by django-ratelimit in the shared cache.

DRF throttles are the hook (they run after authentication, so the general limit is per user,
and DRF turns a refusal into 429 + ``Retry-After``); the counting itself is django-ratelimit's
fixed-window ``get_usage`` so every process that shares the cache shares the budget.

On Redis the counting hit is one pipelined round trip (``SET NX`` + ``INCR``) on the same key
django-ratelimit uses: its generic ``add`` then ``incr`` costs three (Django's ``incr`` checks
``EXISTS`` first), and this runs on every request.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django_ratelimit.core import ALL, EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it,
    # and a deployment behind one sets REMOTE_ADDR through the proxy's own mechanism.
    return request.META.get("REMOTE_ADDR") or "unknown"


def consume(
    request: HttpRequest | None, *, group: str, key: str, rate: str, increment: bool = True
) -> dict[str, Any] | None:
    """Counts one hit for ``key`` in ``group``; returns django-ratelimit's usage (None if disabled).

    The count is atomic (Redis ``INCR``; LocMemCache's ``add``/``incr`` under its lock), so a
    caller that counts *before* acting lets exactly ``limit`` concurrent requests through.
    ``request`` is only django-ratelimit's method filter (every method counts here).
    """
    if not settings.RATELIMIT_ENABLE:
        return None
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if increment and isinstance(cache, RedisCache):
        return _count_on_redis(cache, group=group, key=key, rate=rate)
    return get_usage(request, group=group, key=lambda _group, _request: key, rate=rate, increment=increment)


def reset(*, group: str, key: str, rate: str) -> None:
    """Forgets the hits counted for ``key`` in ``group`` in the current window."""
    _limit, period = _split_rate(rate)
    window = _get_window(key, period)
    caches[settings.RATELIMIT_USE_CACHE].delete(_make_cache_key(group, window, rate, key, ALL))


@lru_cache(maxsize=8)
def _client_for(pool: Any) -> Any:
    # Django's cache builds a new client object (and its options dict) on every call.
    return redis.Redis(connection_pool=pool)


def _count_on_redis(cache: RedisCache, *, group: str, key: str, rate: str) -> dict[str, Any]:
    limit, period = _split_rate(rate)
    window = _get_window(key, period)
    cache_key = cache.make_and_validate_key(_make_cache_key(group, window, rate, key, ALL))
    pipeline = _client_for(cache._cache._get_connection_pool(write=True)).pipeline(transaction=False)
    pipeline.set(cache_key, 0, ex=period + EXPIRATION_FUDGE, nx=True)
    pipeline.incr(cache_key)
    count = pipeline.execute()[1]
    return {"count": count, "limit": limit, "should_limit": count > limit, "time_left": window - int(time.time())}


class _CacheThrottle(BaseThrottle):
    group = ""
    rate_setting = ""

    def key(self, request: Request) -> str:
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return f"user:{user.pk}"
        return f"ip:{client_ip(request)}"

    def allow_request(self, request: Request, view: Any) -> bool:
        usage = consume(request, group=self.group, key=self.key(request), rate=getattr(settings, self.rate_setting))
        self._time_left = usage["time_left"] if usage else 0
        return not (usage and usage["should_limit"])

    def wait(self) -> float | None:
        return max(1, self._time_left)


class GeneralRateThrottle(_CacheThrottle):
    group = "general"
    rate_setting = "RATELIMIT_GENERAL"


class RegistrationRateThrottle(_CacheThrottle):
    group = "auth-register"
    rate_setting = "RATELIMIT_AUTH"

    def key(self, request: Request) -> str:
        return f"ip:{client_ip(request)}"


class AIRateThrottle(_CacheThrottle):
    group = "ai"
    rate_setting = "RATELIMIT_AI"


class WebhookRateThrottle(_CacheThrottle):
    group = "webhooks"
    rate_setting = "RATELIMIT_WEBHOOKS"

    def key(self, request: Request) -> str:
        return f"ip:{client_ip(request)}"
