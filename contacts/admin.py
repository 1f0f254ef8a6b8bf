from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import Workspace
from contacts import services
from contacts.importing import IMPORT_FLAGS, parse_csv
from contacts.models import Contact, ContactImport
from whatshybrid.admin_scoping import WorkspaceScopedForm
from whatshybrid.api.errors import ApplicationError

WRITABLE = ["name", "email", "company", "notes", "tags", "custom_fields", "source", "opted_out", "last_interaction_at"]


class ContactImportForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.all())
    file = forms.FileField(help_text="CSV with a header row and a phone column (UTF-8 or Latin-1).")
    dry_run = forms.BooleanField(required=False)
    update_existing = forms.BooleanField(required=False)
    create_labels = forms.BooleanField(required=False, help_text="Create the labels rows name that do not exist.")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = WorkspaceScopedForm
    list_display = ["phone", "name", "email", "company", "source", "opted_out", "workspace", "updated_at"]
    list_filter = ["source", "opted_out", "created_at", "workspace"]
    search_fields = ["phone", "name", "email", "company", "id"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace", "labels"]
    readonly_fields = ["phone_raw", "created_at", "updated_at"]
    fields = ["workspace", "phone", *WRITABLE, "labels", *readonly_fields]
    change_list_template = "admin/contacts/contact/change_list.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "workspace"] if obj else self.readonly_fields

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="contacts_contact_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV: small files are imported now, large ones become a background import."""
        form = ContactImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            flags = {name: data[name] for name in IMPORT_FLAGS}
            try:
                rows = parse_csv(data["file"].read(settings.IMPORT_MAX_BYTES + 1))
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                if len(rows) > settings.CONTACTS_IMPORT_ASYNC_ROWS:
                    job = services.contact_import_start(
                        workspace=data["workspace"], rows=rows, user=request.user, **flags
                    )
                    messages.info(request, f"Import {job.pk} of {len(rows)} rows queued.")
                    return HttpResponseRedirect(reverse("admin:contacts_contactimport_change", args=[job.pk]))
                report = services.contact_import_sync(workspace=data["workspace"], rows=rows, **flags)
                problems = "; ".join(f"row {e['row']} {e['field']}: {e['message']}" for e in report["errors"][:20])
                messages.info(
                    request,
                    f"Import: created {report['created']}, updated {report['updated']}, "
                    f"skipped {report['skipped']}, errors {len(report['errors'])}. {problems}",
                )
                return HttpResponseRedirect(reverse("admin:contacts_contact_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "opts": self.model._meta,
            "title": "Import contacts",
        }
        return TemplateResponse(request, "admin/contacts/contact/import.html", context)

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        data = {field: form.cleaned_data[field] for field in form.changed_data if field in [*WRITABLE, "phone"]}
        if change:
            services.contact_update(contact=obj, data=data)
            return
        data.pop("phone", None)
        created = services.contact_create(workspace=form.cleaned_data["workspace"], phone=obj.phone, **data)
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if "labels" in form.changed_data:
            services.contact_update(contact=form.instance, data={"labels": form.cleaned_data["labels"]})

    def delete_model(self, request: HttpRequest, obj: Contact) -> None:
        services.contact_delete(contact=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for contact in queryset.select_related("workspace"):
            services.contact_delete(contact=contact)


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    list_display = ["id", "workspace", "status", "total_rows", "processed_rows", "created_count", "created_at"]
    list_filter = ["status", "dry_run", "workspace"]
    search_fields = ["id", "message"]
    list_select_related = ["workspace", "created_by"]
    raw_id_fields = ["workspace", "created_by"]
    exclude = ["input_json"]  # up to IMPORT_MAX_BYTES of input: not for a form

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
