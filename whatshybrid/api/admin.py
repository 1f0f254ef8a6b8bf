from django.contrib import admin

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
