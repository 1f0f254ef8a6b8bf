from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from whatshybrid.api.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("key", "workspace", "method", "path", "status_code", "created_at")
    list_filter = ("method", "status_code")
    search_fields = ("key", "path", "workspace__name")
    list_select_related = ("workspace",)
    raw_id_fields = ("workspace",)
    # Stored responses are evidence of what a client was told; never edited by hand.
    readonly_fields = ("workspace", "key", "method", "path", "request_hash", "status_code", "response_body")


class SyncedDocumentAdmin(admin.ModelAdmin):
    """Documents the extension owns and syncs: shown for support, written only by its sync calls."""

    list_select_related: tuple[str, ...] = ("workspace",)
    raw_id_fields: tuple[str, ...] = ("workspace",)
    search_fields: tuple[str, ...] = ("workspace__name", "id")
    list_filter: tuple[str, ...] = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
