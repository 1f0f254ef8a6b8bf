"""The one JSON decoder for what clients send: request bodies, import cells and socket frames.

Valid JSON can still carry what must never be stored or echoed:

- unpaired UTF-16 surrogates (``"\\ud83d"``, an emoji cut in half) in keys or values: SQLite
  stores them, and every later read of the row fails to encode (a poisoned list or event feed);
- NUL characters, which PostgreSQL text and jsonb cannot hold;
- infinities (``1e999``), which cannot be written back as JSON;
- deep nesting, which makes ``json`` (and every recursive walk after it) raise ``RecursionError``.

``loads`` refuses all of them with ``UnsafeJSON`` (a ``ValueError``), so every caller turns them
into its own 4xx or protocol error instead of a 500 later.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings


class UnsafeJSON(ValueError):
    """Valid or not, this JSON is refused; the message says why, for the client."""


def _has_unstorable_text(value: str, allow_nul: bool) -> bool:
    return (not allow_nul and "\x00" in value) or any("\ud800" <= char <= "\udfff" for char in value)


def _refuse_constant(name: str) -> Any:
    raise UnsafeJSON("JSON numbers must be finite.")


def check_storable(data: Any, *, allow_nul: bool = False) -> None:
    """Raises ``UnsafeJSON`` for decoded data the database cannot store faithfully.

    ``allow_nul`` leaves NUL to a caller that refuses it field by field (the contact importer
    reports it as that row's error instead of refusing the whole file).
    """
    max_depth = settings.JSON_MAX_DEPTH
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise UnsafeJSON(f"JSON nested deeper than {max_depth} levels.")
        if isinstance(value, str):
            if _has_unstorable_text(value, allow_nul):
                raise UnsafeJSON("JSON strings may not contain NUL or unpaired surrogate characters.")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise UnsafeJSON("JSON numbers must be finite.")
        elif isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def loads(text: str | bytes, *, allow_nul: bool = False) -> Any:
    """``json.loads`` that also refuses what ``check_storable`` refuses (``UnsafeJSON``)."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise UnsafeJSON(f"JSON nested deeper than {settings.JSON_MAX_DEPTH} levels.") from None
    check_storable(data, allow_nul=allow_nul)
    return data


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps``; here so this module can stand in for the ``json`` of a codec class."""
    return json.dumps(value, **options)


# Rows stored before this parser existed may still hold unpaired surrogates (SQLite kept them):
# reads repair them on the way out, and ``manage.py repair_surrogates`` repairs them at rest.
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_repaired(text: str) -> str:
    """``text`` with each unpaired surrogate replaced by U+FFFD (two halves stored side by side
    become their character again)."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def repaired(value: Any) -> Any:
    """Decoded JSON with ``text_repaired`` applied to every string, keys included; other values
    (numbers, dates, ...) pass through. ``value`` itself comes back when nothing needed repair."""
    if isinstance(value, str):
        return text_repaired(value)
    if isinstance(value, dict):
        items = [(repaired(key), repaired(item)) for key, item in value.items()]
        same = all(new[0] is old[0] and new[1] is old[1] for new, old in zip(items, value.items(), strict=True))
        return value if same else dict(items)
    if isinstance(value, list | tuple):
        items = [repaired(item) for item in value]
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    return value
