"""The labels part of the CRM sync: the document's labels are the workspace's ``Label`` rows;
its ``contactLabels``, ``settings`` and ``lastUpdated`` are kept in ``LabelsDocument``.

The document as a whole is last-writer-wins on the client's ``lastUpdated``: a newer document
updates the labels it names and replaces the rest; an older one only adds labels the server
does not have (a label is never lost). Labels the document does not list are kept. The chats
of ``contactLabels`` it applies become label links (``contacts.sync.contacts_label_chats``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models.functions import Lower

from accounts.models import Workspace
from contacts.sync import as_uuid, row_key
from crm.models import Label, LabelsDocument
from crm.sync.pipeline import read_color, with_icon
from whatshybrid.api.bodies import (
    epoch_ms,
    invalid,
    json_size,
    read_id,
    read_list,
    read_object,
    read_strings,
    read_text,
)

MAX_LABELS = 1000


@dataclass
class LabelIn:
    key: str
    name: str
    color: str
    icon: str


@dataclass
class LabelsIn:
    labels: list[LabelIn]
    contact_labels: dict[str, Any] | None  # as sent: stored and returned with the document
    chats: dict[str, list[str]]  # the same mapping read: chat id or phone -> label ids
    settings: dict[str, Any] | None
    last_updated: int | None  # None: the labels came without their document (CRM page)


def read_labels(raw: Any, contact_labels: Any) -> LabelsIn | None:
    """``labels`` as the whole document (side panel) or as a list beside ``contactLabels``."""
    if raw is None and contact_labels is None:
        return None
    mapping_path = "contactLabels"
    if isinstance(raw, dict):
        document, path = raw, "labels"
        items = read_list(raw.get("labels"), "labels.labels", max_items=MAX_LABELS)
        if "contactLabels" in raw:
            contact_labels, mapping_path = raw["contactLabels"], "labels.contactLabels"
        last_updated = epoch_ms(raw.get("lastUpdated")) if raw.get("lastUpdated") is not None else None
        if raw.get("lastUpdated") is not None and last_updated is None:
            raise invalid("labels.lastUpdated", "Must be epoch milliseconds.")
        settings = read_object(document.get("settings"), f"{path}.settings", required=False)
        prefix = "labels.labels"
    else:
        items, settings, last_updated = read_list(raw, "labels", max_items=MAX_LABELS), None, None
        prefix = "labels"
    labels = []
    for index, value in enumerate(items):
        path = f"{prefix}[{index}]"
        item = read_object(value, path)
        key = read_id(item, "id", path)
        labels.append(
            LabelIn(
                key=key,
                name=read_text(item, "name", path, max_length=60) or key,
                color=read_color(item, path, "#3b82f6"),
                icon=read_text(item, "icon", path, max_length=40),
            )
        )
    mapping = read_object(contact_labels, mapping_path, required=False)
    chats = {
        str(chat): read_strings(mapping, chat, mapping_path, max_items=MAX_LABELS, max_length=100)
        for chat in mapping or {}
    }
    json_size(mapping, mapping_path)
    json_size(settings, "labels.settings")
    return LabelsIn(labels=labels, contact_labels=mapping, chats=chats, settings=settings, last_updated=last_updated)


@dataclass
class LabelsMerge:
    created: list[Label]
    updated: list[Label]
    # The label ids this document gives each chat (empty: a chat it no longer lists), and the
    # moment it speaks for: its ``lastUpdated``, or None for a mapping sent without its document.
    chats: dict[str, list[str]]
    as_of: datetime.datetime | None


def labels_merge(*, workspace: Workspace, document: LabelsIn, now: datetime.datetime) -> LabelsMerge:
    stored = LabelsDocument.objects.select_for_update().filter(workspace=workspace).first()
    newer = document.last_updated is not None and (stored is None or document.last_updated > stored.last_updated)
    rows = list(Label.objects.filter(workspace=workspace).annotate(lname=Lower("name")))
    by_key = {row.client_key: row for row in rows if row.client_key}
    by_pk = {row.pk: row for row in rows}
    by_name = {row.lname: row for row in rows}
    merge = LabelsMerge(created=[], updated=[], **_chats_to_link(stored, document, newer))
    adopted = []
    for item in document.labels:
        row = by_key.get(item.key) or by_pk.get(as_uuid(item.key)) or by_name.get(item.name.lower())
        if row is None:
            row = Label(
                workspace=workspace,
                client_key=item.key,
                name=item.name,
                color=item.color,
                client_extra=with_icon({}, item.icon),
            )
            merge.created.append(row)
            by_key[item.key] = by_name[item.name.lower()] = row
            continue
        if row.client_key is None and as_uuid(item.key) is None and item.key not in by_key:
            row.client_key = item.key
            by_key[item.key] = row
            adopted.append(row)
        if newer:
            taken = by_name.get(item.name.lower())
            name = item.name if taken is None or taken is row else row.name  # names stay unique
            wanted = {"name": name, "color": item.color, "client_extra": with_icon(row.client_extra, item.icon)}
            if any(getattr(row, field) != value for field, value in wanted.items()):
                by_name.pop(row.name.lower(), None)
                for field, value in wanted.items():
                    setattr(row, field, value)
                by_name[row.name.lower()] = row
                row.updated_at = now
                merge.updated.append(row)
    Label.objects.bulk_create(merge.created)
    Label.objects.bulk_update(merge.updated, ["name", "color", "client_extra", "client_key", "updated_at"])
    Label.objects.bulk_update([row for row in adopted if row not in merge.updated], ["client_key"])
    _store_document(workspace, stored, document, newer)
    return merge


def _chats_to_link(stored: LabelsDocument | None, document: LabelsIn, newer: bool) -> dict[str, Any]:
    """Which chats' label links the document sets: all it lists when it is newer than the stored
    one (a chat it dropped lost its labels); the listed ones when sent without a document (the
    CRM page); none when it is older, like the rest of an older document."""
    if newer:
        dropped = {chat: [] for chat in (stored.contact_labels if stored else {}) if chat not in document.chats}
        as_of = datetime.datetime.fromtimestamp(document.last_updated / 1000, tz=datetime.UTC)
        return {"chats": {**dropped, **document.chats}, "as_of": as_of}
    if document.last_updated is None:
        return {"chats": document.chats, "as_of": None}
    return {"chats": {}, "as_of": None}


def _store_document(workspace: Workspace, stored: LabelsDocument | None, document: LabelsIn, newer: bool) -> None:
    if stored is None:
        stored = LabelsDocument(workspace=workspace)
    before = (stored.contact_labels, stored.settings, stored.last_updated)
    if newer:
        stored.contact_labels = document.contact_labels or {}
        stored.settings = document.settings or {}
        stored.last_updated = document.last_updated
    elif document.last_updated is None and document.contact_labels:
        # Labels sent without their document: their chats' labels are the client's, key by key.
        stored.contact_labels = {**stored.contact_labels, **document.contact_labels}
    if stored._state.adding or (stored.contact_labels, stored.settings, stored.last_updated) != before:
        stored.save()


def label_keys(*, workspace: Workspace) -> dict[str, Any]:
    """Label pk by every id a client may use for it (client key, server id)."""
    keys: dict[str, Any] = {}
    for pk, client_key in Label.objects.filter(workspace=workspace).values_list("pk", "client_key"):
        keys[str(pk)] = pk
        if client_key:
            keys[client_key] = pk
    return keys


def labels_data(*, workspace: Workspace) -> dict[str, Any]:
    stored = LabelsDocument.objects.filter(workspace=workspace).first()
    labels = [
        {"id": row_key(label), "name": label.name, "color": label.color, "icon": label.client_extra.get("icon", "")}
        for label in Label.objects.filter(workspace=workspace).order_by("name", "id")
    ]
    return {
        "labels": labels,
        "contactLabels": stored.contact_labels if stored else {},
        "settings": stored.settings if stored else {},
        "lastUpdated": stored.last_updated if stored else 0,
    }
