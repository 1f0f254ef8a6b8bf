"""Socket frames decode like request bodies (``whatshybrid.strict_json``): unsafe JSON is a
protocol error (an error frame, then a close), never a crash or a value passed on."""

from __future__ import annotations

import pytest

from whatshybrid.realtime.tests.conftest import SocketIOTestClient, native, receive_json

pytestmark = pytest.mark.django_db(transaction=True)

UNSAFE = {
    "surrogate-value": '{"type": "resume", "resume_from": "\\ud83d"}',
    "surrogate-key": '{"\\ud83d": 1, "type": "ping"}',
    "deep": '{"type": "ping", "x": ' + "[" * 5000 + "]" * 5000 + "}",
}


@pytest.mark.parametrize("frame", UNSAFE.values(), ids=UNSAFE.keys())
async def test_native_stream_refuses_unsafe_frames(frame, user, workspace, token_for):
    communicator = native(f"/ws/v1/events?token={await token_for(user, workspace)}")
    assert (await communicator.connect())[0]
    assert (await receive_json(communicator))["type"] == "ready"
    await communicator.send_to(text_data=frame)
    error = await receive_json(communicator)
    assert error["type"] == "error" and error["code"] == "INVALID_JSON"
    assert (await communicator.receive_output(timeout=3))["code"] == 4400


@pytest.mark.parametrize("frame", UNSAFE.values(), ids=UNSAFE.keys())
async def test_socketio_refuses_unsafe_frames(frame, user, workspace, token_for):
    client = SocketIOTestClient()
    await client.open()
    kind, _ = await client.connect_namespace({"token": await token_for(user, workspace)})
    assert kind == "0"
    await client.communicator.send_to(text_data=f'42["ping",{frame}]')
    name, error = await client.next_event()
    assert name == "error" and error["code"] == "INVALID_JSON"
    assert (await client.communicator.receive_output(timeout=3))["code"] == 1007
