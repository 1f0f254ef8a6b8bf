"""The one-round-trip Redis counter keeps django-ratelimit's semantics and keys."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from django_ratelimit.core import get_usage

from whatshybrid.api.throttling import consume

cache = caches["default"]
pytestmark = pytest.mark.skipif(not isinstance(cache, RedisCache), reason="the pipelined counter is Redis-only")


def test_counts_share_django_ratelimits_key_and_expire_with_the_window() -> None:
    request = RequestFactory().get("/")
    counts = [consume(request, group="g", key="user:1", rate="3/m")["count"] for _ in range(4)]
    assert counts == [1, 2, 3, 4]
    read = get_usage(request, group="g", key=lambda _g, _r: "user:1", rate="3/m", increment=False)
    assert read["count"] == 4 and read["should_limit"]
    assert consume(request, group="g", key="user:2", rate="3/m")["count"] == 1

    redis = cache._cache.get_client(write=True)
    ttls = [redis.ttl(key) for key in redis.scan_iter(match=f"{cache.key_prefix}*rl:*")]
    assert len(ttls) == 2 and all(0 < ttl <= 60 + 5 for ttl in ttls)
