from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from webhooks.models import WebhookDelivery
from webhooks.payloads import delivery_payload, webhook_payload
from whatshybrid.api.fields import StrictCharField
from whatshybrid.api.serializers import StrictSerializer

HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")


class WebhookSerializer(serializers.Serializer):
    """The webhook as every endpoint shows it; never its secret (``secret`` appears only in the
    answers of create and rotate-secret)."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    headers = serializers.DictField(child=serializers.CharField(), read_only=True)
    active = serializers.BooleanField(read_only=True)
    disabled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    disabled_reason = serializers.CharField(read_only=True)
    failing_since = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, webhook: Any) -> dict[str, Any]:
        return webhook_payload(webhook)


class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="whsec_...: shown only now; store it.")

    def to_representation(self, webhook: Any) -> dict[str, Any]:
        return {**webhook_payload(webhook), "secret": webhook.secret}


class HeadersField(serializers.DictField):
    child = StrictCharField(max_length=2000, allow_blank=True)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if data is None:
            return {}
        headers = super().to_internal_value(data)
        for name, value in headers.items():
            if not HEADER_NAME.match(name):
                raise serializers.ValidationError(f"{name!r} is not a valid header name.")
            if "\r" in value or "\n" in value or "\x00" in value:
                raise serializers.ValidationError(f"The value of {name!r} has a line break or NUL.")
        return headers


class WebhookInputSerializer(StrictSerializer):
    """Create/update body (PUT is partial)."""

    echo_fields = frozenset(WebhookSerializer._declared_fields)
    name = StrictCharField(max_length=200)
    url = StrictCharField(max_length=2000)
    events = serializers.ListField(child=StrictCharField(max_length=64), max_length=200)
    headers = HeadersField(required=False, allow_null=True)
    active = serializers.BooleanField(required=False)


class LogSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    success = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField()
    error_class = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeliverySerializer(serializers.Serializer):
    """One event sent (or being sent) to one webhook, with every attempt (``logs``, newest first)."""

    id = serializers.UUIDField()
    webhook_id = serializers.UUIDField()
    event = serializers.CharField()
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    logs = LogSerializer(many=True)

    def to_representation(self, delivery: Any) -> dict[str, Any]:
        return delivery_payload(delivery)


class TestResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


class InboundConfigSerializer(serializers.Serializer):
    """Which inbound secrets are set (never the secrets), and the URLs to give the senders."""

    secret_set = serializers.BooleanField()
    cloud_verify_token_set = serializers.BooleanField()
    cloud_app_secret_set = serializers.BooleanField()
    url = serializers.CharField()
    whatsapp_url = serializers.CharField()


class InboundConfigInputSerializer(StrictSerializer):
    echo_fields = frozenset(InboundConfigSerializer._declared_fields)
    cloud_verify_token = StrictCharField(max_length=200, required=False, allow_blank=True)
    cloud_app_secret = StrictCharField(max_length=200, required=False, allow_blank=True)
