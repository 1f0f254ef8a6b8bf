"""The contacts part of the extension's CRM sync: read the client's contacts, merge them into
the workspace's rows in bulk, and show rows in the client's shape.

A client contact is matched to a row by its client key, then by the row's own id (a client
that adopted a server id), then by phone identity, so one phone stays one contact. The newer
copy wins (the client's ``updatedAt`` against the row's ``updated_at``); an older or identical
copy writes nothing.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from accounts.models import Workspace
from contacts import fields as rules
from contacts.models import Contact
from contacts.phones import normalize_phone
from contacts.services import workspace_region
from whatshybrid.api.bodies import invalid, read_id, read_moment, read_object, read_strings, read_text
from whatshybrid.api.serializers import instant_text
from whatshybrid.db import bulk_insert

# Bound parameters per lookup stay far below SQLite's 32,766 with three lists per chunk.
CHUNK = 2000
SYNC_FIELDS = ("phone", "phone_raw", "name", "email", "company", "notes", "tags", "custom_fields", "source")
# Keys of the client's contact that have no column; stored as they came and echoed back.
EXTRA_KEYS = ("status", "stage")


def chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def row_key(row: Any) -> str:
    """The id a client knows a row by: its client key, or the server's id for rows made here."""
    return row.client_key or str(row.pk)


def _clean(path: str, rule: Any, value: Any) -> Any:
    try:
        return rule(value)
    except rules.FieldError as exc:
        raise invalid(path, str(exc)) from None


@dataclass
class ContactIn:
    key: str
    phone: str
    phone_raw: str
    values: dict[str, Any]
    labels: list[str]
    extra: dict[str, Any]
    updated_at: datetime.datetime | None


@functools.lru_cache(maxsize=50_000)
def _phone_identity(raw: str, region: str) -> str:
    """``normalize_phone``, remembered: the extension resends the same phones every 5 minutes."""
    return normalize_phone(raw, default_region=region)


def read_contacts(raw: list[Any], *, workspace: Workspace) -> list[ContactIn]:
    region = workspace_region(workspace)
    items = []
    for index, value in enumerate(raw):
        path = f"contacts[{index}]"
        item = read_object(value, path)
        raw_phone = read_text(item, "phone", path, max_length=64)
        try:
            phone = _phone_identity(raw_phone, region)
        except ValueError as exc:
            raise invalid(f"{path}.phone", str(exc)) from None
        values = {
            name: _clean(f"{path}.{name}", lambda v, n=name: rules.clean_text(n, v), item.get(name))
            for name in ("name", "company", "notes")
        }
        values["email"] = _clean(f"{path}.email", rules.clean_email, item.get("email"))
        values["source"] = _clean(f"{path}.source", lambda v: rules.clean_text("source", v), item.get("source"))
        values["tags"] = read_tags(item, path)
        values["custom_fields"] = _clean(f"{path}.customFields", rules.clean_custom_fields, item.get("customFields"))
        labels = read_strings(item, "labels", path, max_items=rules.MAX_LABELS, max_length=100)
        extra = {key: read_text(item, key, path, max_length=100) for key in EXTRA_KEYS if key in item}
        items.append(
            ContactIn(
                key=read_id(item, "id", path),
                phone=phone,
                phone_raw=raw_phone[:64],
                values=values,
                labels=labels,
                extra=extra,
                updated_at=read_moment(item, "updatedAt", path),
            )
        )
    return items


def read_tags(item: dict[str, Any], path: str) -> list[str]:
    """Tags as a list (a string is refused: splitting on commas is the CSV import's rule)."""
    tags = item.get("tags")
    if tags is not None and not isinstance(tags, list):
        raise invalid(f"{path}.tags", "Must be a list of strings.")
    return _clean(f"{path}.tags", rules.clean_tags, tags)


def _newest(items: Iterable[ContactIn]) -> ContactIn:
    """The copy that wins among several naming one contact: the newest, the last on a tie."""
    epoch = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    winner = None
    for item in items:
        if winner is None or (item.updated_at or epoch) >= (winner.updated_at or epoch):
            winner = item
    return winner


@dataclass
class ContactsMerge:
    by_key: dict[str, Any]  # every client id of the body -> its row (a Contact or a RowRef)
    created: list[Contact]
    updated: list[Contact]  # changed rows: each gets a contact:updated
    adopted: list[Contact]  # rows that only took the client's id as their client key
    label_sets: dict[Any, set[Any]]  # contact pk -> label pks, for the rows whose labels were written
    # Contact pk -> the ``updatedAt`` of the client copy that set its ``label_sets`` entry.
    label_moments: dict[Any, datetime.datetime | None] = field(default_factory=dict)
    others: list[Contact] = field(default_factory=list)  # rows outside the body the labels document relabels


@dataclass(frozen=True)
class RowRef:
    """What the merge reads of a stored row before it knows the row will change: building a
    model instance per unchanged row was most of a repeated sync's time."""

    pk: Any
    client_key: str | None
    updated_at: datetime.datetime
    phone: str = ""
    stage_id: Any = None


