from rest_framework.routers import SimpleRouter

from templates_app.api.views import TemplateViewSet

router = SimpleRouter(trailing_slash="")
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = router.urls
