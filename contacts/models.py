from __future__ import annotations

from django.db import models

from whatshybrid.api.models import WorkspaceOwnedModel


class Contact(WorkspaceOwnedModel):
    """A person the workspace talks to; one per phone number per workspace."""

    phone = models.CharField(max_length=20, help_text="E.164, normalized (the identity).")
    phone_raw = models.CharField(max_length=64, blank=True, help_text="As the client sent it.")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    company = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    labels = models.ManyToManyField("crm.Label", blank=True, related_name="contacts")
    custom_fields = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=50, blank=True, default="manual")
    opted_out = models.BooleanField(default=False)
    last_interaction_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "phone"], name="contact_unique_phone")]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_ws_created"),
            models.Index(fields=["workspace", "updated_at"], name="contact_ws_updated"),
            models.Index(fields=["workspace", "name"], name="contact_ws_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.phone}"
