"""ASGI entry point: HTTP through Django's WSGI handler on a thread pool, websockets through
Channels' router behind the origin check.

``/socket.io/`` is answered by the Engine.IO transports first: long-polling over HTTP, and the
polling-to-websocket upgrade (a websocket naming a polling session's ``sid``). Every other HTTP
request goes to ``WsgiBridge`` (see ``whatshybrid.wsgi_bridge`` for why not Django's ASGI handler).
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatshybrid.settings")
django_wsgi_app = get_wsgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from django.conf import settings  # noqa: E402

from whatshybrid import logredact  # noqa: E402
from whatshybrid.realtime.origins import WebsocketOriginValidator  # noqa: E402
from whatshybrid.realtime.polling import SocketIORouter  # noqa: E402
from whatshybrid.realtime.routing import websocket_urlpatterns  # noqa: E402
from whatshybrid.wsgi_bridge import WsgiBridge  # noqa: E402

# ``manage.py serve`` moves its WSGI calls into worker processes (``http_bridge.run_in_processes``).
http_bridge = WsgiBridge(django_wsgi_app, threads=settings.HTTP_THREADS, long_threads=settings.HTTP_LONG_THREADS)
application = ProtocolTypeRouter(
    {
        "http": SocketIORouter(http_bridge),
        "websocket": WebsocketOriginValidator(SocketIORouter(URLRouter(websocket_urlpatterns))),
    }
)
logredact.install()

# Everything loaded so far (Django, the apps, the URLconf) lives as long as the process: moved out
# of the collector's generations, it is no longer traversed by every full collection, which
# otherwise cost about 0.1 ms per request on the message create path.
gc.freeze()
