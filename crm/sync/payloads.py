"""The REST representations the sync's events carry, in bulk: the same builders as the REST
writes (``crm.payloads``), so a synced deal's event is the one a REST write would publish."""

from __future__ import annotations

from typing import Any

from crm.models import Deal, Label
from crm.payloads import deal_representation, label_payload, stage_payloads
from crm.selectors import deal_list_prefetch

__all__ = ["deal_payloads", "label_payloads", "new_deal_payloads", "stage_payloads"]


def label_payloads(labels: list[Label]) -> list[dict[str, Any]]:
    return [label_payload(label) for label in labels]


def deal_payloads(deal_ids: list[Any]) -> list[dict[str, Any]]:
    deals = deal_list_prefetch(Deal.objects.filter(pk__in=deal_ids).order_by("created_at", "id"))
    return [deal_representation(deal) for deal in deals]


def new_deal_payloads(deals: list[Deal], contacts: dict[Any, Any]) -> list[dict[str, Any]]:
    """The payloads of deals this sync just inserted, built from the rows in hand (re-reading
    5,000 new deals with their contacts cost a second of the first sync): a new deal has no
    labels yet, and ``contacts`` holds its contact's row by pk. ``deal_representation`` reads
    the names from the attributes ``crm.selectors.with_relations`` would annotate."""
    payloads = []
    for deal in deals:
        contact = contacts[deal.contact_id]
        deal.contact_name, deal.contact_phone, deal.stage_name = contact.name, contact.phone, deal.stage.name
        deal._label_rows = []
        payloads.append(deal_representation(deal))
    return payloads
