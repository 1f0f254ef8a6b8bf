from django.urls import path
from rest_framework.routers import SimpleRouter

from webhooks.api.views import (
    InboundConfigView,
    InboundSecretRotateView,
    IncomingWebhookView,
    IncomingWhatsAppView,
    WebhookViewSet,
)

router = SimpleRouter(trailing_slash="")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("webhooks/incoming/<uuid:workspace_id>", IncomingWebhookView.as_view(), name="webhook-incoming"),
    path(
        "webhooks/incoming/<uuid:workspace_id>/whatsapp",
        IncomingWhatsAppView.as_view(),
        name="webhook-incoming-whatsapp",
    ),
    path("webhooks/inbound-settings", InboundConfigView.as_view(), name="webhook-inbound-settings"),
    path("webhooks/inbound-settings/rotate-secret", InboundSecretRotateView.as_view(), name="webhook-inbound-rotate"),
    *router.urls,
]
