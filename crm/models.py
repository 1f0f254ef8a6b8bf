from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from whatshybrid.api.models import WorkspaceOwnedModel


class Label(WorkspaceOwnedModel):
    """A coloured tag attachable to contacts, conversations and deals."""

    name = models.CharField(max_length=60)
    color = models.CharField(max_length=7, default="#3b82f6")
    description = models.CharField(max_length=300, blank=True)
    # The browser extension's own id for this row (its sync calls use it), unique per workspace.
    client_key = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # Fields the extension keeps that this model has no column for, echoed back by its sync calls.
    client_extra = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="label_unique_name_ci"),
            models.UniqueConstraint(
                fields=["workspace", "client_key"],
                condition=Q(client_key__isnull=False),
                name="label_unique_client_key",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PipelineStage(WorkspaceOwnedModel):
    """One column of the sales pipeline; positions are 0..n-1 without gaps per workspace."""

    name = models.CharField(max_length=80)
    color = models.CharField(max_length=7, default="#3b82f6")
    position = models.PositiveIntegerField()
    probability = models.PositiveSmallIntegerField(default=0, help_text="Default win probability (0-100).")
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    # The browser extension's own id for this row (its sync calls use it), unique per workspace.
    client_key = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # Fields the extension keeps that this model has no column for, echoed back by its sync calls.
    client_extra = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "client_key"],
                condition=Q(client_key__isnull=False),
                name="stage_unique_client_key",
            ),
            # Checked per statement on every backend, so reorders park rows at free positions first.
            models.UniqueConstraint(fields=["workspace", "position"], name="stage_unique_position"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_range"),
            models.CheckConstraint(condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_not_won_and_lost"),
        ]

    def __str__(self) -> str:
        return self.name


class Deal(WorkspaceOwnedModel):
    """A sales opportunity with a contact, moving through the pipeline stages."""

    class Status(models.TextChoices):
        OPEN = "open"
        WON = "won"
        LOST = "lost"

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="deals")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="BRL")
    stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    probability = models.PositiveSmallIntegerField(default=0)
    expected_close_date = models.DateField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    labels = models.ManyToManyField(Label, blank=True, related_name="deals")
    won_at = models.DateTimeField(null=True, blank=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(max_length=500, blank=True)
    # The browser extension's own id for this row (its sync calls use it), unique per workspace.
    client_key = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # Fields the extension keeps that this model has no column for, echoed back by its sync calls.
    client_extra = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "client_key"], condition=Q(client_key__isnull=False), name="deal_unique_client_key"
            ),
            models.CheckConstraint(condition=Q(probability__lte=100), name="deal_probability_range"),
            models.CheckConstraint(condition=Q(value__gte=0), name="deal_value_non_negative"),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="deal_ws_created"),
            models.Index(fields=["workspace", "updated_at"], name="deal_ws_updated"),
            models.Index(fields=["workspace", "stage"], name="deal_ws_stage"),
            models.Index(fields=["workspace", "status"], name="deal_ws_status"),
        ]

    def __str__(self) -> str:
        return self.title


class DealActivity(WorkspaceOwnedModel):
    """One entry of a deal's timeline (creation, stage moves, status changes)."""

    class Kind(models.TextChoices):
        CREATED = "created"
        STAGE_CHANGED = "stage_changed"
        STATUS_CHANGED = "status_changed"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_stage = models.ForeignKey(PipelineStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_stage = models.ForeignKey(PipelineStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=4, blank=True)
    to_status = models.CharField(max_length=4, blank=True)
    # Stage names are copied so the timeline stays readable after a stage is renamed or deleted.
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "deal", "-created_at"], name="deal_activity_ws_deal")]

    def __str__(self) -> str:
        return f"{self.kind} {self.deal_id}"


class LabelsDocument(WorkspaceOwnedModel):
    """The rest of the extension's labels document (its labels are ``Label`` rows).

    ``last_updated`` is the client's own ``lastUpdated`` (epoch ms), kept as sent: the extension
    adopts a labels document only when that value is newer than its local one.
    """

    contact_labels = models.JSONField(default=dict, blank=True, help_text="Chat id or phone -> label ids.")
    settings = models.JSONField(default=dict, blank=True)
    last_updated = models.BigIntegerField(default=0, help_text="The client's lastUpdated (epoch ms).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="labels_document_one_per_workspace")]

    def __str__(self) -> str:
        return f"Labels document of {self.workspace_id}"
