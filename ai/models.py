from __future__ import annotations

from django.conf import settings
from django.db import models

from whatshybrid.api.models import WorkspaceOwnedModel
from whatshybrid.crypto import EncryptedTextField


class KnowledgeDocument(WorkspaceOwnedModel):
    """The extension's knowledge document (business, policies, products, FAQs, ...), one per
    workspace: the knowledge base the AI answers from. ``version`` counts server-side changes."""

    data = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=0)
    last_updated = models.BigIntegerField(default=0, help_text="The client's lastUpdated (epoch ms).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="knowledge_document_one_per_workspace")]

    def __str__(self) -> str:
        return f"Knowledge of {self.workspace_id} v{self.version}"


class FewShotExamples(WorkspaceOwnedModel):
    """The workspace's few-shot examples as the extension syncs them (a list of objects)."""

    examples = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "few-shot examples"
        constraints = [models.UniqueConstraint(fields=["workspace"], name="few_shot_examples_one_per_workspace")]

    def __str__(self) -> str:
        return f"Few-shot examples of {self.workspace_id}"


class AIKeys(WorkspaceOwnedModel):
    """The workspace's own provider keys, encrypted at rest; never read back through the API
    (reads show whether each is set and its last four characters)."""

    openai_api_key = EncryptedTextField(blank=True, default="")
    anthropic_api_key = EncryptedTextField(blank=True, default="")
    groq_api_key = EncryptedTextField(blank=True, default="")
    compatible_base_url = models.CharField(max_length=500, blank=True, default="")
    compatible_api_key = EncryptedTextField(blank=True, default="")
    default_model = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        verbose_name = "AI keys"
        verbose_name_plural = "AI keys"
        constraints = [models.UniqueConstraint(fields=["workspace"], name="ai_keys_one_per_workspace")]

    def __str__(self) -> str:
        return f"AI keys of {self.workspace_id}"


class AIConversation(WorkspaceOwnedModel):
    """One AI call, whatever its outcome: the usage history, the idempotency record of a
    ``requestId`` and the holder of the call's credit reservation while it runs."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Kind(models.TextChoices):
        COMPLETE = "complete"
        PROCESS = "process"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COMPLETE)
    chat_id = models.CharField(max_length=200, blank=True, default="")
    request_id = models.CharField(max_length=255, null=True, blank=True)
    messages = models.JSONField(default=list, blank=True)
    response = models.TextField(blank=True, default="")
    model = models.CharField(max_length=100, blank=True, default="")
    provider = models.CharField(max_length=30, blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    credits_reserved = models.PositiveIntegerField(default=0)
    credits_used = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=500, blank=True, default="")
    citations = models.JSONField(default=list, blank=True)
    reply = models.JSONField(null=True, blank=True, help_text="The answer as sent, replayed for a retry.")

    class Meta:
        db_table = "ai_conversations"
        ordering = ["-created_at"]
        constraints = [
            # A failed call frees its requestId: the client's retry runs for real.
            models.UniqueConstraint(
                fields=["workspace", "request_id"],
                condition=models.Q(request_id__isnull=False) & ~models.Q(status="failed"),
                name="ai_conversation_unique_request",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="ai_conv_ws_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.model or '?'} ({self.status})"


class CreditEntry(WorkspaceOwnedModel):
    """One movement of a workspace's credits. The newest entry's ``balance_after`` equals
    ``Workspace.credits``; both change only together, under the workspace row's lock."""

    class Kind(models.TextChoices):
        GRANT = "grant"
        CONSUMPTION = "consumption"
        REFUND = "refund"
        ADJUSTMENT = "adjustment"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.IntegerField(help_text="Signed: consumption is negative.")
    balance_after = models.IntegerField()
    conversation = models.ForeignKey(AIConversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "ai_credit_ledger"
        verbose_name_plural = "credit entries"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="credit_balance_non_negative")
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="ai_credit_ws_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} → {self.balance_after}"


class KnowledgeItem(WorkspaceOwnedModel):
    """One searchable entry of the knowledge base, derived from the knowledge document (its
    ``key`` is the entry's id there, or a policy's name). ``search_text`` is the item's text
    lower-cased and without accents; the full-text index of ``ai.search`` covers it."""

    class Type(models.TextChoices):
        FAQ = "faq"
        PRODUCT = "product"
        POLICY = "policy"
        DOCUMENT = "document"
        SNIPPET = "snippet"

    type = models.CharField(max_length=10, choices=Type.choices)
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=500, blank=True, default="")
    content = models.TextField(blank=True, default="")
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    search_text = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["type", "title"]
        constraints = [models.UniqueConstraint(fields=["workspace", "type", "key"], name="knowledge_item_unique_key")]
        indexes = [models.Index(fields=["workspace", "type"], name="knowledge_item_ws_type")]

    def __str__(self) -> str:
        return f"{self.type}: {self.title}"


class AIFeedback(WorkspaceOwnedModel):
    """The extension's rating (and correction) of a reply suggestion."""

    conversation = models.ForeignKey(
        AIConversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    interaction_id = models.CharField(max_length=100, blank=True, default="")
    rating = models.SmallIntegerField(null=True, blank=True)
    feedback_type = models.CharField(max_length=50, blank=True, default="")
    chat_id = models.CharField(max_length=200, blank=True, default="")
    user_message = models.TextField(blank=True, default="")
    assistant_response = models.TextField(blank=True, default="")
    corrected_response = models.TextField(blank=True, default="")

    class Meta:
        verbose_name_plural = "AI feedback"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="ai_feedback_ws_created")]

    def __str__(self) -> str:
        return f"feedback {self.rating} on {self.interaction_id}"
