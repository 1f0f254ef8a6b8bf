from django.urls import path

from settings_app.api import views

urlpatterns = [path("settings/workspace", views.WorkspaceSettingsView.as_view(), name="settings-workspace")]
