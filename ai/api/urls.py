from django.urls import path

from ai.api.views import completion, knowledge, sync

urlpatterns = [
    path("knowledge", sync.KnowledgeView.as_view(), name="knowledge"),
    path("knowledge/sync", sync.KnowledgeSyncView.as_view(), name="knowledge-sync"),
    path("ai/few-shot/sync", sync.ExamplesSyncView.as_view(), name="ai-few-shot-sync"),
    path("examples/sync", sync.ExamplesSyncView.as_view(), name="examples-sync"),
    path("examples/list", sync.ExamplesListView.as_view(), name="examples-list"),
    path("ai/complete", completion.AICompleteView.as_view(), name="ai-complete"),
    path("ai/credits", completion.AICreditsView.as_view(), name="ai-credits"),
    path("ai/usage", completion.AIUsageView.as_view(), name="ai-usage"),
    path("ai/knowledge", knowledge.KnowledgeItemsView.as_view(), name="ai-knowledge"),
    path("ai/knowledge/search", knowledge.KnowledgeSearchView.as_view(), name="ai-knowledge-search"),
    path("ai/knowledge/<uuid:pk>", knowledge.KnowledgeItemView.as_view(), name="ai-knowledge-item"),
    path("ai/learn/feedback", completion.AIFeedbackView.as_view(), name="ai-learn-feedback"),
    path("settings/ai-keys", completion.AIKeysView.as_view(), name="settings-ai-keys"),
]
