from __future__ import annotations

from django.contrib import admin

from settings_app.models import ModuleDocument
from whatshybrid.api.admin import SyncedDocumentAdmin


@admin.register(ModuleDocument)
class ModuleDocumentAdmin(SyncedDocumentAdmin):
    list_display = ("module", "user", "workspace", "last_modified", "updated_at")
    list_filter = ("module", "updated_at")
    list_select_related = ("workspace", "user")
    raw_id_fields = ("workspace", "user")
    search_fields = ("module", "user__email", "workspace__name")
