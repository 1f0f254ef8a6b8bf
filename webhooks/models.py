"""Outgoing webhooks (endpoint, outbox row per event, one log row per attempt) and the
workspace's inbound webhook configuration and log."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from whatshybrid.api.models import WorkspaceOwnedModel
from whatshybrid.crypto import EncryptedTextField


class Webhook(WorkspaceOwnedModel):
    """A URL the workspace's events are POSTed to, signed with ``secret`` (Standard Webhooks)."""

    name = models.CharField(max_length=200)
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list, help_text='Event names from the catalog, or ["*"] for all.')
    headers = models.JSONField(default=dict, blank=True, help_text="Extra headers sent with every delivery.")
    active = models.BooleanField(default=True)
    secret = EncryptedTextField()
    # The secret before the last rotation; deliveries carry its signature too until it expires.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts (null after a success): past
    # WEBHOOK_DISABLE_AFTER_SECONDS of it the webhook is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "webhooks"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "active"], name="webhook_ws_active")]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(WorkspaceOwnedModel):
    """The outbox: one event for one webhook, written in the event's own transaction.

    ``body`` is the exact JSON text signed and sent on every attempt, so ``webhook-id`` (this
    row's id) and the body stay the same across retries. A worker claims a row by setting
    ``claimed_until``; a worker that dies leaves the claim to expire and the sweep takes it over.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["webhook", "-created_at", "-id"], name="whdelivery_webhook_created"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="whdelivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.webhook_id} ({self.status})"


class WebhookLog(models.Model):
    """One attempt to deliver: what the receiver answered, or why there was no answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="logs")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    attempt = models.PositiveIntegerField()
    success = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True, help_text="At most 4 KB of the response body.")
    error_class = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "webhook_logs"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["delivery", "attempt"], name="whlog_delivery_attempt")]

    def __str__(self) -> str:
        return f"attempt {self.attempt} of {self.delivery_id}: {self.status_code or self.error_class}"


class InboundConfig(models.Model):
    """The workspace's secrets for webhooks it receives: the Standard Webhooks inbound secret and
    the WhatsApp Cloud API verify token and app secret."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    secret = EncryptedTextField(blank=True, default="")
    cloud_verify_token = EncryptedTextField(blank=True, default="")
    cloud_app_secret = EncryptedTextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhook_inbound_configs"

    def __str__(self) -> str:
        return f"inbound config of {self.workspace_id}"


class InboundLog(WorkspaceOwnedModel):
    """Every authenticated inbound payload and what became of it. ``message_id`` (the sender's
    ``webhook-id``) is unique per workspace: a replay is answered without being processed again."""

    class Source(models.TextChoices):
        GENERIC = "generic"
        WHATSAPP = "whatsapp"

    class Outcome(models.TextChoices):
        PROCESSED = "processed"
        IGNORED = "ignored"
        FAILED = "failed"

    source = models.CharField(max_length=10, choices=Source.choices)
    message_id = models.CharField(max_length=200, null=True, blank=True)
    event_type = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "webhook_inbound_logs"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "message_id"], condition=Q(message_id__isnull=False), name="inbound_unique_message"
            )
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="inbound_ws_created")]

    def __str__(self) -> str:
        return f"{self.source} {self.event_type} ({self.outcome})"
