"""Field rules shared by the API serializers and the importer, so both accept the same data."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_LENGTHS = {"name": 200, "email": 254, "company": 200, "notes": 5000, "source": 50}
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
MAX_LABELS = 100
MAX_LABEL_LENGTH = 60  # crm.Label.name
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


def _clean_names(value: Any, *, what: str, max_items: int, max_length: int, key: Callable[[str], str]) -> list[str]:
    """A list of distinct non-empty strings; a string is split on commas/semicolons.

    ``key`` decides which names are the same (the first spelling is kept). The count is checked
    while reading, so a cell of 100,000 separators costs a moment, not a quadratic scan.
    """
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = TAG_SEPARATORS.split(value)
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise FieldError("Must be a list of strings.", "invalid")
    names: dict[str, str] = {}
    for name in (name.strip() for name in value):
        if not name or key(name) in names:
            continue
        if "\x00" in name:
            raise FieldError(f"{what.capitalize()}s must not contain NUL characters.", "invalid")
        if len(name) > max_length:
            raise FieldError(f"Each {what} has at most {max_length} characters.", "max_length")
        if len(names) == max_items:
            raise FieldError(f"At most {max_items} {what}s.", "max_length")
        names[key(name)] = name
    return list(names.values())


def clean_tags(value: Any) -> list[str]:
    """A list of distinct non-empty strings; a string is split on commas/semicolons."""
    return _clean_names(value, what="tag", max_items=MAX_TAGS, max_length=MAX_TAG_LENGTH, key=str)


def clean_label_names(value: Any) -> list[str]:
    """Label names, as ``clean_tags`` reads tags; names differing only in case are one label.

    An item may also be a label object as the API shows it (``{id, name, color}``): its name
    is used, so a contact read from the API can be imported elsewhere.
    """
    if isinstance(value, list):
        value = [item.get("name") if isinstance(item, dict) else item for item in value]
    return _clean_names(value, what="label", max_items=MAX_LABELS, max_length=MAX_LABEL_LENGTH, key=str.lower)


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
