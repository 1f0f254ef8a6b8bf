"""Keeps credentials that ride in URLs out of every log line.

The documented ``?token=`` of ``/socket.io/`` and ``/ws/v1/events`` is a 7-day access token, and
a Socket.IO polling ``sid`` lets its holder read and write that session: both appear in the query
strings that uvicorn's access log and error messages write out. ``RedactQuerySecrets`` rewrites
them to ``[redacted]`` on the server's own loggers and on the project's log handler.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(r"((?:^|[?&\s\"'])(?:token|access_token|refresh_token|sid)=)[^&\s\"']+", re.IGNORECASE)
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(r"\1[redacted]", text)


class RedactQuerySecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Arguments are redacted one by one, keeping their tuple: uvicorn's access formatter
        # unpacks it (client, method, path, version, status).
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: redact(arg) if isinstance(arg, str) else arg for key, arg in record.args.items()}
        return True


def install() -> None:
    """Adds the filter to the HTTP servers' loggers (they configure their own handlers)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in logger.filters):
            logger.addFilter(RedactQuerySecrets())
