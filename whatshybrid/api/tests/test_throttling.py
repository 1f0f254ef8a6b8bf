"""The rate-limit counter is django-ratelimit's, on its keys; the one private piece we use (its
cache key, for ``reset``) is fenced by a comparison with the installed source."""

from __future__ import annotations

import inspect

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from django_ratelimit import core
from django_ratelimit.core import get_usage

from whatshybrid.api.throttling import consume, reset

cache = caches["default"]


@pytest.mark.skipif(not isinstance(cache, RedisCache), reason="reads the keys and expiries in Redis")
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


def test_reset_forgets_the_count_of_the_current_window() -> None:
    request = RequestFactory().get("/")
    for _ in range(3):
        consume(request, group="reset", key="ip:1", rate="3/m")
    reset(group="reset", key="ip:1", rate="3/m")
    assert consume(request, group="reset", key="ip:1", rate="3/m")["count"] == 1


# django-ratelimit's private functions behind whatshybrid.db.ratelimit_cache_key, as installed
# when it was written. A change here means an upgrade: re-check that function, then update the text.
GET_WINDOW_SOURCE = """def _get_window(value, period):
    \"\"\"
    Given a value, and time period return when the end of the current time
    period for rate evaluation is.
    \"\"\"
    ts = int(time.time())
    if period == 1:
        return ts
    if not isinstance(value, bytes):
        value = value.encode('utf-8')
    # This logic determines either the last or current end of a time period.
    # Subtracting (ts % period) gives us the a consistent edge from the epoch.
    # We use (zlib.crc32(value) % period) to add a consistent jitter so that
    # all time periods don't end at the same time.
    w = ts - (ts % period) + (zlib.crc32(value) % period)
    if w < ts:
        return w + period
    return w
"""
MAKE_CACHE_KEY_SOURCE = """def _make_cache_key(group, window, rate, value, methods):
    count, period = _split_rate(rate)
    safe_rate = '%d/%ds' % (count, period)
    parts = [group, safe_rate, value, str(window)]
    if methods is not None:
        if methods == ALL:
            methods = ''
        elif isinstance(methods, (list, tuple)):
            methods = ''.join(sorted([m.upper() for m in methods]))
        parts.append(methods)
    prefix = getattr(settings, 'RATELIMIT_CACHE_PREFIX', 'rl:')
    attr = getattr(settings, 'RATELIMIT_HASH_ALGORITHM', hashlib.sha256)
    algo_cls = (import_string(f'{attr}')
                if isinstance(attr, str)
                else attr
                )
    return prefix + algo_cls(''.join(parts).encode('utf-8')).hexdigest()
"""


def test_the_ratelimit_key_functions_match_the_installed_django_ratelimit() -> None:
    assert inspect.getsource(core._get_window) == GET_WINDOW_SOURCE
    assert inspect.getsource(core._make_cache_key) == MAKE_CACHE_KEY_SOURCE
