from django.urls import path

from settings_app.api import sync_views, views

urlpatterns = [
    path("settings/workspace", views.WorkspaceSettingsView.as_view(), name="settings-workspace"),
    # Fixed words first: they are never module names or item ids.
    path("sync/status", sync_views.ModuleStatusView.as_view(), name="sync-status"),
    path("sync/ai_memory_events", sync_views.MemoryEventsView.as_view(), name="sync-memory-events"),
    path("sync/<str:module>", sync_views.ModuleSyncView.as_view(), name="sync-module"),
    path("sync/<str:module>/download", sync_views.ModuleDownloadView.as_view(), name="sync-module-download"),
    path("sync/<str:module>/all", sync_views.ModuleDeleteView.as_view(), name="sync-module-delete"),
    path("sync/<str:module>/<str:item_id>", sync_views.ModuleItemDeleteView.as_view(), name="sync-module-item"),
]
