from __future__ import annotations

import pytest

from whatshybrid.realtime.tests.conftest import native, receive_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "origin",
    ["chrome-extension://abcdefghijklmnopabcdefghijklmnop", "https://web.whatsapp.com", "http://localhost:3000", None],
)
async def test_allowed_origins_reach_the_consumer(origin, user, workspace, token_for):
    communicator = native(f"/ws/v1/events?token={await token_for(user, workspace)}", origin=origin)
    connected, _ = await communicator.connect()
    assert connected
    assert (await receive_json(communicator))["type"] == "ready"
    await communicator.disconnect()


@pytest.mark.parametrize("origin", ["https://evil.example.com", "http://web.whatsapp.com", "null"])
async def test_foreign_origins_are_refused_at_the_handshake(origin):
    connected, _ = await native(origin=origin).connect()
    assert not connected


async def test_configured_origin_is_allowed(settings, user, workspace, token_for):
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://crm.example.com"]
    communicator = native(f"/ws/v1/events?token={await token_for(user, workspace)}", origin="https://crm.example.com")
    assert (await communicator.connect())[0]
    await communicator.disconnect()


async def test_unknown_websocket_path_is_refused():
    connected, _ = await native("/ws/nope").connect()
    assert not connected
