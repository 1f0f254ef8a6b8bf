from __future__ import annotations

import json

from django.db import models
from django.db.models import Q

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
    # The browser extension's own id for this row (its sync calls use it), unique per workspace.
    client_key = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # Fields the extension keeps that this model has no column for, echoed back by its sync calls.
    client_extra = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "phone"], name="contact_unique_phone"),
            models.UniqueConstraint(
                fields=["workspace", "client_key"],
                condition=Q(client_key__isnull=False),
                name="contact_unique_client_key",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_ws_created"),
            models.Index(fields=["workspace", "updated_at"], name="contact_ws_updated"),
            models.Index(fields=["workspace", "name"], name="contact_ws_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.phone}"


class ContactImport(WorkspaceOwnedModel):
    """A background import: the rows to write, how far it got and the row report so far.

    Progress counters and errors are saved in the same transaction as each written batch, so a
    crashed job resumes at ``processed_rows`` without repeating or losing a committed batch.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    dry_run = models.BooleanField(default=False)
    update_existing = models.BooleanField(default=False)
    create_labels = models.BooleanField(default=False, help_text="Create the labels rows name that do not exist.")
    # JSON text, not jsonb: PostgreSQL's jsonb refuses "\u0000", and rows are stored before validation.
    input_json = models.TextField(blank=True, help_text="Parsed input rows (JSON); emptied once finished.")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="contact_import_ws_created")]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.status})"

    @property
    def rows(self) -> list:
        return json.loads(self.input_json) if self.input_json else []

    @rows.setter
    def rows(self, value: list) -> None:
        self.input_json = json.dumps(value) if value else ""

    @property
    def progress(self) -> float:
        return 1.0 if not self.total_rows else round(self.processed_rows / self.total_rows, 4)

    def results(self) -> dict:
        return {
            "created": self.created_count,
            "updated": self.updated_count,
            "skipped": self.skipped_count,
            "errors": self.errors,
        }
