"""The fast renderer writes exactly what DRF's JSONRenderer writes (the contract's text)."""

from __future__ import annotations

import datetime
import decimal
import uuid

from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from whatshybrid.api.renderers import FastJSONRenderer


def test_same_bytes_as_drf_for_every_value_kind() -> None:
    data = {
        "aware": timezone.now(),
        "naive": datetime.datetime(2026, 1, 1, 1, 1, 1, 123456),
        "date": datetime.date(2026, 1, 2),
        "time": datetime.time(1, 2, 3, 456789),
        "decimal": decimal.Decimal("1.50"),
        "uuid": uuid.uuid4(),
        "lazy": gettext_lazy("hello"),
        "text": "ção ☃ \u2028 \u2029",
        "nested": [{"tuple": (1, 2.5, None, True)}],
    }
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_what_orjson_refuses_is_rendered_by_drf() -> None:
    data = {"beyond_64_bits": 2**70}
    assert (
        FastJSONRenderer().render(data) == JSONRenderer().render(data) == b'{"beyond_64_bits":1180591620717411303424}'
    )


def test_indent_requests_fall_back_to_drf() -> None:
    rendered = FastJSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert rendered == JSONRenderer().render({"a": 1}, "application/json; indent=2")
