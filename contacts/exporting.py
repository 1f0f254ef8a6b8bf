"""Contact export to CSV or JSON; CSV output re-imports to the same contacts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import IO, Any

from accounts.models import Workspace
from contacts.fields import TAG_SEPARATORS
from contacts.models import Contact
from whatshybrid.csvsafe import SafeWriter

COLUMNS = ("phone", "name", "email", "company", "notes", "tags", "labels", "source", "opted_out", "custom_fields", "id")
VALUE_COLUMNS = tuple(column for column in COLUMNS if column != "labels")
CHUNK = 2000


def _names_cell(names: list[str]) -> str:
    # Plain "a; b" unless a name would not survive the split: then the JSON list the importer reads.
    if any(TAG_SEPARATORS.search(name) or name.startswith("[") for name in names):
        return json.dumps(names, ensure_ascii=False)
    return "; ".join(names)


def _label_names(contact_ids: list[Any]) -> dict[Any, list[str]]:
    links = Contact.labels.through.objects.filter(contact_id__in=contact_ids).order_by("label__name")
    names: dict[Any, list[str]] = {}
    for contact_id, name in links.values_list("contact_id", "label__name"):
        names.setdefault(contact_id, []).append(name)
    return names


def contact_export_rows(*, workspace: Workspace) -> Iterator[dict[str, Any]]:
    """Contacts as dicts of ``COLUMNS``; ``labels`` are names (one query per chunk of contacts)."""
    queryset = Contact.objects.filter(workspace=workspace).order_by("created_at", "id").values(*VALUE_COLUMNS)
    for chunk in itertools.batched(queryset.iterator(chunk_size=CHUNK), CHUNK):
        labels = _label_names([row["id"] for row in chunk])
        for row in chunk:
            yield {**row, "labels": labels.get(row["id"], [])}


def contact_export_count(*, workspace: Workspace) -> int:
    return Contact.objects.filter(workspace=workspace).count()


def write_csv(rows: Iterator[dict[str, Any]], stream: IO[str]) -> Iterator[None]:
    """Writes the header, then one row per contact, yielding after each (for progress bars)."""
    writer = SafeWriter(stream)
    writer.writerow(COLUMNS)
    for row in rows:
        cells = {
            **row,
            "tags": _names_cell(row["tags"] or []),
            "labels": _names_cell(row["labels"]),
            "custom_fields": json.dumps(row["custom_fields"], ensure_ascii=False) if row["custom_fields"] else "",
            "opted_out": "true" if row["opted_out"] else "false",
            "id": str(row["id"]),
        }
        writer.writerow([cells[column] or "" for column in COLUMNS])
        yield


def write_json(rows: Iterator[dict[str, Any]], stream: IO[str]) -> Iterator[None]:
    """``{"contacts": [...]}``, the body ``POST /contacts/import`` accepts, streamed row by row."""
    stream.write('{"contacts": [')
    for index, row in enumerate(rows):
        stream.write(("," if index else "") + "\n" + json.dumps({**row, "id": str(row["id"])}, ensure_ascii=False))
        yield
    stream.write("\n]}\n")