def needs_row(ref: RowRef, key: str, updated_at: datetime.datetime | None) -> bool:
    """Whether the client's copy changes the row: newer, or its id to adopt as the client key."""
    return (ref.client_key is None and as_uuid(key) is None) or (updated_at is not None and updated_at > ref.updated_at)


def contacts_merge(
    *, workspace: Workspace, items: list[ContactIn], labels: dict[str, Any], now: datetime.datetime
) -> ContactsMerge:
    """Creates and updates the rows for ``items`` with a fixed number of queries per chunk.

    ``labels`` maps a label id the client uses to the label's pk; unknown label ids are left out.
    """
    existing: dict[Any, RowRef] = {}
    for part in chunks(items):
        keys = [item.key for item in part]
        pks = [pk for pk in map(as_uuid, keys) if pk is not None]
        phones = [item.phone for item in part]
        query = Q(client_key__in=keys) | Q(pk__in=pks) | Q(phone__in=phones)
        # Unordered: ordered, SQLite walks the workspace's created_at index (tests/test_query_plans.py).
        rows = (
            Contact.objects.filter(query, workspace=workspace)
            .order_by()
            .values_list("pk", "client_key", "updated_at", "phone")
        )
        existing.update((row[0], RowRef(*row)) for row in rows)
    by_client_key = {row.client_key: row for row in existing.values() if row.client_key}
    by_phone = {row.phone: row for row in existing.values()}

    groups: dict[Any, list[ContactIn]] = {}
    for item in items:
        row = by_client_key.get(item.key) or existing.get(as_uuid(item.key)) or by_phone.get(item.phone)
        groups.setdefault(row.pk if row is not None else ("new", item.phone), []).append(item)
    winners = {target: _newest(group) for target, group in groups.items()}
    wanted = [
        pk for pk, item in winners.items() if pk in existing and needs_row(existing[pk], item.key, item.updated_at)
    ]
    full = {row.pk: row for part in chunks(wanted) for row in Contact.objects.filter(pk__in=part).order_by()}

    merge = ContactsMerge(by_key={}, created=[], updated=[], adopted=[], label_sets={})
    for target, group in groups.items():
        winner = winners[target]
        row = full.get(target) or existing.get(target)
        if row is None:
            row = Contact(
                workspace=workspace,
                phone=winner.phone,
                phone_raw=winner.phone_raw,
                client_key=winner.key,
                client_extra=winner.extra,
                **winner.values,
            )
            merge.created.append(row)
            merge.label_sets[row.pk] = {labels[key] for key in winner.labels if key in labels}
        elif target in full:
            _apply(row, winner, by_phone, labels, merge, now)
        for item in group:
            merge.by_key[item.key] = row
    return merge


def _apply(
    row: Contact,
    item: ContactIn,
    by_phone: dict[str, RowRef],
    labels: dict[str, Any],
    merge: ContactsMerge,
    now: datetime.datetime,
) -> None:
    """Applies the client's copy to ``row`` when it is newer than the row."""
    adopts = row.client_key is None and as_uuid(item.key) is None
    if adopts:
        row.client_key = item.key  # the client's id becomes this row's name for it
    edits: dict[str, Any] = {}
    if item.updated_at is not None and item.updated_at > row.updated_at:
        values = dict(item.values)
        owner = by_phone.get(item.phone)
        if owner is None or owner.pk == row.pk:  # a phone of another contact is never taken over
            values.update(phone=item.phone, phone_raw=item.phone_raw)
        values["client_extra"] = {**row.client_extra, **item.extra}
        edits = {name: value for name, value in values.items() if getattr(row, name) != value}
        if "phone" not in edits:  # the same number written another way is no change
            edits.pop("phone_raw", None)
        merge.label_sets[row.pk] = {labels[key] for key in item.labels if key in labels}
        merge.label_moments[row.pk] = item.updated_at
    apply_edits(row, edits, adopts=adopts, merge=merge, now=now)


def apply_edits(row: Any, edits: dict[str, Any], *, adopts: bool, merge: Any, now: datetime.datetime) -> None:
    """Writes ``edits`` onto an existing ``row`` and files it for the bulk write: ``updated`` when
    anything changed, else ``adopted`` when only the client's key is new to it."""
    for name, value in edits.items():
        setattr(row, name, value)
    if edits:
        row.updated_at = now
        merge.updated.append(row)
    elif adopts:
        merge.adopted.append(row)


