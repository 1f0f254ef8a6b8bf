from __future__ import annotations

from typing import ClassVar

from django.db.models import Exists, OuterRef, Q, QuerySet

from messaging.models import Conversation, Message
from messaging.selectors import STATUS_ALIASES
from whatshybrid.api import filters, params


def _statuses(raw: str, *, name: str) -> list[str | None]:
    allowed = [*Conversation.Status.values, *STATUS_ALIASES]
    return [STATUS_ALIASES.get(value, value) for value in params.parse_choices(raw, name=name, allowed=allowed)]


class ConversationFilterSet(filters.WorkspaceFilterSet):
    aliases: ClassVar[dict[str, str]] = {"contact_id": "contact", "label_id": "label"}

    status = filters.ParsedFilter(
        parse=_statuses,
        method="by_status",
        help_text="Comma-separated: open, pending, snoozed, resolved (closed = resolved), or active.",
    )
    assigned_to = filters.assignee_filter()
    contact = filters.uuid_filter("Only this contact's conversations (alias: contact_id).", field_name="contact_id")
    contact_id = filters.uuid_filter("Same as contact.", field_name="contact_id")
    label = filters.text_filter("A label id or name (alias: label_id).", method="by_label")
    label_id = filters.text_filter("Same as label.", method="by_label")
    tag = filters.text_filter("A tag (exact, case-insensitive).", method="by_tag")
    q = filters.text_filter("Text in the contact's name or phone or in any message.", method="by_text")

    def by_status(self, queryset: QuerySet, name: str, value: list[str | None]) -> QuerySet:
        if None in value:  # active
            return queryset.exclude(status=Conversation.Status.RESOLVED)
        return queryset.filter(status__in=set(value))

    def by_label(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(filters.labelled(value))

    def by_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(filters.tags_contain(value))

    def by_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        in_messages = Message.objects.filter(conversation=OuterRef("pk"), content__icontains=value)
        return queryset.filter(
            Q(contact__name__icontains=value) | Q(contact__phone__icontains=value) | Exists(in_messages)
        )
