from rest_framework.routers import SimpleRouter

from messaging.api.views import ConversationViewSet

router = SimpleRouter(trailing_slash="")
router.register("conversations", ConversationViewSet, basename="conversation")

urlpatterns = router.urls
