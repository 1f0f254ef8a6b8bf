"""Typed reads of large JSON bodies (the extension's sync calls), with errors that name the path.

A DRF serializer per row was most of a 10,000-object sync's time; these readers check the same
things by hand and raise one ``ApplicationError`` whose ``errors`` key is the full path of the
bad value (``contacts[3].phone``), so the client's one-line message points at it.
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from whatshybrid.api.errors import ApplicationError

# Epoch milliseconds beyond year 9999 are not moments.
_MAX_EPOCH_MS = 253_402_300_799_999


def invalid(path: str, message: str) -> ApplicationError:
    return ApplicationError(f"{path}: {message}", code="VALIDATION_ERROR", errors={path: [message]})


def read_object(value: Any, path: str, *, required: bool = True) -> dict[str, Any] | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise invalid(path, "Must be an object.")
    return value


def read_list(value: Any, path: str, *, max_items: int, required: bool = False) -> list[Any]:
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise invalid(path, "Must be a list.")
    if len(value) > max_items:
        raise invalid(path, f"At most {max_items} items.")
    return value


def read_text(item: dict[str, Any], key: str, path: str, *, max_length: int, default: str = "") -> str:
    return text_value(item.get(key), f"{path}.{key}", max_length=max_length, default=default)


def text_value(value: Any, path: str, *, max_length: int, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a numeric id or phone sent as a number
    if not isinstance(value, str):
        raise invalid(path, "Must be a string.")
    if "\x00" in value:
        raise invalid(path, "Must not contain NUL characters.")
    value = value.strip()
    if len(value) > max_length:
        raise invalid(path, f"At most {max_length} characters.")
    return value


def read_strings(item: dict[str, Any], key: str, path: str, *, max_items: int, max_length: int) -> list[str]:
    """A list of ids or names; an object item counts by its ``id``."""
    values = read_list(item.get(key), f"{path}.{key}", max_items=max_items)
    names = []
    for index, value in enumerate(values):
        if isinstance(value, dict):
            value = value.get("id")
        name = text_value(value, f"{path}.{key}[{index}]", max_length=max_length)
        if name and name not in names:
            names.append(name)
    return names


def read_id(item: dict[str, Any], key: str, path: str) -> str:
    value = read_text(item, key, path, max_length=100)
    if not value:
        raise invalid(f"{path}.{key}", "Required.")
    return value


def read_choice(item: dict[str, Any], key: str, path: str, *, choices: Any, default: str) -> str:
    value = read_text(item, key, path, max_length=40, default=default) or default
    if value not in choices:
        raise invalid(f"{path}.{key}", f"Must be one of {', '.join(choices)}.")
    return value


def read_int(item: dict[str, Any], key: str, path: str, *, minimum: int, maximum: int) -> int | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise invalid(f"{path}.{key}", "Must be a number.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise invalid(f"{path}.{key}", "Must be a number.")
    if not minimum <= value <= maximum:
        raise invalid(f"{path}.{key}", f"Must be between {minimum} and {maximum}.")
    return round(value)


def read_decimal(item: dict[str, Any], key: str, path: str, *, maximum: decimal.Decimal) -> decimal.Decimal | None:
    """A non-negative amount (number or numeric string), rounded to cents."""
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise invalid(f"{path}.{key}", "Must be a number.")
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise invalid(f"{path}.{key}", "Must be a number.") from None
    if not number.is_finite():
        raise invalid(f"{path}.{key}", "Must be a number.")
    if not decimal.Decimal(0) <= number < maximum:
        raise invalid(f"{path}.{key}", f"Must be between 0 and {maximum}.")
    return number.quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)


def moment_from(value: Any) -> datetime.datetime | datetime.date | None:
    """An ISO date-time, an ISO date or epoch milliseconds; ``None`` for a value that is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not 0 <= value <= _MAX_EPOCH_MS:
            return None
        return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return moment_from(int(text))
    try:
        if len(text) == 10:  # YYYY-MM-DD: a whole day (parse_datetime would make it midnight)
            return parse_date(text)
        moment = parse_datetime(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if moment is None:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


def read_moment(item: dict[str, Any], key: str, path: str, *, day_allowed: bool = False) -> Any:
    """An instant (or, with ``day_allowed``, a whole day) from an ISO string or epoch ms."""
    value = item.get(key)
    if value is None or value == "":
        return None
    moment = moment_from(value)
    if moment is None:
        raise invalid(f"{path}.{key}", "Must be an ISO 8601 date-time or epoch milliseconds.")
    if not isinstance(moment, datetime.datetime) and not day_allowed:
        return datetime.datetime.combine(moment, datetime.time(), tzinfo=datetime.UTC)  # the day's start
    return moment


def epoch_ms(value: Any) -> int | None:
    """Epoch milliseconds of a number, a digit string or an ISO date-time (``lastSync``)."""
    moment = moment_from(value)
    if moment is None:
        return None
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.combine(moment, datetime.time(), tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def json_size(value: Any, path: str = "data") -> int:
    """The encoded size of a JSON document; a NUL anywhere in it (which PostgreSQL's jsonb
    cannot hold) is a 400 naming ``path``."""
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in encoded:
        raise invalid(path, "Must not contain NUL characters.")
    return len(encoded.encode())
