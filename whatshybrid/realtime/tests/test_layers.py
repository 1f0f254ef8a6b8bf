"""The embedded mode's channel layer keeps Channels' in-memory semantics; the Redis layer's
blocking group send makes the same deliveries as channels-redis' own."""

from __future__ import annotations

import asyncio
import inspect
import os
import uuid

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer
from channels.exceptions import ChannelFull
from channels_redis import core

from whatshybrid.realtime.layers import GROUP_SEND_LUA, LocalChannelLayer, RedisChannelLayer

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis layer needs REDIS_URL")


async def test_group_send_reaches_every_member_once_with_its_own_copy():
    layer = LocalChannelLayer(capacity=10)
    members = [await layer.new_channel() for _ in range(3)]
    outsider = await layer.new_channel()
    for channel in members:
        await layer.group_add("workspace.a", channel)
    await layer.group_add("workspace.b", outsider)
    message = {"type": "event.dispatch", "seq": 1}
    await layer.group_send("workspace.a", message)
    received = [await layer.receive(channel) for channel in members]
    assert received == [message] * 3
    received[0]["seq"] = 99  # one consumer's mutation does not leak into another's message
    assert received[1]["seq"] == 1 and message["seq"] == 1
    assert outsider not in layer.channels  # nothing was queued for the other group


async def test_a_full_member_does_not_block_the_others():
    layer = LocalChannelLayer(capacity=1)
    slow, fast = await layer.new_channel(), await layer.new_channel()
    for channel in (slow, fast):
        await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "x", "n": 1})
    assert (await layer.receive(fast))["n"] == 1
    await layer.group_send("g", {"type": "x", "n": 2})  # slow is full: skipped, fast still served
    assert (await layer.receive(fast))["n"] == 2
    with pytest.raises(ChannelFull):
        await layer.send(slow, {"type": "x"})


async def test_discarded_members_get_nothing():
    layer = LocalChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await layer.group_discard("g", channel)
    await layer.group_send("g", {"type": "x"})
    assert channel not in layer.channels


@pytest.fixture
def redis_layers():
    """Two layers on one prefix, as two processes of a deployment would have."""
    prefix = f"whl-layer-test-{uuid.uuid4().hex[:8]}"
    hosts = [{"address": os.environ["REDIS_URL"]}]
    yield RedisChannelLayer(hosts=hosts, prefix=prefix), RedisChannelLayer(hosts=hosts, prefix=prefix, capacity=2)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


@needs_redis
async def test_blocking_group_send_reaches_members_in_another_process_once(redis_layers):
    receiving, sending = redis_layers
    members = [await receiving.new_channel() for _ in range(2)]
    outsider = await receiving.new_channel()
    for channel in members:
        await receiving.group_add("workspace.a", channel)
    await receiving.group_add("workspace.b", outsider)
    message = {"type": "event.dispatch", "seq": 7, "data": {"text": "olá"}}

    assert await sync_to_async(sending.group_send_blocking)("workspace.a", message) is True

    received = [await asyncio.wait_for(receiving.receive(channel), timeout=3) for channel in members]
    assert received == [message, message]
    await sync_to_async(sending.group_send_blocking)("workspace.a", {"type": "event.dispatch", "seq": 8})
    assert [(await asyncio.wait_for(receiving.receive(c), timeout=3))["seq"] for c in members] == [8, 8]
    # Checked last: a receive cancelled by its timeout can leave channels-redis' shared BZPOPMIN
    # in flight on the server, which then pops the process's next message into a closed socket.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(receiving.receive(outsider), timeout=0.3)


@needs_redis
def test_blocking_group_send_to_an_empty_group_writes_nothing(redis_layers):
    _, sending = redis_layers
    assert sending.group_send_blocking("workspace.empty", {"type": "event.dispatch"}) is True
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert list(client.scan_iter(match=f"{sending.prefix}*")) == []


@needs_redis
async def test_a_full_channel_drops_what_does_not_fit(redis_layers):
    receiving, sending = redis_layers  # the sender's capacity (2) counts, as in channels-redis
    channel = await receiving.new_channel()
    await receiving.group_add("workspace.a", channel)
    for seq in range(1, 5):
        await sync_to_async(sending.group_send_blocking)("workspace.a", {"type": "event.dispatch", "seq": seq})
    assert [(await asyncio.wait_for(receiving.receive(channel), timeout=3))["seq"] for _ in range(2)] == [1, 2]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(receiving.receive(channel), timeout=0.3)


@needs_redis
async def test_members_past_the_group_expiry_get_nothing(redis_layers):
    receiving, sending = redis_layers
    sending.group_expiry = 0  # every membership is older than "now - 0 s" a second later
    channel = await receiving.new_channel()
    await receiving.group_add("workspace.a", channel)
    await asyncio.sleep(1.1)
    await sync_to_async(sending.group_send_blocking)("workspace.a", {"type": "event.dispatch"})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(receiving.receive(channel), timeout=0.3)


