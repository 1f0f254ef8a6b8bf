from channels.security.websocket import WebsocketDenier
from django.urls import re_path

from whatshybrid.realtime.consumers import EventStreamConsumer, SocketIOConsumer

websocket_urlpatterns = [
    re_path(r"^ws/v1/events/?$", EventStreamConsumer.as_asgi()),
    re_path(r"^socket\.io/?$", SocketIOConsumer.as_asgi()),
    # Any other path is refused at the handshake (403) instead of crashing the router.
    re_path(r"", WebsocketDenier.as_asgi()),
]
