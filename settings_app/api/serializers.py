from __future__ import annotations

import zoneinfo

import phonenumbers
from rest_framework import serializers

from accounts.api.serializers import WorkspaceSerializer
from whatshybrid.api.serializers import StrictSerializer


class WorkspaceSettingsInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150, min_length=1)
    timezone = serializers.CharField(max_length=64)
    default_country = serializers.CharField(max_length=2, min_length=2)
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    settings = serializers.DictField()
    # plan and credits are shown by GET but never writable here.
    echo_fields = frozenset({"plan", "credits"})

    def validate_timezone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Unknown IANA time zone.")
        return value

    def validate_default_country(self, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise serializers.ValidationError("Unknown ISO 3166 country code.")
        return value


class WorkspaceSettingsResponseSerializer(serializers.Serializer):
    workspace = WorkspaceSerializer()
