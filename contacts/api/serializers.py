from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts import fields as rules
from contacts.models import Contact
from contacts.payloads import ContactSerializer
from contacts.phones import InvalidPhone, normalize_phone
from crm.models import Label
from whatshybrid.api.serializers import StrictModelSerializer, StrictSerializer, WorkspaceRelatedField


@extend_schema_field(OpenApiTypes.STR)
class ContactLabelField(WorkspaceRelatedField):
    """A label of the workspace by id, by name (any case, as the import and the ``label`` filter
    take it) or by the ``{id, name, color}`` object the contact shows, so a contact read from the
    API can be sent back as it is."""

    default_error_messages = {"does_not_exist": "No label {pk_value!r} in this workspace."}

    def to_internal_value(self, data: Any) -> Label:
        if isinstance(data, dict):
            data = data.get("id") or data.get("name")
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        # PostgreSQL cannot hold NUL in text: it would fail inside the query.
        if "\x00" in data or not data.strip():
            self.fail("does_not_exist", pk_value=data)
        labels = self.get_queryset()
        try:
            label = labels.filter(pk=uuid.UUID(data)).first()
        except ValueError:
            label = None
        if label is None:
            name = data.strip()  # exact spelling too: SQLite's lower() folds ASCII letters only
            label = labels.annotate(key=Lower("name")).filter(Q(key=name.lower()) | Q(name=name)).first()
        if label is None:
            self.fail("does_not_exist", pk_value=data)
        return label


def _rule(clean: Any, value: Any) -> Any:
    try:
        return clean(value)
    except rules.FieldError as exc:
        raise serializers.ValidationError(str(exc), code=exc.code) from None


OUTPUT_ONLY = frozenset({"id", "phone_raw", "created_at", "updated_at"})


class ContactInputSerializer(StrictModelSerializer):
    """Create/update body; the phone is checked here and normalized again by the service."""

    echo_fields = frozenset({"phone_raw"})
    phone = serializers.CharField(max_length=64, trim_whitespace=True)
    name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)
    company = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100_000)
    source = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    tags = serializers.JSONField(required=False, allow_null=True)
    custom_fields = serializers.JSONField(required=False, allow_null=True)
    labels = serializers.ListField(
        child=ContactLabelField(Label),
        required=False,
        max_length=rules.MAX_LABELS,
        help_text="Labels of this workspace: ids, names (any case) or {id, name, color} objects. Replaces the set.",
    )

    class Meta:
        model = Contact
        fields = tuple(name for name in ContactSerializer.Meta.fields if name not in OUTPUT_ONLY)

    def validate_phone(self, value: str) -> str:
        workspace = self.context.get("workspace")
        try:
            normalize_phone(value, default_region=getattr(workspace, "default_country", "") or "BR")
        except InvalidPhone as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        return value

    def validate_name(self, value: Any) -> str:
        return _rule(lambda v: rules.clean_text("name", v), value)

    def validate_company(self, value: Any) -> str:
        return _rule(lambda v: rules.clean_text("company", v), value)

    def validate_notes(self, value: Any) -> str:
        return _rule(lambda v: rules.clean_text("notes", v), value)

    def validate_source(self, value: Any) -> str:
        return _rule(lambda v: rules.clean_text("source", v), value)

    def validate_email(self, value: Any) -> str:
        return _rule(rules.clean_email, value)

    def validate_tags(self, value: Any) -> list[str]:
        return _rule(rules.clean_tags, value)

    def validate_custom_fields(self, value: Any) -> dict[str, Any]:
        return _rule(rules.clean_custom_fields, value)


class ContactImportInputSerializer(StrictSerializer):
    """JSON import body. A CSV upload sends ``file`` (multipart) with the same options."""

    contacts = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=True)
    file = serializers.FileField(required=False)
    dry_run = serializers.BooleanField(required=False, default=False)
    update_existing = serializers.BooleanField(
        required=False,
        help_text="Update contacts whose phone exists (blank values never overwrite). Default: true for a JSON "
        "body (the extension's import), false for a CSV file.",
    )
    create_labels = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Create the labels rows name that the workspace lacks (otherwise: unknown_label row errors).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("contacts" in attrs) == ("file" in attrs):
            raise serializers.ValidationError(
                {"contacts": ["Send either a 'contacts' list (JSON) or a CSV 'file' (multipart), not both."]}
            )
        attrs.setdefault("update_existing", "contacts" in attrs)
        return attrs


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based data row (the CSV header is not counted).")
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ImportResultsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = ImportRowErrorSerializer(many=True)


class ContactImportSerializer(serializers.Serializer):
    """An import job: its state, progress and (so far) row report."""

    id = serializers.UUIDField()
    status = serializers.CharField()
    dry_run = serializers.BooleanField()
    update_existing = serializers.BooleanField()
    total_rows = serializers.IntegerField()
    processed_rows = serializers.IntegerField()
    progress = serializers.FloatField()
    message = serializers.CharField()
    results = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_results(self, job: Any) -> dict[str, Any]:
        return ImportResultsSerializer(job.results()).data
