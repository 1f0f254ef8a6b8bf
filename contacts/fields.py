"""Field rules shared by the API serializers and the importer, so both accept the same data."""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_LENGTHS = {"name": 200, "email": 254, "company": 200, "notes": 5000, "source": 50}
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
MAX_CUSTOM_FIELDS_CHARS = 10_000
TAG_SEPARATORS = re.compile(r"[;,]")


class FieldError(ValueError):
    """A value broke a rule; ``code`` is machine-readable, the message is for people."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def clean_text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError("Must be a string.", "invalid")
    value = value.strip()
    if "\x00" in value:
        raise FieldError("Must not contain NUL characters.", "invalid")
    limit = MAX_LENGTHS[field]
    if len(value) > limit:
        raise FieldError(f"Ensure this field has no more than {limit} characters (it has {len(value)}).", "max_length")
    return value


def clean_email(value: Any) -> str:
    value = clean_text("email", value).lower()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise FieldError("Enter a valid email address.", "invalid") from None
    return value


def clean_tags(value: Any) -> list[str]:
    """A list of distinct non-empty strings; a string is split on commas/semicolons."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = TAG_SEPARATORS.split(value)
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise FieldError("Must be a list of strings.", "invalid")
    tags: list[str] = []
    for tag in (tag.strip() for tag in value):
        if not tag or tag in tags:
            continue
        if "\x00" in tag:
            raise FieldError("Tags must not contain NUL characters.", "invalid")
        if len(tag) > MAX_TAG_LENGTH:
            raise FieldError(f"Each tag has at most {MAX_TAG_LENGTH} characters.", "max_length")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise FieldError(f"At most {MAX_TAGS} tags.", "max_length")
    return tags


def clean_custom_fields(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise FieldError("Must be an object.", "invalid")
    encoded = json.dumps(value)
    if "\\u0000" in encoded:
        raise FieldError("Must not contain NUL characters.", "invalid")
    if len(encoded) > MAX_CUSTOM_FIELDS_CHARS:
        raise FieldError(f"At most {MAX_CUSTOM_FIELDS_CHARS} characters in total.", "max_length")
    return value


def clean_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "y", "sim", "on"}:
        return True
    if value in (None, "", 0) or (
        isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "n", "nao", "não", "off"}
    ):
        return False
    raise FieldError("Must be a boolean.", "invalid")
