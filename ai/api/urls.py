from django.urls import path

from ai.api import views

urlpatterns = [
    path("knowledge", views.KnowledgeView.as_view(), name="knowledge"),
    path("knowledge/sync", views.KnowledgeSyncView.as_view(), name="knowledge-sync"),
    path("ai/few-shot/sync", views.ExamplesSyncView.as_view(), name="ai-few-shot-sync"),
    path("examples/sync", views.ExamplesSyncView.as_view(), name="examples-sync"),
    path("examples/list", views.ExamplesListView.as_view(), name="examples-list"),
]
