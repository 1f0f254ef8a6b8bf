"""``instant_text`` writes what DRF's DateTimeField writes, without its per-call lookups."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from rest_framework import serializers

from whatshybrid.api.serializers import instant_text

SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 1, 2, 23, 59, 59, 1, tzinfo=SAO_PAULO),
        datetime.datetime(1999, 12, 31, 22, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
    ],
)
def test_same_text_as_drf(moment: datetime.datetime) -> None:
    assert instant_text(moment) == serializers.DateTimeField().to_representation(moment)
    assert instant_text(moment).endswith("Z")


def test_none_stays_none() -> None:
    assert instant_text(None) is None
