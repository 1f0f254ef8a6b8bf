"""The JSON parser every endpoint uses: DRF's, plus the refusals that keep bad bodies 4xx.

- Deep nesting (``[[[[...``) makes ``json`` raise ``RecursionError``, not ``ValueError``; DRF
  would let it through as a 500.
- NUL characters and unpaired surrogates are valid JSON but PostgreSQL cannot store them (text
  and jsonb), which would surface as a 500 at save time; infinities (``1e999``) cannot be
  written back as JSON. All are refused here, once, for every field of every endpoint.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Nesting deeper than this is no real client's body; the bound also keeps the walk cheap.
MAX_DEPTH = 64


def _has_unstorable_text(value: str) -> bool:
    return "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value)


def check_storable(data: Any) -> None:
    """Raises ``ParseError`` for values the database cannot store faithfully."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            if _has_unstorable_text(value):
                raise ParseError("JSON strings may not contain NUL or unpaired surrogate characters.")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ParseError("JSON numbers must be finite.")
        elif isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        check_storable(data)
        return data
