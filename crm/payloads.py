"""Stages, deals and labels as every endpoint and event shows them (below the API layer:
services and the API serializers both build them here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from contacts.models import Contact
from crm import selectors
from crm.models import Deal, Label, PipelineStage
from whatshybrid.api.representation import representation


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ("id", "name", "color", "description", "created_at", "updated_at")
        read_only_fields = fields


class StageSerializer(serializers.ModelSerializer):
    """A stage with its ``deal_count`` and ``total_value`` (``selectors.with_totals``)."""

    deal_count = serializers.IntegerField(read_only=True)
    total_value = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)

    class Meta:
        model = PipelineStage
        fields = (
            "id",
            "name",
            "color",
            "position",
            "probability",
            "is_won",
            "is_lost",
            "deal_count",
            "total_value",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


def label_payload(label: Label) -> dict[str, Any]:
    return dict(LabelSerializer(label).data)


def stage_payloads(stage_ids: Iterable[Any]) -> list[dict[str, Any]]:
    """These stages' objects, totals included, in pipeline order."""
    stage_ids = list(stage_ids)
    if not stage_ids:
        return []
    stages = selectors.with_totals(PipelineStage.objects.filter(pk__in=stage_ids))
    return list(StageSerializer(stages, many=True).data)


def stage_payload(stage: PipelineStage) -> dict[str, Any]:
    """The stage's object with its totals read afresh."""
    (payload,) = stage_payloads([stage.pk])
    return payload


class LabelRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    color = serializers.CharField()


class DealContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ("id", "name", "phone")
        read_only_fields = fields
        columns = {"id": "contact_id", "name": "contact_name", "phone": "contact_phone"}


class DealListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        deals = list(data.all() if hasattr(data, "all") else data)
        selectors.attach_deal_labels(deals)
        return [self.child.to_representation(deal) for deal in deals]


class DealSerializer(serializers.ModelSerializer):
    """The deal as every endpoint and event shows it: the response and its schema
    (``whatshybrid.api.representation`` builds the object from these fields)."""

    contact_id = serializers.UUIDField(read_only=True)
    contact = DealContactSerializer(source="*", read_only=True)
    stage = serializers.UUIDField(source="stage_id", read_only=True, help_text="The stage id.")
    stage_id = serializers.UUIDField(read_only=True)
    stage_name = serializers.CharField(read_only=True)
    assigned_to = serializers.UUIDField(source="assigned_to_id", read_only=True, allow_null=True)
    labels = LabelRefSerializer(source="_label_rows", many=True, read_only=True)
    value = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = Deal
        fields = (
            "id",
            "contact_id",
            "contact",
            "title",
            "description",
            "value",
            "currency",
            "stage",
            "stage_id",
            "stage_name",
            "status",
            "probability",
            "expected_close_date",
            "assigned_to",
            "tags",
            "custom_fields",
            "labels",
            "won_at",
            "lost_at",
            "lost_reason",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        list_serializer_class = DealListSerializer

    def to_representation(self, deal: Deal) -> dict[str, Any]:
        if not hasattr(deal, "_label_rows"):
            selectors.attach_deal_labels([deal])
        return deal_representation(deal)


def deal_representation(deal: Deal) -> dict[str, Any]:
    """The deal's object. Its labels must be attached (``selectors.attach_deal_labels``); its
    contact and stage values are the ``selectors.with_relations`` columns, or read through the
    relations of a deal loaded without them."""
    if not hasattr(deal, "stage_name"):
        deal.contact_name, deal.contact_phone, deal.stage_name = deal.contact.name, deal.contact.phone, deal.stage.name
    return representation(DealSerializer)(deal)


def deal_payload(deal: Deal) -> dict[str, Any]:
    """The deal's object read afresh (contact, stage and labels included)."""
    (fresh,) = selectors.deal_list_prefetch(Deal.objects.filter(pk=deal.pk))
    return deal_representation(fresh)
