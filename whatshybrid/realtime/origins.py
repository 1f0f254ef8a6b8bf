"""Which browser origins may open a websocket.

Allowed: any ``chrome-extension://<id>``, ``https://web.whatsapp.com`` and the entries of
``WEBSOCKET_ALLOWED_ORIGINS`` (a trailing ``*`` matches a prefix), plus pages served from one of
``ALLOWED_HOSTS``. A missing Origin (native apps, scripts) is allowed: sockets authenticate with a
bearer token, never a cookie, so a foreign page gains nothing without one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import validate_host

EXTENSION_ORIGIN = re.compile(r"^chrome-extension://[a-z0-9_-]+$")
BUILTIN_ORIGINS = ("https://web.whatsapp.com",)


def origin_allowed(parsed: ParseResult | None) -> bool:
    if parsed is None:
        return True
    origin = f"{parsed.scheme}://{parsed.netloc}".lower()
    if EXTENSION_ORIGIN.match(origin) or origin in BUILTIN_ORIGINS:
        return True
    for allowed in settings.WEBSOCKET_ALLOWED_ORIGINS:
        allowed = allowed.lower()
        if origin == allowed or (allowed.endswith("*") and origin.startswith(allowed[:-1])):
            return True
    host = parsed.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # ALLOWED_HOSTS spells IPv6 literals in brackets
    return parsed.scheme in {"http", "https"} and bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


class WebsocketOriginValidator(OriginValidator):
    def __init__(self, application: Any) -> None:
        super().__init__(application, allowed_origins=[])

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        return origin_allowed(parsed_origin)
