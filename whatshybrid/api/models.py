"""Abstract bases every domain model builds on, and the idempotency store."""

from __future__ import annotations

import uuid

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


class WorkspaceOwnedModel(TimeStampedModel):
    """UUID-keyed, workspace-owned row. Subclasses' indexes should lead with ``workspace``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """One POST per (workspace, Idempotency-Key): the first response is stored and replayed."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null while in flight
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
