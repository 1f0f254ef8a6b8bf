"""Admin screens. Secrets are never shown: not in lists, forms or read-only fields. Webhooks are
edited through the services (the URL passes the SSRF guard); the logs are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks import delivery, services
from webhooks.models import InboundConfig, InboundLog, Webhook, WebhookDelivery, WebhookLog
from whatshybrid.api.errors import FieldInvalid

EDITABLE = ["name", "url", "events", "headers", "active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebhookAdminForm(forms.ModelForm):
    """The services' own checks, as form errors (the URL guard names its rule)."""

    class Meta:
        model = Webhook
        fields = ["workspace", *EDITABLE]

    def _checked(self, check: Any, name: str) -> Any:
        try:
            return check(self.cleaned_data[name])
        except FieldInvalid as exc:
            raise forms.ValidationError(exc.reason) from None

    def clean_url(self) -> str:
        return self._checked(services.webhook_url_check, "url")

    def clean_events(self) -> list[str]:
        return self._checked(services.webhook_events_check, "events")

    def clean_headers(self) -> dict[str, str]:
        return self._checked(services.webhook_headers_check, "headers")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookAdminForm
    list_display = ["name", "url", "active", "failing_since", "disabled_at", "workspace", "created_at"]
    list_filter = ["active", "disabled_at", "created_at", "workspace"]
    search_fields = ["name", "url", "id"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
    readonly_fields = ["failing_since", "disabled_at", "disabled_reason", "created_at", "updated_at"]
    actions = ["send_test", "rotate_secret"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "workspace"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        if change:
            services.webhook_update(webhook=obj, data={name: form.cleaned_data[name] for name in form.changed_data})
            return
        created = services.webhook_create(
            workspace=form.cleaned_data["workspace"],
            created_by=request.user,
            **{name: form.cleaned_data[name] for name in EDITABLE},
        )
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def delete_model(self, request: HttpRequest, obj: Webhook) -> None:
        services.webhook_delete(webhook=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for webhook in queryset:
            services.webhook_delete(webhook=webhook)

    @admin.action(description="Send a test event")
    def send_test(self, request: HttpRequest, queryset: QuerySet) -> None:
        for webhook in queryset:
            outcome = delivery.webhook_test(webhook=webhook)
            level = messages.SUCCESS if outcome.success else messages.WARNING
            self.message_user(request, f"{webhook}: {outcome.status_code or outcome.error}", level)

    @admin.action(description="Rotate the secret (the owner reads the new one through the API)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        for webhook in queryset:
            services.webhook_rotate_secret(webhook=webhook)
        self.message_user(request, f"Rotated {queryset.count()} secret(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "webhook", "status", "attempts", "next_attempt_at", "last_status_code", "created_at"]
    list_filter = ["status", "event_type", "created_at"]
    search_fields = ["id", "event_type", "webhook__name", "webhook__url"]
    list_select_related = ["webhook"]
    raw_id_fields = ["webhook", "workspace"]
    exclude = ["claimed_until"]
    actions = ["redeliver"]

    @admin.action(description="Redeliver")
    def redeliver(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset:
            services.delivery_redeliver(delivery=row)
        self.message_user(request, f"Queued {queryset.count()} delivery(ies) again.")


@admin.register(WebhookLog)
class WebhookLogAdmin(ReadOnlyAdmin):
    list_display = ["delivery", "attempt", "success", "status_code", "duration_ms", "error_class", "created_at"]
    list_filter = ["success", "error_class", "created_at"]
    search_fields = ["delivery__id", "error", "status_code"]
    list_select_related = ["delivery"]
    raw_id_fields = ["delivery", "webhook", "workspace"]


@admin.register(InboundConfig)
class InboundConfigAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "has_secret", "has_cloud_verify_token", "has_cloud_app_secret", "updated_at"]
    list_filter = ["updated_at"]
    search_fields = ["workspace__name", "workspace__id"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
    fields = ["workspace", "has_secret", "has_cloud_verify_token", "has_cloud_app_secret", "updated_at"]
    readonly_fields = fields

    @admin.display(boolean=True, description="inbound secret set")
    def has_secret(self, obj: InboundConfig) -> bool:
        return bool(obj.secret)

    @admin.display(boolean=True, description="verify token set")
    def has_cloud_verify_token(self, obj: InboundConfig) -> bool:
        return bool(obj.cloud_verify_token)

    @admin.display(boolean=True, description="app secret set")
    def has_cloud_app_secret(self, obj: InboundConfig) -> bool:
        return bool(obj.cloud_app_secret)


@admin.register(InboundLog)
class InboundLogAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "source", "outcome", "message_id", "workspace", "created_at"]
    list_filter = ["source", "outcome", "created_at"]
    search_fields = ["message_id", "event_type", "detail"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
