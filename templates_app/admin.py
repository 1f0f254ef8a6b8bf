from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from templates_app import services
from templates_app.models import MessageTemplate
from templates_app.rendering import VariableError, normalize_variables

WRITABLE = list(services.WRITABLE_FIELDS)


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["workspace", "created_by", *WRITABLE]

    def clean_variables(self) -> list[dict[str, Any]]:
        try:
            return normalize_variables(self.cleaned_data.get("variables"))
        except VariableError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["name", "category", "usage_count", "last_used_at", "workspace", "updated_at"]
    list_filter = ["category", "created_at", "last_used_at", "workspace"]
    search_fields = ["name", "content", "category", "id"]
    list_select_related = ["workspace", "created_by"]
    raw_id_fields = ["workspace", "created_by"]
    readonly_fields = ["usage_count", "last_used_at", "created_at", "updated_at"]
    fields = ["workspace", "created_by", *WRITABLE, *readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "workspace", "created_by"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        data = {field: form.cleaned_data[field] for field in form.changed_data if field in WRITABLE}
        if change:
            services.template_update(template=obj, data=data)
            return
        data = {field: form.cleaned_data[field] for field in WRITABLE if field in form.cleaned_data}
        created = services.template_create(
            workspace=form.cleaned_data["workspace"], created_by=form.cleaned_data.get("created_by"), **data
        )
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def delete_model(self, request: HttpRequest, obj: MessageTemplate) -> None:
        services.template_delete(template=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for template in queryset:
            services.template_delete(template=template)
