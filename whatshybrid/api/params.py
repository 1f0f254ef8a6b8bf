"""Query-string helpers shared by the list filters."""

from __future__ import annotations

from typing import Any

from whatshybrid.api.errors import ApplicationError


def text_param(params: Any, *names: str, max_length: int = 200) -> str:
    """The first non-empty of ``names``, trimmed and cut to ``max_length``.

    NUL is a 400 naming the parameter: PostgreSQL refuses it in a text comparison, which would
    otherwise surface as a 500.
    """
    for name in names:
        if text := (params.get(name) or "").strip():
            if "\x00" in text:
                raise ApplicationError(
                    f"{name}: Must not contain NUL characters.",
                    code="VALIDATION_ERROR",
                    errors={name: ["Must not contain NUL characters."]},
                )
            return text[:max_length]
    return ""
