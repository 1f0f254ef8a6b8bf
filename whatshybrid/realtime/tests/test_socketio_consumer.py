"""``/socket.io/`` frame by frame: Engine.IO 4 handshake and heartbeats, Socket.IO 5 packets."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from channels.db import database_sync_to_async

from accounts.models import AuthSession, Membership
from accounts.services import membership_remove, password_change
from whatshybrid.realtime.tests.conftest import SocketIOTestClient, publish_events

pytestmark = pytest.mark.django_db(transaction=True)


async def connected_client(token: str, **auth) -> SocketIOTestClient:
    client = SocketIOTestClient()
    await client.open()
    kind, body = await client.connect_namespace({"token": token, **auth})
    assert kind == "0" and body["sid"] == client.handshake["sid"]
    return client


async def test_handshake_announces_sid_and_heartbeat(settings):
    client = SocketIOTestClient()
    handshake = await client.open()
    assert handshake["sid"] and handshake["upgrades"] == []
    assert handshake["pingInterval"] == settings.SOCKETIO_PING_INTERVAL_MS
    assert handshake["pingTimeout"] == settings.SOCKETIO_PING_TIMEOUT_MS
    await client.close()


async def test_auth_token_connects_and_events_arrive_as_socketio_events(user, workspace, token_for):
    client = await connected_client(await token_for(user, workspace))
    seqs = await publish_events(workspace, "contact:created", "deal:updated")
    first, second = await client.next_event(), await client.next_event()
    # The payload is the listener's first argument; the log's seq and time ride in a second one.
    meta = first.pop()
    assert first == ["contact:created", {"name": "contact:created", "workspace": str(workspace.pk)}]
    assert meta["seq"] == seqs[0] and set(meta) == {"seq", "ts"}
    assert second[0] == "deal:updated" and second[2]["seq"] == seqs[1]
    assert await client.communicator.receive_nothing(timeout=0.5)
    await client.close()


async def test_query_token_is_accepted(user, workspace, token_for):
    client = SocketIOTestClient(query=f"&token={await token_for(user, workspace)}")
    await client.open()
    kind, body = await client.connect_namespace()
    assert kind == "0" and "sid" in body
    await client.close()


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": "garbage"}, {"token": 42}])
async def test_bad_tokens_get_connect_error_and_no_events(auth, user, workspace):
    client = SocketIOTestClient()
    await client.open()
    kind, body = await client.connect_namespace(auth)
    assert kind == "4" and isinstance(body["message"], str) and body["message"]
    await publish_events(workspace, "contact:created")
    assert await client.communicator.receive_nothing(timeout=0.5)
    await client.close()


async def test_expired_token_gets_connect_error(user, workspace, expired_token):
    client = SocketIOTestClient()
    await client.open()
    kind, body = await client.connect_namespace({"token": await expired_token(user, workspace)})
    assert kind == "4" and body["message"]
    await client.close()


@pytest.mark.parametrize("payload", [None, "", "not-a-uuid", 123, {"workspaceId": "x"}, ["x"]])
async def test_join_workspace_never_disconnects(payload, user, workspace, token_for):
    client = await connected_client(await token_for(user, workspace))
    await client.emit("join:workspace", payload, ack=7)
    messages = [await client.next_message()]
    if payload not in (None, ""):
        messages.append(await client.next_message())
        error = json.loads(messages[0][1:])
        assert error[0] == "error" and error[1]["message"]
    assert messages[-1].startswith("37")
    await publish_events(workspace, "task:created")
    assert (await client.next_event())[0] == "task:created"
    await client.close()


async def test_join_own_workspace_is_idempotent(user, workspace, token_for):
    client = await connected_client(await token_for(user, workspace))
    for _ in range(3):
        await client.emit("join:workspace", str(workspace.pk))
    await publish_events(workspace, "task:created")
    assert (await client.next_event())[0] == "task:created"
    assert await client.communicator.receive_nothing(timeout=0.5)  # joined once: delivered once
    await client.close()


async def test_app_ping_gets_pong_and_ack(user, workspace, token_for):
    client = await connected_client(await token_for(user, workspace))
    await client.emit("ping", ack=3)
    assert (await client.next_event())[0] == "pong"
    assert (await client.next_message()) == '33[{"ok":true}]'
    await client.close()


async def test_server_pings_and_drops_a_silent_peer(settings):
    settings.SOCKETIO_PING_INTERVAL_MS = 200
    settings.SOCKETIO_PING_TIMEOUT_MS = 200
    client = SocketIOTestClient()
    await client.open()
    assert await client.communicator.receive_from(timeout=2) == "2"
    await client.communicator.send_to(text_data="3")
    assert await client.communicator.receive_from(timeout=2) == "2"
    # No pong this time: the server closes the connection.
    assert (await client.communicator.receive_output(timeout=2))["type"] == "websocket.close"


async def test_other_namespace_is_refused(user, workspace, token_for):
    client = SocketIOTestClient()
    await client.open()
    await client.communicator.send_to(text_data="40/admin,")
    assert (await client.next_message()).startswith("4/admin,")
    await client.close()


async def test_only_engineio_4_websocket(user):
    for query in ("?EIO=3&transport=websocket", "?EIO=4&transport=polling"):
        from channels.testing import WebsocketCommunicator

        from whatshybrid.asgi import application

        communicator = WebsocketCommunicator(application, f"/socket.io/{query}")
        connected, _ = await communicator.connect()
        assert not connected


async def test_no_cross_workspace_events(user, workspace, other_user, other_workspace, token_for):
    ours = await connected_client(await token_for(user, workspace))
    theirs = await connected_client(await token_for(other_user, other_workspace))
    await ours.emit("join:workspace", str(other_workspace.pk))  # asking is not joining
    await ours.next_message()
    await publish_events(other_workspace, "contact:created")
    assert (await theirs.next_event())[0] == "contact:created"
    assert await ours.communicator.receive_nothing(timeout=0.5)
    await ours.close()
    await theirs.close()


async def test_resume_from_in_auth_replays_missed_events(user, workspace, token_for):
    token = await token_for(user, workspace)
    seqs = await publish_events(workspace, "contact:created", "contact:updated", "contact:deleted")
    client = await connected_client(token, resume_from=seqs[0])
    replayed = [await client.next_event() for _ in seqs[1:]]
    assert [(name, meta["seq"]) for name, _, meta in replayed] == list(
        zip(["contact:updated", "contact:deleted"], seqs[1:], strict=True)
    )
    assert await client.communicator.receive_nothing(timeout=0.5)
    await client.close()


async def expect_session_end(client: SocketIOTestClient) -> None:
    error = await client.next_event(timeout=5)
    assert error[0] == "error" and error[1]["code"] == "SESSION_ENDED"
    assert await client.next_message() == "1"
    assert (await client.communicator.receive_output(timeout=1))["type"] == "websocket.close"
    await client.communicator.wait()


async def test_removed_member_stops_receiving_within_five_seconds(workspace, make_member, token_for):
    member = await database_sync_to_async(make_member)(workspace)
    client = await connected_client(await token_for(member, workspace))
    membership = await database_sync_to_async(Membership.objects.select_related("user", "workspace").get)(
        user=member, workspace=workspace
    )
    await database_sync_to_async(membership_remove)(membership=membership)
    await expect_session_end(client)


async def test_password_change_stops_the_socket(user, workspace, token_for):
    client = await connected_client(await token_for(user, workspace))
    session = await database_sync_to_async(AuthSession.objects.select_related("user", "workspace").get)(user=user)
    await database_sync_to_async(password_change)(
        session=session, current_password="s3cret-Passw0rd", new_password="An0ther-long-pass"
    )
    await expect_session_end(client)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the channels-redis receive loop needs REDIS_URL")
async def test_idle_socket_on_redis_survives_the_blocking_read_timeout(user, workspace, token_for):
    # channels-redis blocks 5 s per BZPOPMIN; redis-py 8's default 5 s socket timeout used to
    # race it and kill idle consumers (see CHANNEL_REDIS_SOCKET_TIMEOUT).
    client = await connected_client(await token_for(user, workspace))
    await asyncio.sleep(12)
    await publish_events(workspace, "contact:created")
    assert (await client.next_event())[0] == "contact:created"
    await client.close()


async def test_malformed_frames_are_ignored_and_the_socket_keeps_working(user, workspace, token_for):
    client = await connected_client(await token_for(user, workspace))
    for frame in ("xyz", "4", "42not json", "42[]", "42[1,2]", "49", "9", "4" + "[" * 50):
        await client.communicator.send_to(text_data=frame)
    await client.communicator.send_to(bytes_data=b"\x00\x01binary")
    await publish_events(workspace, "contact:updated")
    assert (await client.next_event())[0] == "contact:updated"
    await client.close()
