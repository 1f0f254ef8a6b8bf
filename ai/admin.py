from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from ai.credits import credits_grant
from ai.models import AIConversation, AIFeedback, AIKeys, CreditEntry, FewShotExamples, KnowledgeDocument, KnowledgeItem
from whatshybrid.api.admin import SyncedDocumentAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened (calls, ledger, feedback): shown, never edited by hand."""

    list_select_related: tuple[str, ...] = ("workspace",)
    raw_id_fields: tuple[str, ...] = ("workspace",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(SyncedDocumentAdmin):
    list_display = ("workspace", "version", "last_updated", "updated_at")


@admin.register(FewShotExamples)
class FewShotExamplesAdmin(SyncedDocumentAdmin):
    list_display = ("workspace", "updated_at")


@admin.register(KnowledgeItem)
class KnowledgeItemAdmin(SyncedDocumentAdmin):
    """Derived from the knowledge document; edited through it (or /ai/knowledge)."""

    list_display = ("title", "type", "workspace", "enabled", "updated_at")
    list_filter = ("type", "enabled")
    search_fields = ("title", "key", "workspace__name")


@admin.register(AIKeys)
class AIKeysAdmin(SyncedDocumentAdmin):
    """Which keys a workspace set, never the keys: written only by PUT /settings/ai-keys."""

    list_display = ("workspace", "openai", "anthropic", "groq", "compatible_base_url", "default_model", "updated_at")
    fields = ("workspace", "openai", "anthropic", "groq", "compatible_base_url", "default_model")
    readonly_fields = fields
    search_fields = ("workspace__name", "compatible_base_url")

    @admin.display(boolean=True)
    def openai(self, obj: AIKeys) -> bool:
        return bool(obj.openai_api_key)

    @admin.display(boolean=True)
    def anthropic(self, obj: AIKeys) -> bool:
        return bool(obj.anthropic_api_key)

    @admin.display(boolean=True)
    def groq(self, obj: AIKeys) -> bool:
        return bool(obj.groq_api_key)


class FeedbackInline(admin.TabularInline):
    model = AIFeedback
    fields = ("rating", "feedback_type", "corrected_response", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AIConversation)
class AIConversationAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "workspace",
        "kind",
        "provider",
        "model",
        "status",
        "total_tokens",
        "credits_used",
        "latency_ms",
    )
    list_filter = ("status", "kind", "provider")
    search_fields = ("workspace__name", "model", "chat_id", "request_id", "id")
    raw_id_fields = ("workspace", "user")
    inlines = (FeedbackInline,)


@admin.register(AIFeedback)
class AIFeedbackAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "workspace", "rating", "feedback_type", "interaction_id")
    list_filter = ("feedback_type", "rating")
    search_fields = ("workspace__name", "interaction_id", "chat_id")
    raw_id_fields = ("workspace", "conversation", "user")


class CreditGrantForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(CreditEntry.Kind.GRANT, "grant"), (CreditEntry.Kind.ADJUSTMENT, "adjustment")])

    class Meta:
        model = CreditEntry
        fields = ("workspace", "kind", "amount", "note")


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    """The ledger; "add" is an operator's grant or adjustment, written by the ledger service."""

    list_display = ("created_at", "workspace", "kind", "amount", "balance_after", "note", "created_by")
    list_filter = ("kind",)
    search_fields = ("workspace__name", "note")
    raw_id_fields = ("workspace", "conversation", "created_by")
    list_select_related = ("workspace", "created_by")
    form = CreditGrantForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ai.add_creditentry")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("workspace", "kind", "amount", "note") if obj is None else super().get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: CreditEntry, form: Any, change: bool) -> None:
        entry = credits_grant(
            workspace=obj.workspace, amount=obj.amount, kind=obj.kind, note=obj.note, user=request.user
        )
        obj.pk, obj.balance_after, obj.created_at = entry.pk, entry.balance_after, entry.created_at
