from __future__ import annotations

from typing import ClassVar

from django.db.models import Q, QuerySet

from crm.models import Deal
from crm.selectors import label_resolve, stage_resolve
from whatshybrid.api import filters


class DealFilterSet(filters.WorkspaceFilterSet):
    aliases: ClassVar[dict[str, str]] = {
        "contact_id": "contact",
        "min_value": "value_min",
        "max_value": "value_max",
        "search": "q",
    }

    stage = filters.text_filter("A stage id, or a stage name when exactly one stage has it.", method="by_stage")
    status = filters.choices_filter("The deal's status.", allowed=Deal.Status.values, field_name="status")
    contact = filters.uuid_filter("A contact id (alias: contact_id).", field_name="contact_id")
    contact_id = filters.uuid_filter("Same as contact.", field_name="contact_id")
    assigned_to = filters.assignee_filter()
    label = filters.text_filter("A label id or name.", method="by_label")
    value_min = filters.decimal_filter(
        "Minimum value, inclusive (alias: min_value).", field_name="value", lookup_expr="gte"
    )
    min_value = filters.decimal_filter("Same as value_min.", field_name="value", lookup_expr="gte")
    value_max = filters.decimal_filter(
        "Maximum value, inclusive (alias: max_value).", field_name="value", lookup_expr="lte"
    )
    max_value = filters.decimal_filter("Same as value_max.", field_name="value", lookup_expr="lte")
    q = filters.text_filter("Text in the title, description or contact name (alias: search).", method="by_text")
    search = filters.text_filter("Same as q.", method="by_text")

    def by_stage(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(stage=stage_resolve(workspace=self.workspace, value=value))

    def by_label(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(labels=label_resolve(workspace=self.workspace, value=value))

    def by_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(title__icontains=value) | Q(description__icontains=value) | Q(contact__name__icontains=value)
        )
