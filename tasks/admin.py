from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from tasks import services
from tasks.models import Task
from whatshybrid.admin_scoping import WorkspaceScopedForm

RELATED = ["contact", "deal", "assigned_to"]
SCALARS = ["title", "description", "type", "priority", "status", "reminder_at"]


class TaskAdminForm(WorkspaceScopedForm):
    class Meta:
        model = Task
        fields = ["workspace", *SCALARS, "due_at", "due_day", *RELATED, "created_by"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskAdminForm
    list_display = ["title", "status", "priority", "type", "due_at", "due_day", "assigned_to", "contact", "workspace"]
    list_filter = ["status", "priority", "type", "due_day", "due_at", "completed_at", "workspace"]
    search_fields = ["title", "description", "id", "contact__name", "contact__phone", "assigned_to__email"]
    list_select_related = ["workspace", "contact", "assigned_to"]
    raw_id_fields = ["workspace", "contact", "deal", "assigned_to", "created_by"]
    readonly_fields = ["completed_at", "reminder_sent_at", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "workspace", "created_by"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        names = form.changed_data if change else [*SCALARS, *RELATED]
        data = {name: form.cleaned_data[name] for name in names if name in (*SCALARS, *RELATED)}
        if not change or {"due_at", "due_day"} & set(form.changed_data):
            data["due_date"] = form.cleaned_data.get("due_at") or form.cleaned_data.get("due_day")
        if change:
            services.task_update(task=obj, data=data)
            return
        created = services.task_create(
            workspace=form.cleaned_data["workspace"], created_by=form.cleaned_data.get("created_by"), **data
        )
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def delete_model(self, request: HttpRequest, obj: Task) -> None:
        services.task_delete(task=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for task in queryset:
            services.task_delete(task=task)