def contacts_write(*, merge: ContactsMerge, now: datetime.datetime) -> None:
    """Writes a merge: bulk inserts, bulk updates, and the label links that differ."""
    link = Contact.labels.through
    current: dict[Any, set[Any]] = {pk: set() for pk in merge.label_sets}
    for part in chunks(sorted(merge.label_sets, key=str)):
        for contact_id, label_id in link.objects.filter(contact_id__in=part).values_list("contact_id", "label_id"):
            current[contact_id].add(label_id)
    relabelled = {pk for pk, wanted in merge.label_sets.items() if wanted != current[pk]}
    # A contact whose only change is its labels is updated too: its payload shows them.
    written = {row.pk for row in merge.created} | {row.pk for row in merge.updated}
    for row in {row.pk: row for row in [*merge.by_key.values(), *merge.others]}.values():
        if row.pk in relabelled and row.pk not in written:
            row.updated_at = now
            merge.updated.append(row)
            if row in merge.adopted:
                merge.adopted.remove(row)
    bulk_insert(merge.created)
    Contact.objects.bulk_update(
        merge.updated, [*SYNC_FIELDS, "client_key", "client_extra", "updated_at"], batch_size=500
    )
    Contact.objects.bulk_update(merge.adopted, ["client_key"], batch_size=500)
    stale = sorted(relabelled - {row.pk for row in merge.created}, key=str)
    for part in chunks(stale):
        link.objects.filter(contact_id__in=part).delete()
    bulk_insert([link(contact_id=pk, label_id=label) for pk in relabelled for label in merge.label_sets[pk]])


def contacts_label_chats(
    *,
    workspace: Workspace,
    merge: ContactsMerge,
    chats: dict[str, set[Any]],
    as_of: datetime.datetime | None,
) -> None:
    """Adds the labels document's ``contactLabels`` (chat id or phone -> label pks) to the label
    links ``contacts_write`` sets, in a fixed number of queries.

    A chat names the contact of its phone identity (``5511…@c.us``, digits, any format); group
    ids and other non-phones name nobody and stay in the document only. A new contact takes the
    labels of its copy and of its chat; a stored contact whose own copy in this body also set its
    labels keeps the newer statement (its ``updatedAt`` against the document's ``as_of``; a
    mapping without a document loses to the copy).
    """
    region = workspace_region(workspace)
    wanted: dict[str, set[Any]] = {}
    for chat, label_pks in chats.items():
        try:
            identity = _phone_identity(chat, region)
        except ValueError:
            continue
        wanted.setdefault(identity, set()).update(label_pks)  # two spellings of one phone add up
    rows: dict[str, Any] = {row.phone: row for row in merge.by_key.values() if isinstance(row, Contact)}
    missing = sorted(phone for phone in wanted if phone not in rows)
    for part in chunks(missing):
        # Unordered: ordered, SQLite walks the workspace's created_at index (tests/test_query_plans.py).
        for row in Contact.objects.filter(workspace=workspace, phone__in=part).order_by():
            rows[row.phone] = row
            merge.others.append(row)
    created = {row.pk for row in merge.created}
    for phone, label_pks in wanted.items():
        row = rows.get(phone)
        if row is None:
            continue
        if row.pk in created:
            merge.label_sets[row.pk] = merge.label_sets.get(row.pk, set()) | label_pks
        elif row.pk not in merge.label_sets or (as_of is not None and as_of > merge.label_moments[row.pk]):
            merge.label_sets[row.pk] = set(label_pks)


def contact_label_keys(*, workspace: Workspace) -> dict[Any, list[str]]:
    """Contact pk -> the ids the client knows its labels by, for every labelled contact."""
    link = Contact.labels.through
    rows = link.objects.filter(contact__workspace=workspace).values_list("contact_id", "label_id", "label__client_key")
    keys: dict[Any, list[str]] = {}
    for contact_id, label_id, client_key in rows.order_by("label__name"):
        keys.setdefault(contact_id, []).append(client_key or str(label_id))
    return keys


def contact_shape(contact: Any, label_keys: list[str]) -> dict[str, Any]:
    """A contact (a row or a ``SHAPE_FIELDS`` tuple) as the extension stores it (camelCase, its
    ids, digits-only phone)."""
    return {
        "id": row_key(contact),
        "phone": contact.phone.lstrip("+"),
        "name": contact.name,
        "email": contact.email,
        "company": contact.company,
        "notes": contact.notes,
        "tags": contact.tags,
        "labels": label_keys,
        "stage": contact.client_extra.get("stage", ""),
        "customFields": contact.custom_fields,
        "status": "opted_out" if contact.opted_out else contact.client_extra.get("status") or "active",
        "source": contact.source,
        "createdAt": instant_text(contact.created_at),
        "updatedAt": instant_text(contact.updated_at),
    }


SHAPE_FIELDS = ("pk", "client_key", "phone", "name", "email", "company", "notes", "tags", "client_extra")
SHAPE_FIELDS += ("custom_fields", "opted_out", "source", "created_at", "updated_at")


def contacts_data(*, workspace: Workspace) -> list[dict[str, Any]]:
    """Every contact of the workspace in the client's shape, oldest first."""
    label_keys = contact_label_keys(workspace=workspace)
    rows = (
        Contact.objects.filter(workspace=workspace).order_by("created_at", "id").values_list(*SHAPE_FIELDS, named=True)
    )
    return [contact_shape(row, label_keys.get(row.pk, [])) for row in rows.iterator(chunk_size=2000)]
