from __future__ import annotations

from django.db import models

from whatshybrid.api.models import WorkspaceOwnedModel


class ModuleDocument(WorkspaceOwnedModel):
    """One opaque document the extension syncs per module (``tasks``, ``ai_memory``, ...).

    It belongs to the user within the workspace: a teammate's browser never sees it.
    ``last_modified`` is the server's epoch-ms stamp of the last change, which the extension
    compares with its ``lastSync``.
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    module = models.CharField(max_length=64)
    data = models.JSONField(null=True, blank=True)
    last_modified = models.BigIntegerField(default=0, help_text="Epoch ms of the last change.")

    class Meta:
        ordering = ["module"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user", "module"], name="module_document_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.module} of {self.user_id}"
