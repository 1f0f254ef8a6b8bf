from __future__ import annotations

import pytest

from contacts.phones import normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+55 11 99999-0001",
        "+5511999990001",
        "(11) 99999-0001",
        "11 999990001",
        "5511999990001",
        "5511999990001@c.us",
        "5511999990001@s.whatsapp.net",
        "0055 11 99999 0001",
        # Without the 9th digit: the same Brazilian mobile.
        "+55 11 9999-0001",
        "551199990001@c.us",
        "(11) 9999-0001",
    ],
)
def test_every_spelling_of_a_brazilian_mobile_is_one_identity(raw):
    assert normalize_phone(raw) == "+5511999990001"


def test_landlines_keep_eight_digits():
    assert normalize_phone("(11) 3333-4444") == "+551133334444"


def test_other_regions():
    assert normalize_phone("+1 415 555 2671") == "+14155552671"
    assert normalize_phone("(415) 555-2671", default_region="US") == "+14155552671"
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"


def test_idempotent():
    for raw in ("5511999990001@c.us", "(11) 3333-4444", "+14155552671"):
        once = normalize_phone(raw)
        assert normalize_phone(once) == once


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "required"),
        ("   ", "required"),
        ("abc", "not a valid phone"),
        ("123", "not a valid phone"),
        ("120363025246125888@g.us", "not a phone number"),
        ("x@c.us", "not a valid WhatsApp id"),
        ("1" * 100, "too long"),
        ("+55 11 1234", "not a valid phone"),
        ("+5511999990001\x00", "control characters"),
        ("+55119999\x0090001", "control characters"),
    ],
)
def test_invalid_input_is_a_readable_value_error(raw, fragment):
    with pytest.raises(ValueError, match=fragment):
        normalize_phone(raw)


def test_non_string_is_rejected():
    with pytest.raises(ValueError, match="string"):
        normalize_phone(5511999990001)  # type: ignore[arg-type]
