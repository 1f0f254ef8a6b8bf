"""The API's JSON renderer: orjson for speed, DRF's encoder for the values whose text it defines.

orjson writes the same compact UTF-8 JSON as DRF's ``JSONRenderer`` with its default settings.
Dates and times pass through to DRF's encoder (milliseconds, ``Z`` for UTC) so that every
timestamp keeps the exact text the client contract shows; decimals, lazy strings and the rest
go there too. Anything orjson refuses is rendered by DRF itself, with unpaired surrogates (rows
stored before the strict parser) replaced by U+FFFD: one such row must not fail a whole page.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from whatshybrid.strict_json import repaired

_default = JSONEncoder().default
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class FastJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                rendered = orjson.dumps(data, default=_default, option=_OPTIONS)
            except orjson.JSONEncodeError:
                # An integer beyond 64 bits (DRF's encoder says what it says), or text that is not
                # UTF-8, which DRF could not encode either: repaired, only on this rare path.
                data = repaired(data)
            else:
                # As DRF does: line and paragraph separators escaped, so the JSON is valid JavaScript.
                return rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return super().render(data, accepted_media_type, renderer_context)
