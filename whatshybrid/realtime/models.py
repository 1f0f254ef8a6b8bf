from __future__ import annotations

from django.db import models


class EventSequence(models.Model):
    """Per-workspace counter; its row lock serializes writers so sequence numbers have no gaps."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_seq = models.BigIntegerField(default=0)
    # Names of the in-transaction subscribers that run in this workspace (whatshybrid.events):
    # read with the counter, so a subscriber the workspace does not use costs no query.
    opted_in = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.workspace_id} @ {self.last_seq}"


class Event(models.Model):
    """The domain event log: the one source for sockets, the changes feed and webhooks."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    name = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "seq"], name="event_unique_seq")]
        ordering = ["workspace", "seq"]

    def __str__(self) -> str:
        return f"{self.name} #{self.seq}"
