from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from whatshybrid.api import health
from whatshybrid.api.middleware import json_handler

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("settings_app.api.urls")),
    path("", include("whatshybrid.realtime.api.urls")),
    path("", include("contacts.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("crm.api.urls")),
    path("", include("tasks.api.urls")),
    path("", include("templates_app.api.urls")),
    path("", include("ai.api.urls")),
    path("", include("webhooks.api.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("health", health.liveness, name="health"),
    path("api/health", health.liveness, name="api-health"),
    path("api/health/ready", health.readiness, name="api-health-ready"),
    path("api/v1/", include(api_v1)),
    path("api/v2/", include("ai.api.v2_urls")),
    path("admin/", admin.site.urls),
]

handler400 = json_handler(400)
handler403 = json_handler(403)
handler404 = json_handler(404)
handler500 = json_handler(500)
