from __future__ import annotations

from django.db import models

from whatshybrid.api.models import WorkspaceOwnedModel


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
