"""``/ws/v1/events`` through the real ASGI app (origin check, router, consumer, channel layer)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from accounts.models import AuthSession
from accounts.services import session_logout
from whatshybrid.realtime.frames import batch_dispatch_message, dispatch_message, workspace_group
from whatshybrid.realtime.models import Event, EventSequence
from whatshybrid.realtime.tests.conftest import (
    assert_silent,
    native,
    publish_events,
    receive_json,
    receive_until_event,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def open_stream(token: str, query: str = ""):
    communicator = native(f"/ws/v1/events?token={token}{query}")
    connected, _ = await communicator.connect()
    assert connected
    ready = await receive_json(communicator)
    assert ready["type"] == "ready"
    return communicator, ready


async def test_subprotocol_auth_echoes_only_the_protocol_name(user, workspace, token_for):
    token = await token_for(user, workspace)
    communicator = native(subprotocols=["whatshybrid.v1", f"bearer.{token}"])
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == "whatshybrid.v1"
    ready = await receive_json(communicator)
    assert ready == {"type": "ready", "workspace_id": str(workspace.pk), "last_seq": 0}
    await communicator.disconnect()


@pytest.mark.parametrize("token", [None, "", "garbage", "a.b.c"])
async def test_missing_or_garbage_token_closes_4401(token, user, workspace):
    communicator = native("/ws/v1/events" + (f"?token={token}" if token is not None else ""))
    connected, _ = await communicator.connect()
    assert connected
    error = await receive_json(communicator)
    assert error["type"] == "error" and error["message"]
    assert (await communicator.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4401}


async def test_expired_token_closes_4401(user, workspace, expired_token):
    communicator = native(subprotocols=["whatshybrid.v1", f"bearer.{await expired_token(user, workspace)}"])
    await communicator.connect()
    await receive_json(communicator)
    assert (await communicator.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4401}


async def test_events_arrive_once_in_order_with_the_frame_shape(user, workspace, token_for):
    communicator, _ = await open_stream(await token_for(user, workspace))
    seqs = await publish_events(workspace, "contact:created", "contact:updated", "deal:created")
    frames = [await receive_until_event(communicator) for _ in seqs]
    assert [f["seq"] for f in frames] == seqs == [1, 2, 3]
    assert [f["event"] for f in frames] == ["contact:created", "contact:updated", "deal:created"]
    assert frames[0]["data"] == {"name": "contact:created", "workspace": str(workspace.pk)}
    assert set(frames[0]) == {"seq", "event", "data", "ts"}
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_no_foreign_events(user, workspace, other_user, other_workspace, token_for):
    ours, _ = await open_stream(await token_for(user, workspace))
    theirs, _ = await open_stream(await token_for(other_user, other_workspace))
    await publish_events(other_workspace, "contact:created", "contact:deleted")
    await publish_events(workspace, "task:created")
    mine = await receive_until_event(ours)
    assert mine["event"] == "task:created" and mine["data"]["workspace"] == str(workspace.pk)
    foreign = [await receive_until_event(theirs) for _ in range(2)]
    assert {f["data"]["workspace"] for f in foreign} == {str(other_workspace.pk)}
    await assert_silent(ours)
    await assert_silent(theirs)
    await ours.disconnect()
    await theirs.disconnect()


async def test_resume_replays_exactly_the_missed_events_then_goes_live(user, workspace, token_for):
    token = await token_for(user, workspace)
    first, _ = await open_stream(token)
    await publish_events(workspace, "contact:created")
    seen = await receive_until_event(first)
    await first.disconnect()

    missed = await publish_events(workspace, "contact:updated", "deal:created", "task:completed")
    second = native(f"/ws/v1/events?token={token}&resume_from={seen['seq']}")
    assert (await second.connect())[0]
    replayed = [await receive_json(second) for _ in missed]
    assert [f["seq"] for f in replayed] == missed
    # "ready" follows the replay: the client is caught up from here on.
    assert await receive_json(second) == {"type": "ready", "workspace_id": str(workspace.pk), "last_seq": missed[-1]}
    live = await publish_events(workspace, "task:created")
    assert (await receive_until_event(second))["seq"] == live[0]
    await assert_silent(second)
    await second.disconnect()


async def test_resume_reads_the_log_in_budgeted_pages_and_misses_nothing(user, workspace, token_for, settings):
    settings.PAGE_MAX_CHARS = 10  # every event is a page of its own
    token = await token_for(user, workspace)
    missed = await publish_events(workspace, "contact:updated", "deal:created", "task:completed")
    communicator = native(f"/ws/v1/events?token={token}&resume_from=0")
    assert (await communicator.connect())[0]
    assert [(await receive_json(communicator))["seq"] for _ in missed] == missed
    assert (await receive_json(communicator))["type"] == "ready"
    await communicator.disconnect()


async def test_resume_message_replays_on_a_live_socket(user, workspace, token_for):
    communicator, _ = await open_stream(await token_for(user, workspace))
    seqs = await publish_events(workspace, "a:b", "c:d")
    assert [(await receive_until_event(communicator))["seq"] for _ in seqs] == seqs
    await communicator.send_json_to({"type": "resume", "resume_from": seqs[0]})
    assert (await receive_until_event(communicator))["seq"] == seqs[1]
    assert (await receive_json(communicator))["type"] == "ready"
    await communicator.send_json_to({"type": "ping"})
    assert await receive_json(communicator) == {"type": "pong"}
    await communicator.send_to(text_data="not json")
    assert (await receive_json(communicator))["type"] == "error"
    await communicator.disconnect()


async def test_bad_resume_from_is_rejected(user, workspace, token_for):
    communicator = native(f"/ws/v1/events?token={await token_for(user, workspace)}&resume_from=-3")
    await communicator.connect()
    assert (await receive_json(communicator))["type"] == "error"
    assert (await communicator.receive_output(timeout=3))["code"] == 4400


async def test_logout_stops_the_socket_within_five_seconds(user, workspace, token_for):
    communicator, _ = await open_stream(await token_for(user, workspace))
    session = await database_sync_to_async(AuthSession.objects.get)(user=user)
    await database_sync_to_async(session_logout)(session=session)
    error = await receive_json(communicator, timeout=5)
    assert error["code"] == "SESSION_ENDED"
    assert (await communicator.receive_output(timeout=1))["code"] == 4401
    await publish_events(workspace, "contact:created")
    assert await communicator.receive_nothing(timeout=0.5)


def _commit_without_fan_out(workspace: Any, prefix: str, count: int) -> list[Event]:
    """Events 1..count committed straight into the log, so the test decides what reaches the layer."""
    with transaction.atomic():
        EventSequence.objects.bulk_create([EventSequence(workspace=workspace, last_seq=count)])
        return Event.objects.bulk_create(
            [
                Event(workspace=workspace, seq=seq, name=f"{prefix}:{seq}", payload={"seq": seq})
                for seq in range(1, count + 1)
            ]
        )


async def test_out_of_order_frames_are_reordered_from_the_log(user, workspace, token_for, settings):
    """Two publishing processes on Redis may deliver seq 3 before seq 2: the socket still sees 2, 3."""
    settings.REALTIME_RELAY_INTERVAL_MS = 10_000  # keep the embedded relay out of the way
    communicator, _ = await open_stream(await token_for(user, workspace))

    first, second = await database_sync_to_async(_commit_without_fan_out)(workspace, "late", 2)
    layer = get_channel_layer()
    await layer.group_send(workspace_group(workspace.pk), dispatch_message(second))
    assert [(await receive_until_event(communicator))["seq"] for _ in range(2)] == [1, 2]
    await layer.group_send(workspace_group(workspace.pk), dispatch_message(first))  # a late duplicate
    await assert_silent(communicator)
    await communicator.disconnect()


async def test_a_batch_group_message_arrives_as_its_events_in_order(user, workspace, token_for, settings):
    """``publish_many`` on Redis sends one ``events.dispatch`` group message per batch."""
    settings.REALTIME_RELAY_INTERVAL_MS = 10_000  # keep the embedded relay out of the way
    communicator, _ = await open_stream(await token_for(user, workspace))

    events = await database_sync_to_async(_commit_without_fan_out)(workspace, "batch", 3)
    layer = get_channel_layer()
    await layer.group_send(workspace_group(workspace.pk), batch_dispatch_message(events[1:]))
    frames = [await receive_until_event(communicator) for _ in range(3)]
    assert [(frame["seq"], frame["event"]) for frame in frames] == [(1, "batch:1"), (2, "batch:2"), (3, "batch:3")]
    await layer.group_send(workspace_group(workspace.pk), batch_dispatch_message(events))  # already seen
    await assert_silent(communicator)
    await communicator.disconnect()
