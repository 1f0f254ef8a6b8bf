from __future__ import annotations

from django.db import models

from whatshybrid.api.models import WorkspaceOwnedModel


class MessageTemplate(WorkspaceOwnedModel):
    """A reusable reply with ``{{placeholder}}`` variables filled at render time."""

    name = models.CharField(max_length=200)
    category = models.CharField(max_length=60, blank=True, default="general")
    content = models.TextField()
    variables = models.JSONField(default=list, blank=True, help_text="Declared variables: [{name, default, required}].")
    media_url = models.CharField(max_length=2000, blank=True)
    usage_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["workspace", "name", "id"], name="template_ws_name"),
            models.Index(fields=["workspace", "category"], name="template_ws_category"),
            models.Index(fields=["workspace", "updated_at"], name="template_ws_updated"),
        ]

    def __str__(self) -> str:
        return self.name
