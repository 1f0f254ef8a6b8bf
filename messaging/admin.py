from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from messaging import services
from messaging.models import Conversation, Message
from whatshybrid.admin_scoping import WorkspaceScopedForm

RECENT_MESSAGES = 20


class RecentMessageInline(admin.TabularInline):
    """The latest messages, read-only: a conversation can hold 100k, so the inline is capped."""

    model = Message
    fields = ["sent_at", "direction", "message_type", "content", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-sent_at", "-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).order_by("-sent_at", "-id")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        base_queryset = formset.get_queryset

        def capped(formset_self: Any) -> QuerySet:
            queryset = base_queryset(formset_self)
            ids = list(queryset.values_list("pk", flat=True)[:RECENT_MESSAGES])
            return queryset.model.objects.filter(pk__in=ids).order_by("-sent_at", "-id")

        formset.get_queryset = capped
        return formset

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = WorkspaceScopedForm
    list_display = ["id", "contact", "status", "assigned_to", "priority", "unread_count", "last_activity_at"]
    list_filter = ["status", "priority", ("assigned_to", admin.RelatedOnlyFieldListFilter), "workspace"]
    search_fields = ["contact__name", "contact__phone", "id"]
    list_select_related = ["contact", "assigned_to", "workspace"]
    raw_id_fields = ["workspace", "contact", "assigned_to", "last_message", "last_read_by"]
    readonly_fields = [
        "workspace",
        "contact",
        "unread_count",
        "last_message",
        "last_message_at",
        "last_activity_at",
        "last_read_at",
        "last_read_by",
        "first_incoming_at",
        "first_response_at",
        "first_response_seconds",
        "reopened_at",
        "resolved_at",
        "resolution_seconds",
        "created_at",
        "updated_at",
    ]
    fields = ["status", "assigned_to", "priority", "tags", "labels", "snoozed_until", *readonly_fields]
    filter_horizontal = ["labels"]
    inlines = [RecentMessageInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # conversations are opened for a contact through the API / services

    def save_model(self, request: HttpRequest, obj: Conversation, form: Any, change: bool) -> None:
        data = {field: form.cleaned_data[field] for field in form.changed_data if field != "labels"}
        services.conversation_update(conversation=obj, data=data)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:
            formset.save(commit=False)  # the inline is read-only; this only fills the change log's lists
        if "labels" in form.changed_data:
            services.conversation_update(conversation=form.instance, data={"labels": form.cleaned_data["labels"]})

    def delete_model(self, request: HttpRequest, obj: Conversation) -> None:
        services.conversation_delete(conversation=obj)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "direction", "message_type", "status", "sent_at"]
    list_filter = ["direction", "message_type", "status"]
    search_fields = ["external_id", "client_message_id", "conversation__id"]
    list_select_related = ["conversation", "conversation__contact"]
    raw_id_fields = ["workspace", "conversation", "sender"]
    readonly_fields = [
        "workspace",
        "conversation",
        "direction",
        "message_type",
        "content",
        "media_url",
        "status",
        "error",
        "sent_at",
        "delivered_at",
        "read_at",
        "failed_at",
        "external_id",
        "client_message_id",
        "sender",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False  # COUNT(*) over a million messages on every changelist page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
