from django.contrib import admin

from whatshybrid.scheduling.models import ScheduleEntry


@admin.register(ScheduleEntry)
class ScheduleEntryAdmin(admin.ModelAdmin):
    list_display = ("name", "last_enqueued_at", "last_result_id")
    search_fields = ("name",)
    # Written only by the scheduler's compare-and-set; deleting a row makes that job due at once.
    readonly_fields = ("name", "last_enqueued_at", "last_result_id")

    def has_add_permission(self, request: object) -> bool:
        return False
