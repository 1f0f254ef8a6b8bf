"""Mounted under ``/api/v2/``: the extension's reply-suggestion call."""

from django.urls import path

from ai.api.views import completion

urlpatterns = [path("ai/process", completion.AIProcessView.as_view(), name="ai-process")]
