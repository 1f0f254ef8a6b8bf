"""Contact export to CSV or JSON; CSV output re-imports to the same contacts."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from accounts.models import Workspace
from contacts.fields import TAG_SEPARATORS
from contacts.importing import FORMULA_STARTS
from contacts.models import Contact

COLUMNS = ("phone", "name", "email", "company", "notes", "tags", "source", "opted_out", "custom_fields", "id")
CHUNK = 2000


def neutralize(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading quote makes them text."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value


def _tags_cell(tags: list[str]) -> str:
    # Plain "a; b" unless a tag would not survive the split: then the JSON list the importer reads.
    if any(TAG_SEPARATORS.search(tag) or tag.startswith("[") for tag in tags):
        return json.dumps(tags, ensure_ascii=False)
    return "; ".join(tags)


def contact_export_rows(*, workspace: Workspace) -> Iterator[dict[str, Any]]:
    queryset = Contact.objects.filter(workspace=workspace).order_by("created_at", "id").values(*COLUMNS)
    yield from queryset.iterator(chunk_size=CHUNK)


def contact_export_count(*, workspace: Workspace) -> int:
    return Contact.objects.filter(workspace=workspace).count()


def write_csv(rows: Iterator[dict[str, Any]], stream: IO[str]) -> Iterator[None]:
    """Writes the header, then one row per contact, yielding after each (for progress bars)."""
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    for row in rows:
        cells = {
            **row,
            "tags": _tags_cell(row["tags"] or []),
            "custom_fields": json.dumps(row["custom_fields"], ensure_ascii=False) if row["custom_fields"] else "",
            "opted_out": "true" if row["opted_out"] else "false",
            "id": str(row["id"]),
        }
        writer.writerow([neutralize(str(cells[column] or "")) for column in COLUMNS])
        yield


def write_json(rows: Iterator[dict[str, Any]], stream: IO[str]) -> Iterator[None]:
    """``{"contacts": [...]}``, the body ``POST /contacts/import`` accepts, streamed row by row."""
    stream.write('{"contacts": [')
    for index, row in enumerate(rows):
        stream.write(("," if index else "") + "\n" + json.dumps({**row, "id": str(row["id"])}, ensure_ascii=False))
        yield
    stream.write("\n]}\n")
