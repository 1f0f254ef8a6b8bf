from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from whatshybrid.api.models import WorkspaceOwnedModel


class Conversation(WorkspaceOwnedModel):
    """A thread with one contact. At most one is active (not resolved) per contact."""

    class Status(models.TextChoices):
        OPEN = "open"
        PENDING = "pending"
        SNOOZED = "snoozed"
        RESOLVED = "resolved"

    class Priority(models.TextChoices):
        LOW = "low"
        NORMAL = "normal"
        HIGH = "high"
        URGENT = "urgent"

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    tags = models.JSONField(default=list, blank=True)
    labels = models.ManyToManyField("crm.Label", blank=True, related_name="conversations")
    unread_count = models.PositiveIntegerField(default=0)
    last_message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    # The list's sort key: never null so keyset paging stays a plain index range scan.
    last_activity_at = models.DateTimeField(default=timezone.now)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    first_incoming_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact"],
                condition=~Q(status="resolved"),
                name="conversation_one_active_per_contact",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "pending", "snoozed", "resolved"]), name="conversation_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-last_activity_at", "-id"], name="conv_ws_activity"),
            models.Index(fields=["workspace", "status", "-last_activity_at", "-id"], name="conv_ws_status_activity"),
            models.Index(fields=["workspace", "assigned_to", "-last_activity_at"], name="conv_ws_assignee_activity"),
            models.Index(fields=["workspace", "contact", "-last_activity_at"], name="conv_ws_contact_activity"),
            models.Index(fields=["workspace", "updated_at"], name="conv_ws_updated"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.status})"


class Message(WorkspaceOwnedModel):
    """One message of a conversation, ordered by ``(sent_at, id)``: newest last."""

    class Direction(models.TextChoices):
        INCOMING = "in"
        OUTGOING = "out"

    class Type(models.TextChoices):
        TEXT = "text"
        IMAGE = "image"
        AUDIO = "audio"
        VIDEO = "video"
        DOCUMENT = "document"
        LOCATION = "location"
        TEMPLATE = "template"
        NOTE = "note"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        DELIVERED = "delivered"
        READ = "read"
        FAILED = "failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUTGOING)
    message_type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    content = models.TextField(blank=True)
    media_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # Null, not blank, when absent: the per-conversation unique constraints ignore nulls.
    external_id = models.CharField(max_length=128, null=True, blank=True)
    client_message_id = models.CharField(max_length=128, null=True, blank=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_message_id"],
                condition=Q(client_message_id__isnull=False),
                name="message_unique_client_id",
            ),
            models.UniqueConstraint(
                fields=["conversation", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_unique_external_id",
            ),
        ]
        indexes = [
            # Keyset paging inside one conversation (before/after cursors) at 100k+ messages.
            models.Index(fields=["conversation", "sent_at", "id"], name="msg_conv_sent"),
            models.Index(fields=["workspace", "-sent_at"], name="msg_ws_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.message_type} {self.pk}"
