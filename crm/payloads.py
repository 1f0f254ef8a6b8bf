"""Stages, deals and labels as every endpoint and event shows them (below the API layer:
services and the API serializers both build them here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from crm import selectors
from crm.models import Deal, Label, PipelineStage
from whatshybrid.api.serializers import instant_text


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


def deal_representation(deal: Deal) -> dict[str, Any]:
    """The deal's object; ``value`` is a decimal string. Its labels must be attached
    (``selectors.attach_deal_labels``). Written out by hand: the list serves up to PAGE_SIZE_MAX
    deals and DRF's generic field walk was half of its time."""
    if hasattr(deal, "stage_name"):  # annotated by selectors.with_relations
        contact_name, contact_phone, stage_name = deal.contact_name, deal.contact_phone, deal.stage_name
    else:
        contact_name, contact_phone, stage_name = deal.contact.name, deal.contact.phone, deal.stage.name
    return {
        "id": str(deal.pk),
        "contact_id": str(deal.contact_id),
        "contact": {"id": str(deal.contact_id), "name": contact_name, "phone": contact_phone},
        "title": deal.title,
        "description": deal.description,
        "value": f"{deal.value:.2f}",
        "currency": deal.currency,
        "stage": str(deal.stage_id),
        "stage_id": str(deal.stage_id),
        "stage_name": stage_name,
        "status": deal.status,
        "probability": deal.probability,
        "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else None,
        "assigned_to": str(deal.assigned_to_id) if deal.assigned_to_id else None,
        "tags": deal.tags,
        "custom_fields": deal.custom_fields,
        "labels": deal._label_rows,
        "won_at": instant_text(deal.won_at),
        "lost_at": instant_text(deal.lost_at),
        "lost_reason": deal.lost_reason,
        "created_at": instant_text(deal.created_at),
        "updated_at": instant_text(deal.updated_at),
    }


def deal_payload(deal: Deal) -> dict[str, Any]:
    """The deal's object read afresh (contact, stage and labels included)."""
    (fresh,) = selectors.deal_list_prefetch(Deal.objects.filter(pk=deal.pk))
    return deal_representation(fresh)
