from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from crm import services
from crm.models import Deal, DealActivity, Label, LabelsDocument, PipelineStage
from whatshybrid.admin_scoping import WorkspaceScopedForm
from whatshybrid.api.admin import SyncedDocumentAdmin
from whatshybrid.api.errors import ApplicationError


def _adopt(obj: Any, created: Any) -> None:
    """Makes the admin's unsaved instance stand for the row a service created."""
    obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db


def _changed(form: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: form.cleaned_data[field] for field in form.changed_data if field in fields}


class DealAdminForm(WorkspaceScopedForm):
    class Meta:
        model = Deal
        fields = ("workspace", "contact", "title", "stage", "status", *services.DEAL_FIELDS, "labels")


class StageAdminForm(forms.ModelForm):
    class Meta:
        model = PipelineStage
        fields = ("workspace", "name", "color", "position", "probability", "is_won", "is_lost")

    def _get_validation_exclusions(self) -> set[str]:
        # A taken position is fine: the service shifts the other stages to make room.
        return {*super()._get_validation_exclusions(), "position"}


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "color", "workspace", "updated_at"]
    list_filter = ["workspace", "created_at"]
    search_fields = ["name", "description", "id"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]

    def save_model(self, request: HttpRequest, obj: Label, form: Any, change: bool) -> None:
        data = _changed(form, services.LABEL_FIELDS)
        if change:
            services.label_update(label=obj, data=data)
        else:
            data.pop("name", None)
            _adopt(obj, services.label_create(workspace=obj.workspace, name=obj.name, **data))

    def delete_model(self, request: HttpRequest, obj: Label) -> None:
        services.label_delete(label=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for label in queryset:
            services.label_delete(label=label)


@admin.register(PipelineStage)
class PipelineStageAdmin(admin.ModelAdmin):
    form = StageAdminForm
    list_display = ["name", "position", "color", "probability", "is_won", "is_lost", "workspace"]
    list_filter = ["is_won", "is_lost", "workspace"]
    search_fields = ["name", "id"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
    ordering = ["workspace", "position"]

    def save_model(self, request: HttpRequest, obj: PipelineStage, form: Any, change: bool) -> None:
        data = _changed(form, (*services.STAGE_FIELDS, "position"))
        if change:
            services.stage_update(stage=obj, data=data)
        else:
            fields = {field: form.cleaned_data[field] for field in services.STAGE_FIELDS if field != "name"}
            created = services.stage_create(
                workspace=obj.workspace, name=obj.name, position=form.cleaned_data["position"], **fields
            )
            _adopt(obj, created)

    def delete_model(self, request: HttpRequest, obj: PipelineStage) -> None:
        try:
            services.stage_delete(stage=obj, actor=request.user)
        except ApplicationError as exc:
            # Django reports success afterwards anyway; the error message says what really happened.
            messages.error(request, f"{obj.name}: {exc.message}")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for stage in queryset.select_related("workspace"):
            self.delete_model(request, stage)


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    form = DealAdminForm
    list_display = [
        "title",
        "value",
        "currency",
        "status",
        "stage",
        "contact",
        "assigned_to",
        "workspace",
        "updated_at",
    ]
    list_filter = ["status", "currency", "created_at", "workspace"]
    search_fields = ["title", "description", "contact__name", "contact__phone", "id"]
    list_select_related = ["workspace", "stage", "contact", "assigned_to"]
    raw_id_fields = ["workspace", "contact", "stage", "assigned_to", "labels"]
    readonly_fields = ["won_at", "lost_at", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Deal, form: Any, change: bool) -> None:
        data = _changed(form, (*services.DEAL_FIELDS, "contact", "stage", "status"))
        if change:
            services.deal_update(deal=obj, data=data, actor=request.user)
            return
        for field in ("contact", "title", "stage", "status"):
            data[field] = form.cleaned_data[field]
        _adopt(obj, services.deal_create(workspace=obj.workspace, actor=request.user, **data))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if "labels" in form.changed_data:
            services.deal_update(deal=form.instance, data={"labels": form.cleaned_data["labels"]}, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: Deal) -> None:
        services.deal_delete(deal=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for deal in queryset.select_related("workspace"):
            services.deal_delete(deal=deal)


@admin.register(DealActivity)
class DealActivityAdmin(admin.ModelAdmin):
    """The timeline is written by the deal services only."""

    list_display = ["deal", "kind", "from_status", "to_status", "actor", "workspace", "created_at"]
    list_filter = ["kind", "created_at", "workspace"]
    search_fields = ["deal__title", "deal__id"]
    list_select_related = ["deal", "actor", "workspace"]
    raw_id_fields = ["workspace", "deal", "actor", "from_stage", "to_stage"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LabelsDocument)
class LabelsDocumentAdmin(SyncedDocumentAdmin):
    list_display = ("workspace", "last_updated", "updated_at")
