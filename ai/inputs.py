"""Reading the AI endpoints' bodies: strings are strings.

``whatshybrid.api.bodies.text_value`` turns numbers into text for the sync calls (ids and phones
sent as numbers); the AI bodies' schema says string, so a number there is a 400.
"""

from __future__ import annotations

from typing import Any

from whatshybrid.api.bodies import invalid, text_value


def string_value(value: Any, path: str, *, max_length: int, default: str = "") -> str:
    """``value`` as a string (``None`` → ``default``); anything but a string is a 400."""
    if value is not None and not isinstance(value, str):
        raise invalid(path, "Must be a string.")
    return text_value(value, path, max_length=max_length, default=default)
