from django.urls import path
from rest_framework.routers import SimpleRouter

from tasks.api.sync_views import TasksDataView, TasksSyncView
from tasks.api.views import TaskViewSet

router = SimpleRouter(trailing_slash="")
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = [
    # Before the router's /tasks/<id>: these words are never ids.
    path("tasks/sync", TasksSyncView.as_view(), name="tasks-sync"),
    path("tasks/data", TasksDataView.as_view(), name="tasks-data"),
    *router.urls,
]
