"""The only JSON parser of the API (``DEFAULT_PARSER_CLASSES``; no view may name another).

DRF's own ``JSONParser`` lets through what ``whatshybrid.strict_json`` refuses (deep nesting as a
``RecursionError`` 500, unpaired surrogates and NULs that poison the rows they land in); this one
decodes with it, so every body of every endpoint is refused with a 400 before any view runs.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from whatshybrid import strict_json


class SafeJSONParser(JSONParser):
    allow_nul = False

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return strict_json.loads(codecs.getreader(encoding)(stream).read(), allow_nul=self.allow_nul)
        except strict_json.UnsafeJSON as exc:
            # Well-formed JSON with a value that cannot be kept: a validation error, not a parse error.
            raise ValidationError({"body": [str(exc)]}) from None
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None


class FieldCheckedJSONParser(SafeJSONParser):
    """For views whose serializers refuse NUL field by field (contacts: a field error, and in an
    import that row's error rather than a refused file). Everything else is refused as above."""

    allow_nul = True
