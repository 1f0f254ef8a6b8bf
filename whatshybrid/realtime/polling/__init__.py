"""Engine.IO 4 HTTP long-polling for ``/socket.io/``, and the upgrade from polling to websocket.

socket.io-client falls back to long-polling where a websocket cannot be opened (corporate
proxies) and, with its default ``transports: ['polling', 'websocket']``, starts on polling and
then upgrades. Each polling session runs the very same ``SocketIOConsumer`` the websocket route
uses (auth, workspace group, ``join:workspace``, ping/pong, heartbeats, resume, session end),
fed through an in-memory "virtual websocket": POST bodies become received frames, and what the
consumer sends waits in the session's outbox until a GET (or, after an upgrade, the websocket)
takes it. So both transports behave identically by construction.

Sessions live in this process's memory: a scaled deployment must route every request of a
session to the same process (sticky sessions), as Socket.IO itself requires. A GET or upgrade
that reaches another process gets "Session ID unknown" and the client reconnects.

Protocol details follow engine.io's reference server and its protocol test suite: an unknown
sid is a 400 ``{"code": 1, "message": "Session ID unknown"}``; a second GET while one is pending
closes the session (the pending GET returns the close packet ``1``, the second gets a 400); a
client close (``1``) ends a pending GET with a noop (``6``); a malformed payload is a 400 that
closes the session; a GET or POST after the upgrade is a 400.
"""

from whatshybrid.realtime.polling.sessions import registry
from whatshybrid.realtime.polling.transports import SocketIORouter

__all__ = ["SocketIORouter", "registry"]
