from __future__ import annotations

from django.contrib import admin

from ai.models import FewShotExamples, KnowledgeDocument
from whatshybrid.api.admin import SyncedDocumentAdmin


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(SyncedDocumentAdmin):
    list_display = ("workspace", "version", "last_updated", "updated_at")


@admin.register(FewShotExamples)
class FewShotExamplesAdmin(SyncedDocumentAdmin):
    list_display = ("workspace", "updated_at")
