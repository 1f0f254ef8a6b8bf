from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from whatshybrid.api.models import WorkspaceOwnedModel


class Label(WorkspaceOwnedModel):
    """A coloured tag attachable to contacts, conversations and deals."""

    name = models.CharField(max_length=60)
    color = models.CharField(max_length=7, default="#3b82f6")
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint("workspace", Lower("name"), name="label_unique_name_ci")]

    def __str__(self) -> str:
        return self.name
