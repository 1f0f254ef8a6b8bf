from django.contrib import admin

from whatshybrid.realtime.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("name", "seq", "workspace", "created_at")
    list_filter = ("name",)
    search_fields = ("name", "workspace__name")
    list_select_related = ("workspace",)
    raw_id_fields = ("workspace",)
    readonly_fields = ("workspace", "seq", "name", "payload", "created_at")
