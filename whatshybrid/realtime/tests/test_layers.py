"""The embedded mode's channel layer keeps Channels' in-memory semantics."""

from __future__ import annotations

import pytest
from channels.exceptions import ChannelFull

from whatshybrid.realtime.layers import LocalChannelLayer


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
