from __future__ import annotations

from django.db import models
from django.db.models import Q

from whatshybrid.api.models import WorkspaceOwnedModel


class Task(WorkspaceOwnedModel):
    """A to-do for the workspace, optionally about a contact or a deal and assigned to a member.

    A due moment is either an exact instant (``due_at``) or a whole calendar day (``due_day``),
    never both: a day has no instant until it is read in the workspace's timezone, so it is
    stored as a date and "overdue" is decided when asked, in the timezone current then.
    """

    class Type(models.TextChoices):
        FOLLOW_UP = "follow_up"
        MESSAGE = "message"
        CALL = "call"
        MEETING = "meeting"
        EMAIL = "email"
        OTHER = "other"

    class Priority(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        URGENT = "urgent"

    class Status(models.TextChoices):
        PENDING = "pending"
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    OPEN_STATUSES = (Status.PENDING, Status.IN_PROGRESS)

    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.FOLLOW_UP)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Due at this instant.")
    due_day = models.DateField(null=True, blank=True, help_text="Due some time on this day (workspace timezone).")
    reminder_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    assigned_to = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The browser extension's own id for this row (its sync calls use it), unique per workspace.
    client_key = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # Fields the extension keeps that this model has no column for, echoed back by its sync calls.
    client_extra = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "client_key"], condition=Q(client_key__isnull=False), name="task_unique_client_key"
            ),
            models.CheckConstraint(
                condition=Q(due_at__isnull=True) | Q(due_day__isnull=True), name="task_due_instant_or_day"
            ),
            models.CheckConstraint(
                condition=Q(status="completed", completed_at__isnull=False)
                | (~Q(status="completed") & Q(completed_at__isnull=True)),
                name="task_completed_at_iff_completed",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="task_ws_created"),
            models.Index(fields=["workspace", "updated_at"], name="task_ws_updated"),
            models.Index(fields=["workspace", "status", "due_at"], name="task_ws_status_due_at"),
            models.Index(fields=["workspace", "status", "due_day"], name="task_ws_status_due_day"),
            models.Index(fields=["workspace", "assigned_to", "status"], name="task_ws_assignee"),
            # The reminder sweep looks across workspaces, so this one leads with the time.
            models.Index(
                fields=["reminder_at"], condition=Q(reminder_sent_at__isnull=True), name="task_reminder_pending"
            ),
        ]

    def __str__(self) -> str:
        return self.title
