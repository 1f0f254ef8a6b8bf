"""Phone identity: every way a client writes a number maps to one E.164 string.

The E.164 string is the contact's identity inside a workspace (a unique constraint), so the
normalization must be idempotent: ``normalize_phone(normalize_phone(x)) == normalize_phone(x)``.
"""

from __future__ import annotations

import re

import phonenumbers

from whatshybrid.api.errors import FieldInvalid

MAX_RAW_LENGTH = 64
_WHATSAPP_SUFFIXES = ("@c.us", "@s.whatsapp.net")
_FORMATTING = re.compile(r"[\s().\-/]")
_BRAZIL = 55
# Brazilian mobiles gained a leading 9 (2012-2016); subscriber numbers that start with 6-9 and
# still have 8 digits are the same line as the 9-digit form, which is the canonical one.
_BR_OLD_MOBILE = re.compile(r"^(?P<area>[1-9][1-9])(?P<subscriber>[6-9]\d{7})$")


def _brazilian_ninth_digit(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    if number.country_code != _BRAZIL:
        return number
    match = _BR_OLD_MOBILE.match(str(number.national_number))
    if match is None:
        return number
    return phonenumbers.PhoneNumber(country_code=_BRAZIL, national_number=int(f"{match['area']}9{match['subscriber']}"))


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    number = _brazilian_ninth_digit(number)
    return number if phonenumbers.is_valid_number(number) else None


class InvalidPhone(FieldInvalid, ValueError):
    """The one error for a phone that is not a phone: a 400 on ``phone`` wherever it reaches the
    API's error handler; ``str()`` is the reason alone (import reports show it per row)."""

    def __init__(self, message: str) -> None:
        super().__init__("phone", message)

    def __str__(self) -> str:
        return self.reason


def normalize_phone(raw: str, *, default_region: str = "BR") -> str:
    """Returns the E.164 identity of ``raw`` or raises ``InvalidPhone`` saying why it is not a phone.

    Accepts international (``+55 11 99999-0001``), national (``(11) 99999-0001`` read in
    ``default_region``), bare international digits (``5511999990001``) and WhatsApp ids
    (``5511999990001@c.us``). Group ids (``@g.us``) are not people and are rejected.
    """
    if not isinstance(raw, str):
        raise InvalidPhone("Phone must be a string.")
    text = raw.strip()
    if not text:
        raise InvalidPhone("Phone is required.")
    if len(text) > MAX_RAW_LENGTH:
        raise InvalidPhone(f"Phone is too long (at most {MAX_RAW_LENGTH} characters).")
    if any(ord(char) < 32 for char in text):
        raise InvalidPhone("Phone must not contain control characters.")
    lowered = text.lower()
    is_whatsapp_id = lowered.endswith(_WHATSAPP_SUFFIXES)
    if is_whatsapp_id:
        text = text.split("@", 1)[0]
        if not text.isdigit():
            raise InvalidPhone(f"'{raw}' is not a valid WhatsApp id.")
    elif "@" in text:
        raise InvalidPhone(f"'{raw}' is not a phone number (only WhatsApp ids ending in @c.us are accepted).")

    compact = _FORMATTING.sub("", text)
    if compact.startswith("00") and compact[2:].isdigit():
        compact = "+" + compact[2:]
    # WhatsApp ids and bare digits usually carry the country code without '+', but a local
    # number must still win when it is valid in the workspace's region.
    candidates: list[tuple[str, str | None]] = []
    if is_whatsapp_id:
        candidates.append(("+" + compact, None))
    else:
        region = (default_region or "BR").upper()
        candidates.append((compact, region if not compact.startswith("+") else None))
        if compact.isdigit():
            candidates.append(("+" + compact, None))
    for candidate, region_hint in candidates:
        number = _parse(candidate, region_hint)
        if number is not None:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhone(f"'{raw}' is not a valid phone number.")
