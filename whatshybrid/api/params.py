"""The one parser of the API's input values: query parameters, cursors and date fields of bodies.

Each parser takes the raw text and the parameter's ``name`` and returns a value the database can
store and compare, or raises ``FieldInvalid`` naming the parameter (a 400). Instants and days are
kept a day away from the ends of Python's calendar, so that moving them into any timezone (UTC-12
to UTC+14) or to the end of their day never overflows inside the query.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from whatshybrid.api.errors import ErrorCode, FieldInvalid

# Longer values are refused before anything reads them (SQLite gives up on LIKE patterns past
# 50,000 characters; no filter or cursor needs more than a few hundred).
QUERY_VALUE_MAX_LENGTH = 1000
# Free-text searches are cut to this many characters (the extension sends what the user typed).
TEXT_MAX_LENGTH = 200
FIRST_DAY = datetime.date(1, 1, 2)
LAST_DAY = datetime.date(9999, 12, 30)
_FIRST_MOMENT = datetime.datetime.combine(FIRST_DAY, datetime.time.min, tzinfo=datetime.UTC)
_LAST_MOMENT = datetime.datetime.combine(LAST_DAY, datetime.time.max, tzinfo=datetime.UTC)
TRUE_VALUES = frozenset({"true", "1"})
BOOLEAN_VALUES = TRUE_VALUES | {"false", "0"}
NUL_MESSAGE = "Must not contain NUL characters."
# Their errors keep the paginator's code, whichever check refuses them.
PAGING_PARAMETERS = frozenset({"cursor", "page", "limit", "before", "after"})


def check_query_params(params: Mapping[str, Any]) -> None:
    """Every query parameter of every request: no NUL (PostgreSQL refuses it in text, which would
    fail inside the query as a 500) and no value past ``QUERY_VALUE_MAX_LENGTH``."""
    for name in params:
        if "\x00" in name:
            raise FieldInvalid(name.replace("\x00", "\\x00"), NUL_MESSAGE)
        for value in params.getlist(name) if hasattr(params, "getlist") else [params[name]]:
            value = str(value)
            code = ErrorCode.INVALID_PAGINATION if name in PAGING_PARAMETERS else None
            if "\x00" in value:
                raise FieldInvalid(name, NUL_MESSAGE, code=code)
            if len(value) > QUERY_VALUE_MAX_LENGTH:
                raise FieldInvalid(name, f"At most {QUERY_VALUE_MAX_LENGTH} characters.", code=code)


def parse_text(raw: str, *, name: str, max_length: int = TEXT_MAX_LENGTH) -> str:
    """Trimmed text without NUL, cut to ``max_length``."""
    if "\x00" in raw:
        raise FieldInvalid(name, NUL_MESSAGE)
    return raw.strip()[:max_length]


def parse_uuid(raw: str, *, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw).strip())
    except ValueError:
        raise FieldInvalid(name, "Must be a UUID.") from None


def parse_bool(raw: str, *, name: str) -> bool:
    value = raw.strip().lower()
    if value not in BOOLEAN_VALUES:
        raise FieldInvalid(name, "Must be true or false.")
    return value in TRUE_VALUES


def parse_choices(raw: str, *, name: str, allowed: Iterable[str]) -> list[str]:
    """A comma-separated list of values (any case) out of ``allowed``."""
    allowed = set(allowed)
    values = [value.strip().lower() for value in raw.split(",") if value.strip()]
    for value in values:
        if value not in allowed:
            raise FieldInvalid(name, f"Unknown value {value!r}; use one of: {', '.join(sorted(allowed))}.")
    return values


def parse_int(raw: str, *, name: str, minimum: int = 0, maximum: int = 2**63 - 1) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise FieldInvalid(name, "Must be a whole number.") from None
    if not minimum <= value <= maximum:
        raise FieldInvalid(name, f"Must be from {minimum} to {maximum}.")
    return value


def parse_decimal(raw: str, *, name: str, max_digits: int = 20, decimal_places: int = 2) -> decimal.Decimal:
    """A finite number that fits a ``DecimalField(max_digits, decimal_places)`` column."""
    try:
        number = decimal.Decimal(raw.strip())
    except decimal.InvalidOperation:
        raise FieldInvalid(name, "Must be a number.") from None
    if not number.is_finite():
        raise FieldInvalid(name, "Must be a number.")
    # adjusted() is the exponent of the leading digit, read without arithmetic that could overflow.
    if number and number.adjusted() >= max_digits - decimal_places:
        raise FieldInvalid(name, f"Must have at most {max_digits - decimal_places} digits before the point.")
    return number


def check_day(day: datetime.date, *, name: str) -> datetime.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FieldInvalid(name, f"Date out of range ({FIRST_DAY} to {LAST_DAY}).")
    return day


def check_moment(moment: datetime.datetime, *, name: str) -> datetime.datetime:
    """An aware instant within the storable range (a naive one is taken as UTC)."""
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)
    try:
        in_utc = moment.astimezone(datetime.UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not _FIRST_MOMENT <= in_utc <= _LAST_MOMENT:
        raise FieldInvalid(name, f"Date-time out of range ({FIRST_DAY} to {LAST_DAY}).")
    return in_utc


def parse_day(raw: str, *, name: str) -> datetime.date:
    try:
        day = parse_date(raw.strip())
    except ValueError:  # well-formed but impossible, e.g. February 30
        day = None
    if day is None:
        raise FieldInvalid(name, "Must be an ISO 8601 date (YYYY-MM-DD).")
    return check_day(day, name=name)


def parse_day_or_moment(raw: str, *, name: str) -> datetime.date | datetime.datetime:
    """An ISO date, or a date-time (naive when it carries no offset), both within range."""
    text = raw.strip()
    try:
        # parse_datetime also reads a bare date (as midnight), so a date is tried first.
        day = parse_date(text)
        # A "+" in the offset arrives as a space when the client did not URL-encode it.
        moment = None if day else parse_datetime(text.replace(" ", "+") if "T" in text else text)
    except ValueError:  # well-formed but impossible, e.g. month 13
        day = moment = None
    if day is not None:
        return check_day(day, name=name)
    if moment is None:
        raise FieldInvalid(name, "Must be an ISO 8601 date or date-time.")
    if timezone.is_aware(moment):
        check_moment(moment, name=name)
    else:
        check_day(moment.date(), name=name)
    return moment


def parse_moment(
    raw: str, *, name: str, end_of_day: bool = False, zone: datetime.tzinfo = datetime.UTC
) -> datetime.datetime:
    """An instant: a date-time (without offset: wall time in ``zone``) or a date, which means its
    first (or with ``end_of_day`` its last) instant in ``zone``."""
    value = parse_day_or_moment(raw, name=name)
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time.max if end_of_day else datetime.time.min)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=zone)
    return check_moment(value, name=name)
