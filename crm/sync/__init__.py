"""``POST /crm/sync`` and ``GET /crm/data``: the extension's whole CRM in one call.

The body is read and checked completely before anything is written, then the pipeline,
labels, contacts and deals are merged in one transaction with bulk statements (a fixed number
per chunk of rows, never one per row). Every change publishes the same event, with the same
payload, as the REST write would; an unchanged object writes and publishes nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from contacts.models import Contact
from contacts.payloads import contact_payloads
from contacts.sync import (
    ContactIn,
    chunks,
    contacts_data,
    contacts_label_chats,
    contacts_merge,
    contacts_write,
    read_contacts,
)
from crm.sync.deals import DealIn, deals_data, deals_merge, deals_write, read_deals
from crm.sync.labels import LabelsIn, label_keys, labels_data, labels_merge, read_labels
from crm.sync.payloads import deal_payloads, label_payloads, new_deal_payloads, stage_payloads
from crm.sync.pipeline import StageIn, pipeline_data, pipeline_merge, read_pipeline, stage_keys
from whatshybrid.api.bodies import epoch_ms, read_list, read_object
from whatshybrid.realtime.publisher import publish_many

MAX_OBJECTS = 20_000
# Events per publish_many call (one counter bump and one multi-row insert each).
EVENT_BATCH = 500


@dataclass
class CrmSyncIn:
    contacts: list[ContactIn]
    deals: list[DealIn]
    pipeline: list[StageIn] | None
    labels: LabelsIn | None
    last_sync: datetime.datetime | None


def read_crm_body(body: Any, *, workspace: Workspace) -> CrmSyncIn:
    body = read_object(body, "body")
    last_sync = epoch_ms(body.get("lastSync"))
    return CrmSyncIn(
        contacts=read_contacts(read_list(body.get("contacts"), "contacts", max_items=MAX_OBJECTS), workspace=workspace),
        deals=read_deals(read_list(body.get("deals"), "deals", max_items=MAX_OBJECTS)),
        pipeline=read_pipeline(body.get("pipeline")),
        labels=read_labels(body.get("labels"), body.get("contactLabels")),
        last_sync=None if last_sync is None else datetime.datetime.fromtimestamp(last_sync / 1000, tz=datetime.UTC),
    )


def publish_batched(workspace: Workspace, events: list[tuple[str, dict[str, Any]]]) -> None:
    for part in chunks(events, EVENT_BATCH):
        publish_many(workspace, part)


@transaction.atomic
def crm_sync(*, workspace: Workspace, body: Any, actor: Any = None) -> dict[str, Any]:
    """Merges the client's CRM into the workspace's and returns ``{synced, data}``."""
    request = read_crm_body(body, workspace=workspace)
    now = timezone.now()
    events: list[tuple[str, dict[str, Any]]] = []

    if request.pipeline is not None:
        pipeline = pipeline_merge(workspace=workspace, items=request.pipeline, last_sync=request.last_sync, now=now)
        events += [("stage:created", payload) for payload in stage_payloads([s.pk for s in pipeline.created])]
        events += [("stage:updated", payload) for payload in stage_payloads(pipeline.changed)]
    labels = None
    if request.labels is not None:
        labels = labels_merge(workspace=workspace, document=request.labels, now=now)
        events += [("label:created", payload) for payload in label_payloads(labels.created)]
        events += [("label:updated", payload) for payload in label_payloads(labels.updated)]

    label_ids = label_keys(workspace=workspace)
    contacts = contacts_merge(workspace=workspace, items=request.contacts, labels=label_ids, now=now)
    if labels is not None and labels.chats:
        chats = {chat: {label_ids[key] for key in keys if key in label_ids} for chat, keys in labels.chats.items()}
        contacts_label_chats(workspace=workspace, merge=contacts, chats=chats, as_of=labels.as_of)
    contacts_write(merge=contacts, now=now)
    events += [("contact:created", payload) for payload in contact_payloads(contacts.created)]
    events += [("contact:updated", payload) for payload in contact_payloads(contacts.updated)]

    deals = deals_merge(
        workspace=workspace,
        items=request.deals,
        contacts=contacts.by_key,
        stages=stage_keys(workspace=workspace),
        actor=actor,
        now=now,
    )
    deals_write(merge=deals)
    # A new deal of a contact this sync holds as a full row is shown from memory; the rest re-read.
    rows = {row.pk: row for row in contacts.by_key.values() if isinstance(row, Contact)}
    in_hand = [deal for deal in deals.created if deal.contact_id in rows]
    events += [("deal:created", payload) for payload in new_deal_payloads(in_hand, rows)]
    reread = [("deal:created", [d for d in deals.created if d.contact_id not in rows]), ("deal:updated", deals.updated)]
    for name, changed in reread:
        for part in chunks([row.pk for row in changed]):
            events += [(name, payload) for payload in deal_payloads(part)]

    publish_batched(workspace, events)
    return {
        "synced": {"contacts": len(request.contacts), "deals": len(request.deals)},
        "data": crm_data(workspace=workspace),
    }


def crm_data(*, workspace: Workspace) -> dict[str, Any]:
    """The workspace's CRM in the client's shape (its ids, camelCase)."""
    return {
        "contacts": contacts_data(workspace=workspace),
        "deals": deals_data(workspace=workspace),
        "pipeline": pipeline_data(workspace=workspace),
        "labels": labels_data(workspace=workspace),
        "lastSync": int(timezone.now().timestamp() * 1000),
    }
