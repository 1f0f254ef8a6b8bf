"""The REST representations the sync's events carry, read from one place.

They are the REST API's own builders; when those move to ``crm.payloads`` only these lines
change.
"""

from __future__ import annotations

from typing import Any

from crm.models import Deal, Label


def stage_payloads(stage_ids: list[Any]) -> list[dict[str, Any]]:
    from crm.services import _stage_payloads

    return _stage_payloads(stage_ids)


def label_payloads(labels: list[Label]) -> list[dict[str, Any]]:
    from crm.api.serializers import LabelSerializer

    return [dict(payload) for payload in LabelSerializer(labels, many=True).data]


def deal_payloads(deal_ids: list[Any]) -> list[dict[str, Any]]:
    from crm.api.serializers import DealSerializer
    from crm.selectors import deal_list_prefetch

    deals = deal_list_prefetch(Deal.objects.filter(pk__in=deal_ids).order_by("created_at", "id"))
    return [dict(payload) for payload in DealSerializer(deals, many=True).data]
