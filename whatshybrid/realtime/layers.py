"""Channel layers, one per deployment mode.

``LocalChannelLayer`` (embedded mode): Channels' in-memory layer, made to scale with many sockets.
The stock layer deep-copies each message per receiver, spawns a task per group member, and scans
every channel and group on every ``receive`` and ``group_send``: with 1,000 sockets one event costs
about a million steps. Here a send stores a shallow copy (consumers never mutate messages), a
group send puts straight into each queue, and the expiry scan runs at most once a second.

``RedisChannelLayer`` (scaled mode): channels-redis' layer plus ``group_send_blocking`` for the
publisher, which runs in a request's worker thread. ``async_to_sync(group_send)`` there parks the
thread until the event loop, busy with every other request, gets round to two Redis round trips
(four when the group has members); the blocking send makes the same writes from the thread itself,
with a synchronous client, in one round trip (two with members). Its per-channel receive lock
also uncounts a waiter that is cancelled (see ``ChannelLock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

import redis
import redis.asyncio as aioredis
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis import core
from django.conf import settings

logger = logging.getLogger(__name__)

CLEAN_INTERVAL_SECONDS = 1.0


class LocalChannelLayer(InMemoryChannelLayer):
    _cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_INTERVAL_SECONDS:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
        try:
            queue.put_nowait((time.time() + self.expiry, dict(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            with contextlib.suppress(ChannelFull):  # a full socket catches up from the log later
                await self.send(channel, message)


# channels-redis' own group-send script (``core.RedisChannelLayer.group_send``, where it is a local
# string); a test checks that the installed version still carries this exact text.
GROUP_SEND_LUA = """
                local over_capacity = 0
                local current_time = ARGV[#ARGV - 1]
                local expiry = ARGV[#ARGV]
                for i=1,#KEYS do
                    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
                        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
                        redis.call('EXPIRE', KEYS[i], expiry)
                    else
                        over_capacity = over_capacity + 1
                    end
                end
                return over_capacity
            """


class ChannelLock(core.ChannelLock):
    """channels-redis' per-channel lock, with cancelled waiters uncounted.

    All sockets of a process receive through one channel key, so this lock is contended. The stock
    ``acquire`` counts a waiter before awaiting and never uncounts it when the wait is cancelled
    (a socket closing while its receive waits), so the lock is never deleted afterwards. It then
    stays bound to the event loop it was first awaited on, and any later wait on another loop (a
    new test's loop, a restarted server loop in the same process) raises ``RuntimeError``.
    """

    async def acquire(self, channel: str) -> bool:
        self.wait_counts[channel] += 1
        try:
            return await self.locks[channel].acquire()
        except BaseException:
            self.wait_counts[channel] -= 1
            if self.wait_counts[channel] < 1:  # nobody holds or awaits it: drop it like release does
                del self.locks[channel]
                del self.wait_counts[channel]
            raise


class RedisChannelLayer(core.RedisChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.receive_clean_locks = ChannelLock()
        self._blocking_clients: dict[int, redis.Redis] = {}
        self._blocking_lock = threading.Lock()

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        """redis-py 8's pool raises MaxConnectionsError once its connections are all in use: 300
        sockets closing at once made ``group_discard`` fail and left their channels in the group.
        A blocking pool makes a burst wait its turn for a connection instead."""
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)  # Sentinel
        address = host.pop("address")
        host.setdefault("max_connections", settings.CHANNEL_REDIS_MAX_CONNECTIONS)
        host.setdefault("timeout", settings.CHANNEL_REDIS_POOL_TIMEOUT)
        return aioredis.BlockingConnectionPool.from_url(address, **host)

    def _blocking_client(self, index: int) -> redis.Redis | None:
        """A synchronous client for host ``index`` (shared by threads), or None for a host the
        blocking path does not handle (Sentinel): the caller then takes the async path."""
        client = self._blocking_clients.get(index)
        if client is None:
            host = dict(self.hosts[index])
            if "master_name" in host:
                return None
            with self._blocking_lock:
                client = self._blocking_clients.get(index)
                if client is None:
                    address = host.pop("address", None)
                    client = redis.Redis.from_url(address, **host) if address else redis.Redis(**host)
                    self._blocking_clients[index] = client
        return client

    def group_send_blocking(self, group: str, message: dict[str, Any]) -> bool:
        """``group_send`` from synchronous code, with the same Redis writes. Returns False when it
        could not run here (the caller falls back to ``async_to_sync(group_send)``)."""
        assert self.require_valid_group_name(group), "Group name not valid"
        group_index = self.consistent_hash(group)
        group_client = self._blocking_client(group_index)
        if group_client is None:
            return False
        group_key = self._group_key(group)
        expired_before = int(time.time()) - self.group_expiry
        # Only live members are read; the expired ones are removed below when the group has live
        # ones, and the group key's own expiry (renewed by each group_add) ends the rest. A group
        # without sockets, the common case for API writes, costs this single command.
        members = group_client.zrangebyscore(group_key, f"({expired_before}", "+inf")
        if not members:
            return True
        channel_names = [name.decode("utf8") for name in members]
        by_host, message_for_key, capacity_for_key = self._map_channel_keys_to_connection(channel_names, message)
        pipelines = {}
        for index in {group_index, *by_host}:
            client = self._blocking_client(index)
            if client is None:
                return False
            pipelines[index] = client.pipeline(transaction=False)
        pipelines[group_index].zremrangebyscore(group_key, min=0, max=expired_before)
        for index, keys in by_host.items():
            for key in keys:
                pipelines[index].zremrangebyscore(key, min=0, max=int(time.time()) - int(self.expiry))
            arguments = [message_for_key[key] for key in keys] + [capacity_for_key[key] for key in keys]
            pipelines[index].eval(GROUP_SEND_LUA, len(keys), *keys, *arguments, time.time(), self.expiry)
        for index, pipeline in pipelines.items():
            replies = pipeline.execute()
            over_capacity = replies[-1] if index in by_host else 0
            if over_capacity:
                logger.info("%s of %s channels over capacity in group %s", over_capacity, len(channel_names), group)
        return True