def test_the_group_send_script_is_the_installed_channels_redis_one():
    # The script is copied because channels-redis keeps it as a local of group_send; an upgrade
    # that changes it must be looked at here.
    assert GROUP_SEND_LUA in inspect.getsource(core.RedisChannelLayer.group_send)


# The library code our private pieces stand in for, as installed when they were written. A change
# here means an upgrade: re-check the piece named in each assertion, then update the text.
CHANNEL_LOCK_SOURCE = """
    async def acquire(self, channel):
        \"\"\"
        Acquire the lock for the given channel.
        \"\"\"
        self.wait_counts[channel] += 1
        return await self.locks[channel].acquire()
"""
CHANNEL_LOCK_RELEASE = """
        self.locks[channel].release()
        self.wait_counts[channel] -= 1
        if self.wait_counts[channel] < 1:
            del self.locks[channel]
            del self.wait_counts[channel]
"""
CONSUMER_DISPATCH_SOURCE = """
        handler = getattr(self, get_handler_name(message), None)
        if handler:
            await aclose_old_connections()
            await handler(message)
        else:
            raise ValueError("No handler for message type %s" % message["type"])
"""


def test_the_channel_lock_patch_matches_the_installed_channels_redis():
    # layers.ChannelLock overrides acquire() and relies on release() dropping an unused lock.
    source = inspect.getsource(core.ChannelLock)
    assert CHANNEL_LOCK_SOURCE in source and CHANNEL_LOCK_RELEASE in source


def test_the_consumers_dispatch_matches_the_installed_channels():
    # consumers/base.py's dispatch() does what this does minus the connection clean-up hop.
    assert CONSUMER_DISPATCH_SOURCE in inspect.getsource(AsyncConsumer.dispatch)


def test_a_receive_lock_whose_waiter_was_cancelled_works_on_the_next_event_loop():
    locks = RedisChannelLayer().receive_clean_locks

    async def cancel_a_waiter() -> None:
        await locks.acquire("specific.p!")
        waiter = asyncio.ensure_future(locks.acquire("specific.p!"))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        locks.release("specific.p!")

    async def contend() -> str:
        await locks.acquire("specific.p!")
        second = asyncio.ensure_future(locks.acquire("specific.p!"))
        await asyncio.sleep(0)
        locks.release("specific.p!")
        await second
        locks.release("specific.p!")
        return "served"

    asyncio.run(cancel_a_waiter())
    assert "specific.p!" not in locks.locks  # forgotten, as after an uncancelled wait
    assert asyncio.run(contend()) == "served"  # a lock kept from the first loop would raise here


@needs_redis
def test_sockets_closed_mid_receive_leave_the_layer_usable_on_the_next_event_loop(redis_layers):
    layer, _ = redis_layers

    async def receive_and_close_mid_wait() -> None:
        channels = [await layer.new_channel() for _ in range(3)]
        for round_number in range(10):
            receivers = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
            await layer.send(channels[round_number % 3], {"type": "x", "n": round_number})
            await asyncio.wait(receivers, timeout=2, return_when=asyncio.FIRST_COMPLETED)
            for receiver in receivers:
                receiver.cancel()
            await asyncio.gather(*receivers, return_exceptions=True)

    async def two_sockets_receive() -> list[int]:
        first, second = await layer.new_channel(), await layer.new_channel()
        receivers = [asyncio.ensure_future(layer.receive(channel)) for channel in (first, second)]
        await layer.send(first, {"type": "x", "n": 1})
        await layer.send(second, {"type": "x", "n": 2})
        done = await asyncio.wait_for(asyncio.gather(*receivers), timeout=10)
        return [message["n"] for message in done]

    asyncio.run(receive_and_close_mid_wait())
    assert asyncio.run(two_sockets_receive()) == [1, 2]


def test_a_sentinel_host_falls_back_to_the_async_path():
    layer = RedisChannelLayer(hosts=[{"master_name": "m", "sentinels": [("127.0.0.1", 1)]}])
    assert layer.group_send_blocking("workspace.a", {"type": "event.dispatch"}) is False


@needs_redis
async def test_a_send_to_live_members_clears_the_expired_ones(redis_layers):
    receiving, sending = redis_layers
    channel = await receiving.new_channel()
    await receiving.group_add("workspace.a", channel)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    group_key = sending._group_key("workspace.a")
    client.zadd(group_key, {"specific.gone!x": 1})  # a member from a process that died long ago

    await sync_to_async(sending.group_send_blocking)("workspace.a", {"type": "event.dispatch", "seq": 1})

    assert (await asyncio.wait_for(receiving.receive(channel), timeout=3))["seq"] == 1
    assert [member.decode() for member in client.zrange(group_key, 0, -1)] == [channel]
