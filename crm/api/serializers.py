from __future__ import annotations

import datetime
import decimal
import re
import zoneinfo
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.models import User
from contacts import fields as contact_rules
from contacts.models import Contact
from crm import selectors
from crm.models import Deal, DealActivity, Label, PipelineStage
from whatshybrid.api.errors import ApplicationError, FieldInvalid
from whatshybrid.api.fields import StrictCharField
from whatshybrid.api.params import check_moment, parse_day_or_moment
from whatshybrid.api.serializers import StrictSerializer, WorkspaceRelatedField

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


class ColorField(StrictCharField):
    """A hex colour (#rgb or #rrggbb), stored lower-case."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=7, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not _COLOR.match(value):
            raise serializers.ValidationError("Must be a hex colour like #3b82f6.", code="invalid")
        return value.lower()


def _workspace_lookup(serializer: serializers.Serializer, resolve: Any, value: Any, field: str) -> Any:
    """Runs a selector's resolver, turning its ApplicationError into this field's error."""
    try:
        return resolve(workspace=serializer.context["workspace"], value=value, field=field)
    except ApplicationError as exc:
        raise serializers.ValidationError(exc.errors[field][0]) from None


def _clean(rule: Any, value: Any) -> Any:
    try:
        return rule(value)
    except contact_rules.FieldError as exc:
        raise serializers.ValidationError(str(exc), code=exc.code) from None


# --- labels ---------------------------------------------------------------------------------
class LabelInputSerializer(StrictSerializer):
    name = StrictCharField(max_length=60)
    color = ColorField(required=False)
    description = StrictCharField(max_length=300, required=False, allow_blank=True)


class LabelRefField(WorkspaceRelatedField):
    """A label id of the workspace; a ``{id, ...}`` object read from the API is accepted too."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            data = data.get("id")
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


# --- stages ---------------------------------------------------------------------------------
class StageInputSerializer(StrictSerializer):
    echo_fields = frozenset({"deal_count", "total_value"})
    name = StrictCharField(max_length=80)
    color = ColorField(required=False)
    position = serializers.IntegerField(min_value=0, max_value=10_000, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    is_won = serializers.BooleanField(required=False)
    is_lost = serializers.BooleanField(required=False)


class StageReorderSerializer(StrictSerializer):
    stage_ids = serializers.ListField(
        child=serializers.UUIDField(), allow_empty=False, max_length=500, help_text="Stage ids in the new order."
    )


# --- deals ----------------------------------------------------------------------------------
class MoneyField(serializers.DecimalField):
    """A non-negative amount; extra decimals are rounded to cents (half up) instead of refused."""

    CENT = decimal.Decimal("0.01")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=14, decimal_places=2, min_value=decimal.Decimal("0"), **kwargs)

    def validate_precision(self, value: decimal.Decimal) -> decimal.Decimal:
        try:
            value = value.quantize(self.CENT, rounding=decimal.ROUND_HALF_UP)
        except decimal.InvalidOperation:
            self.fail("max_digits", max_digits=self.max_digits)
        return super().validate_precision(value)


def workspace_zone(workspace: Any) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(getattr(workspace, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


class LenientDateField(serializers.DateField):
    """An ISO date; a date-time (what JavaScript's toISOString sends) counts as the day it falls
    on in the workspace's timezone (a date-time without offset: its own date)."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
            try:
                moment = parse_day_or_moment(value.replace(" ", "T", 1), name=self.field_name)
                if isinstance(moment, datetime.datetime) and timezone.is_aware(moment):
                    # Within range in UTC, so moving it into any timezone cannot overflow.
                    moment = check_moment(moment, name=self.field_name).astimezone(
                        workspace_zone(self.context.get("workspace"))
                    )
            except FieldInvalid as exc:
                raise serializers.ValidationError(exc.reason, code="invalid") from None
            return moment.date() if isinstance(moment, datetime.datetime) else moment
        return super().to_internal_value(value)


class MemberField(serializers.PrimaryKeyRelatedField):
    """A user id that must be a member of the request's workspace; null unassigns."""

    def run_validation(self, data: Any = empty) -> Any:
        # RelatedField would read "" as null; it is refused instead, as for tasks' related ids.
        if data == "":
            raise serializers.ValidationError('Must be a user id or null, not "".', code="blank_id")
        return super().run_validation(data)

    def get_queryset(self) -> Any:
        return User.objects.filter(memberships__workspace=self.context.get("workspace"))

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError("Not a member of this workspace.", code="not_member") from None
        except Exception:
            raise serializers.ValidationError("Must be a user id.", code="invalid") from None


class DealInputSerializer(StrictSerializer):
    echo_fields = frozenset({"contact", "stage_id", "stage_name", "won_at", "lost_at"})
    contact_id = WorkspaceRelatedField(Contact, help_text="A contact of this workspace.")
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=20_000, required=False, allow_blank=True, allow_null=True)
    value = MoneyField(required=False, help_text="A decimal (string or number), rounded to cents.")
    currency = StrictCharField(required=False, help_text="ISO 4217 code; default: the workspace currency.")
    stage = StrictCharField(
        required=False, help_text="A stage id of this workspace, or a stage name when exactly one stage has it."
    )
    status = serializers.ChoiceField(choices=Deal.Status.choices, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    expected_close_date = LenientDateField(required=False, allow_null=True)
    assigned_to = MemberField(queryset=User.objects.none(), required=False, allow_null=True)
    tags = serializers.JSONField(required=False, allow_null=True)
    custom_fields = serializers.JSONField(required=False, allow_null=True)
    labels = serializers.ListField(
        child=LabelRefField(Label), required=False, max_length=100, help_text="Label ids of this workspace."
    )
    lost_reason = StrictCharField(max_length=500, required=False, allow_blank=True, allow_null=True)

    def validate_description(self, value: Any) -> str:
        return value or ""

    def validate_lost_reason(self, value: Any) -> str:
        return value or ""

    def validate_currency(self, value: str) -> str:
        if not _CURRENCY.match(value):
            raise serializers.ValidationError("Must be a 3-letter ISO 4217 code such as BRL.")
        return value.upper()

    def validate_stage(self, value: str) -> PipelineStage:
        return _workspace_lookup(self, selectors.stage_resolve, value, "stage")

    def validate_tags(self, value: Any) -> list[str]:
        return _clean(contact_rules.clean_tags, value)

    def validate_custom_fields(self, value: Any) -> dict[str, Any]:
        return _clean(contact_rules.clean_custom_fields, value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "contact_id" in attrs:
            attrs["contact"] = attrs.pop("contact_id")
        return attrs


class DealActivitySerializer(serializers.ModelSerializer):
    actor = serializers.UUIDField(source="actor_id", read_only=True, allow_null=True)
    from_stage = serializers.UUIDField(source="from_stage_id", read_only=True, allow_null=True)
    to_stage = serializers.UUIDField(source="to_stage_id", read_only=True, allow_null=True)

    class Meta:
        model = DealActivity
        fields = ("id", "kind", "actor", "from_stage", "to_stage", "from_status", "to_status", "data", "created_at")
        read_only_fields = fields
