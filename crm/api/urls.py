from django.urls import path
from rest_framework.routers import SimpleRouter

from crm.api.sync_views import CrmDataView, CrmSyncView
from crm.api.views import DealViewSet, LabelViewSet, PipelineView, StageViewSet

router = SimpleRouter(trailing_slash="")
router.register("crm/pipeline/stages", StageViewSet, basename="crm-stage")
router.register("crm/deals", DealViewSet, basename="crm-deal")
router.register("crm/labels", LabelViewSet, basename="crm-label")

urlpatterns = [
    # Before the routers' /<id> routes: these words are never ids.
    path("crm/sync", CrmSyncView.as_view(), name="crm-sync"),
    path("crm/data", CrmDataView.as_view(), name="crm-data"),
    path("crm/pipeline", PipelineView.as_view(), name="crm-pipeline"),
    *router.urls,
]
