"""Contact import: parse (CSV or JSON rows), validate every row, write in batches.

Rows are validated up front (phone, email, lengths, formulas, duplicates inside the file) and
written in batches of ``CONTACTS_IMPORT_BATCH_SIZE``, each in its own transaction: a batch is
all-or-nothing, a crash loses no committed batch, and because existing phones are looked up per
batch a re-run of the same file creates no duplicates (its rows are skipped or updated).

Labels are CRM labels named per row (any case). The batch's names are looked up together; a
name the workspace has no label for is the row's ``unknown_label`` error, unless the import
asks to ``create_labels``. With ``update_existing`` a row's labels replace the contact's, as
every other column does; a row without a ``labels`` key leaves them alone.

Each committed batch publishes one ``contacts:imported`` event (not one event per contact):
``{import_id, created, updated, since}``; clients resync with ``GET /contacts?updated_since=since``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Workspace
from contacts import fields as rules
from contacts.models import Contact, ContactImport
from contacts.phones import MAX_RAW_LENGTH, InvalidPhone, normalize_phone
from contacts.services import workspace_region
from crm.models import Label
from whatshybrid import strict_json
from whatshybrid.api.errors import ApplicationError
from whatshybrid.csvsafe import is_formula
from whatshybrid.locking import lock_keys
from whatshybrid.realtime.publisher import batches, publish

PHONE_ALIASES = ("phone", "telefone", "phone_number", "number", "numero", "número", "whatsapp", "celular", "mobile")
FIELD_ALIASES = {
    **dict.fromkeys(PHONE_ALIASES, "phone"),
    "name": "name",
    "nome": "name",
    "full_name": "name",
    "email": "email",
    "e-mail": "email",
    "company": "company",
    "empresa": "company",
    "notes": "notes",
    "observacoes": "notes",
    "tags": "tags",
    "labels": "labels",
    "etiquetas": "labels",
    "custom_fields": "custom_fields",
    "source": "source",
    "opted_out": "opted_out",
}
# Keys an exported contact carries that the importer does not write (ids, timestamps...).
IGNORED_KEYS = frozenset(
    {"id", "workspace", "workspace_id", "phone_raw", "created_at", "updated_at", "last_interaction_at"}
)
# The options every entry point (API, admin, command) passes to the import.
IMPORT_FLAGS = ("dry_run", "update_existing", "create_labels")
MAX_CUSTOM_KEY_LENGTH = 100
# Label names per lookup query: SQLite refuses statements with more than 32,766 parameters.
LABEL_LOOKUP_CHUNK = 1000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped, "errors": self.errors}


@dataclass
class CleanRow:
    number: int
    phone: str
    phone_raw: str
    values: dict[str, Any]
    labels: list[str] | None = None  # None: the row says nothing about labels


class RowError(Exception):
    def __init__(self, field_name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field_name, self.code, self.message = field_name, code, message


# --- parsing -----------------------------------------------------------------------------------
def _request_error(message: str, code: str, status_code: int = 400) -> ApplicationError:
    return ApplicationError(message, code=code, status_code=status_code, errors={"file": [message]})


def decode_text(data: bytes) -> str:
    """UTF-16 with its byte order mark (Excel's "Unicode text"), UTF-8 (with or without BOM), else
    Latin-1 (every byte is valid Latin-1)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise _request_error("The file is not valid UTF-16; save it as UTF-8.", "MALFORMED_CSV") from None
    if b"\x00" in data:
        # Mostly-NUL odd or even bytes: text in UTF-16 (ASCII letters have one zero byte).
        if len(data) >= 8 and max(data[0::2].count(0), data[1::2].count(0)) > len(data) * 3 // 8:
            message = "The file looks like UTF-16 without a byte order mark, which is not supported; save it as UTF-8."
        else:
            message = "The file is not a text CSV (it contains NUL bytes)."
        raise _request_error(message, "MALFORMED_CSV")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_csv(data: bytes) -> list[dict[str, Any]]:
    """CSV bytes → row dicts keyed by the header; request-level problems are a 400."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise _request_error(
            f"The file is larger than the {settings.IMPORT_MAX_BYTES} bytes limit.", "FILE_TOO_LARGE", 413
        )
    # A cell over csv.field_size_limit() (131,072 by default) fails the whole file. No cell is
    # longer than the file, so at this limit an over-long cell reaches validation and becomes
    # its row's max_length error. The limit is process-wide; raising it only relaxes others.
    if csv.field_size_limit() <= settings.IMPORT_MAX_BYTES:
        csv.field_size_limit(settings.IMPORT_MAX_BYTES + 1)
    text = decode_text(data)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise _request_error("The file is empty or its first line (the header) is blank.", "EMPTY_FILE")
    # Spreadsheets in Brazil save CSV with ';': take the most frequent candidate in the header.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
        if not any(FIELD_ALIASES.get(name) == "phone" for name in header):
            raise _request_error(
                f"The header has no phone column (expected one of: {', '.join(PHONE_ALIASES)}).",
                "MISSING_PHONE_COLUMN",
            )
        rows: list[dict[str, Any]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            row: dict[str, Any] = dict(zip(header, cells, strict=False))
            if len(cells) > len(header):
                row[None] = cells[len(header) :]  # type: ignore[index]
            rows.append(row)
    except csv.Error as exc:
        raise _request_error(f"Malformed CSV near line {reader.line_num}: {exc}.", "MALFORMED_CSV") from None
    return rows


def parse_json_rows(items: Any) -> list[Any]:
    if not isinstance(items, list):
        raise ApplicationError(
            "contacts must be a list.", code="VALIDATION_ERROR", errors={"contacts": ["Must be a list."]}
        )
    return items


# --- validation --------------------------------------------------------------------------------
def _unescape(value: Any) -> Any:
    """Rejects a bare spreadsheet formula; accepts the exported, quote-escaped form literally."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] == "'" and is_formula(value[1:]):
        return value[1:]
    if is_formula(value) and _looks_like_formula(value):
        raise RowError("", "formula", "Cell looks like a spreadsheet formula; prefix it with ' to keep it as text.")
    return value


def _looks_like_formula(value: str) -> bool:
    # "=..." always (also after spaces); "+", "-", "@" only with a call or reference ("-2+3"
    # notes and "+55..." pass).
    return value[0] in "\t\r" or value.lstrip()[:1] == "=" or any(mark in value for mark in ("(", "!"))


def _clean_value(name: str, value: Any) -> Any:
    try:
        if name in ("name", "company", "notes", "source"):
            return rules.clean_text(name, value)
        if name == "email":
            return rules.clean_email(value)
        if name in ("tags", "labels"):
            if isinstance(value, str) and value.startswith("["):
                value = strict_json.loads(value, allow_nul=True)
            return rules.clean_tags(value) if name == "tags" else rules.clean_label_names(value)
        if name == "custom_fields":
            if isinstance(value, str) and value.strip():
                value = strict_json.loads(value, allow_nul=True)
            return rules.clean_custom_fields(value)
        return rules.clean_bool(value)
    except strict_json.UnsafeJSON as exc:
        raise RowError(name, "invalid", str(exc)) from None
    except json.JSONDecodeError:
        raise RowError(name, "invalid", "Not valid JSON.") from None
    except rules.FieldError as exc:
        raise RowError(name, exc.code, str(exc)) from None


def clean_row(row: Any, number: int, region: str) -> CleanRow:
    if not isinstance(row, dict):
        raise RowError("", "invalid", "Each contact must be an object.")
    if None in row:
        raise RowError("", "too_many_columns", "The row has more cells than the header.")
    phone_raw: Any = None
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for key, value in row.items():
        key_name = str(key).strip().lower()
        target = FIELD_ALIASES.get(key_name)
        if target == "phone":
            # A phone is never run as a formula: normalization judges it (the export's quote aside).
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # JSON clients send digits as numbers
            if phone_raw in (None, ""):
                phone_raw = value[1:] if isinstance(value, str) and value.startswith("'") else value
            continue
        if key_name in IGNORED_KEYS:
            continue
        try:
            value = _unescape(value)
        except RowError as exc:
            exc.field_name = target or str(key)
            raise
        if target is not None:
            values[target] = _clean_value(target, value)
        elif value not in (None, ""):
            # Unknown columns keep their data as custom fields rather than being lost.
            column = str(key)
            if len(column) > MAX_CUSTOM_KEY_LENGTH or not isinstance(value, (str, int, float, bool)):
                raise RowError(column[:MAX_CUSTOM_KEY_LENGTH], "invalid", "Unknown column with an unusable value.")
            # Alone over the custom fields' budget: name the column, not custom_fields.
            if len(json.dumps({column: value})) > rules.MAX_CUSTOM_FIELDS_CHARS:
                raise RowError(
                    column,
                    "max_length",
                    f"Too long ({len(str(value))} characters): columns other than the contact's own are kept "
                    f"as custom fields, at most {rules.MAX_CUSTOM_FIELDS_CHARS} characters in all.",
                )
            custom[column] = value
    if custom:
        values["custom_fields"] = {**values.get("custom_fields", {}), **custom}
        try:
            rules.clean_custom_fields(values["custom_fields"])
        except rules.FieldError as exc:
            raise RowError("custom_fields", exc.code, str(exc)) from None
    if phone_raw is None or (isinstance(phone_raw, str) and not phone_raw.strip()):
        raise RowError("phone", "required", "Phone is required.")
    if not isinstance(phone_raw, str):
        raise RowError("phone", "invalid", "Phone must be text or digits.")
    try:
        phone = normalize_phone(phone_raw, default_region=region)
    except InvalidPhone as exc:
        raise RowError("phone", "invalid", str(exc)) from None
    labels = values.pop("labels", None)
    return CleanRow(
        number=number, phone=phone, phone_raw=phone_raw.strip()[:MAX_RAW_LENGTH], values=values, labels=labels
    )


def validate_rows(rows: list[Any], *, region: str) -> list[CleanRow | dict[str, Any]]:
    """One entry per row, in order: its ``CleanRow`` or its error ``{row, field, code, message}``."""
    seen: dict[str, int] = {}
    outcome: list[CleanRow | dict[str, Any]] = []
    for index, row in enumerate(rows):
        number = index + 1
        try:
            clean = clean_row(row, number, region)
        except RowError as exc:
            field_name = "".join(char for char in exc.field_name if ord(char) >= 32)  # the report is stored as JSON
            outcome.append({"row": number, "field": field_name, "code": exc.code, "message": exc.message})
            continue
        first = seen.setdefault(clean.phone, number)
        if first != number:
            outcome.append(
                {
                    "row": number,
                    "field": "phone",
                    "code": "duplicate_in_file",
                    "message": f"Same phone as row {first} ({clean.phone}).",
                }
            )
            continue
        outcome.append(clean)
    return outcome


# --- writing -----------------------------------------------------------------------------------
def _label_ids(workspace: Workspace, names: Iterable[str]) -> dict[str, Any]:
    """Label id by lower-cased name, for the workspace's labels named one of ``names`` in any case.

    The exact spelling is matched too: SQLite's lower() folds ASCII letters only, so "Équipe"
    would otherwise never find itself there.
    """
    labels = Label.objects.filter(workspace=workspace).annotate(key=Lower("name"))
    found: dict[str, Any] = {}
    for chunk in itertools.batched(names, LABEL_LOOKUP_CHUNK):
        matches = labels.filter(Q(key__in=[name.lower() for name in chunk]) | Q(name__in=chunk))
        found.update((name.lower(), pk) for name, pk in matches.values_list("name", "pk"))
    return found


def _resolve_labels(
    *, workspace: Workspace, batch: list[CleanRow], create_labels: bool, dry_run: bool
) -> tuple[list[CleanRow], list[dict[str, Any]], dict[str, Any]]:
    """Splits the batch into writable rows and ``unknown_label`` errors; returns the label ids too.

    One lookup for the whole batch. With ``create_labels`` the missing labels are inserted first
    (spelled as their first row wrote them); a dry run only pretends, with the name in place of
    an id, which no real id equals, so a would-be label still counts as a change.
    """
    wanted: dict[str, str] = {}
    spellings: set[str] = set()
    for row in batch:
        for name in row.labels or ():
            wanted.setdefault(name.lower(), name)
            spellings.add(name)
    if not wanted:
        return batch, [], {}
    ids = _label_ids(workspace, spellings)
    # Held until the batch commits (``whatshybrid.locking``): a label deleted meanwhile becomes
    # an unknown label of its rows, never a failed commit.
    alive = lock_keys(Label, ids.values())
    ids = {key: pk for key, pk in ids.items() if pk in alive}
    missing = [key for key in wanted if key not in ids]
    if missing and create_labels:
        if dry_run:
            ids.update((key, key) for key in missing)
        else:
            # ignore_conflicts: a label a concurrent writer just created serves as well as ours.
            Label.objects.bulk_create(
                [Label(workspace=workspace, name=wanted[key]) for key in missing], ignore_conflicts=True
            )
            ids.update(_label_ids(workspace, [wanted[key] for key in missing]))
    rows: list[CleanRow] = []
    errors: list[dict[str, Any]] = []
    for row in batch:
        unknown = [name for name in row.labels or () if name.lower() not in ids]
        if not unknown:
            rows.append(row)
            continue
        names = ", ".join(repr(name) for name in unknown)
        errors.append(
            {
                "row": row.number,
                "field": "labels",
                "code": "unknown_label",
                "message": f"No label named {names} in this workspace; create it first or import with create_labels.",
            }
        )
    return rows, errors, ids


def _current_label_ids(contact_ids: list[Any]) -> dict[Any, set[Any]]:
    current: dict[Any, set[Any]] = {contact_id: set() for contact_id in contact_ids}
    if contact_ids:
        links = Contact.labels.through.objects.filter(contact_id__in=contact_ids)
        for contact_id, label_id in links.values_list("contact_id", "label_id"):
            current[contact_id].add(label_id)
    return current


def _write_batch(
    *, workspace: Workspace, batch: list[CleanRow], label_ids: dict[str, Any], dry_run: bool, update_existing: bool
) -> tuple[int, int, int]:
    # Unordered: with the model's ``-created_at`` ordering SQLite answers the IN list by walking
    # the workspace's created_at index, so every batch read the whole workspace (a 100,000-row
    # import went quadratic: tests/test_query_plans.py).
    existing = {
        contact.phone: contact
        for contact in Contact.objects.filter(workspace=workspace, phone__in=[row.phone for row in batch]).order_by()
    }
    relabel_candidates = [existing[row.phone].pk for row in batch if row.labels is not None and row.phone in existing]
    current_labels = _current_label_ids(relabel_candidates if update_existing else [])
    to_create: list[Contact] = []
    to_update: list[Contact] = []
    changed_fields: set[str] = set()
    relabelled: list[Any] = []
    links: list[tuple[Any, Any]] = []
    skipped = 0
    for row in batch:
        contact = existing.get(row.phone)
        labels = None if row.labels is None else {label_ids[name.lower()] for name in row.labels}
        if contact is None:
            values = dict(row.values)
            source = values.pop("source", "") or "import"
            contact = Contact(workspace=workspace, phone=row.phone, phone_raw=row.phone_raw, source=source, **values)
            to_create.append(contact)
            links += [(contact.pk, label_id) for label_id in labels or ()]
            continue
        # A blank cell says nothing about the contact: it never erases a stored value.
        changes = {
            name: value
            for name, value in row.values.items()
            if value not in ("", [], {}, None) and getattr(contact, name) != value
        }
        relabel = labels is not None and update_existing and labels != current_labels[contact.pk]
        if not update_existing or not (changes or relabel):
            skipped += 1
            continue
        for name, value in changes.items():
            setattr(contact, name, value)
        changed_fields.update(changes)
        if changes:
            to_update.append(contact)
        if relabel:
            relabelled.append(contact.pk)
            links += [(contact.pk, label_id) for label_id in labels]
    # Contacts whose labels alone changed get one UPDATE of updated_at: bulk_update's per-row
    # CASE was most of the time of a label-only re-import.
    touched = list(set(relabelled).difference(contact.pk for contact in to_update))
    if not dry_run:
        Contact.objects.bulk_create(to_create)
        now = timezone.now()
        if to_update:
            for contact in to_update:
                contact.updated_at = now
            Contact.objects.bulk_update(to_update, [*sorted(changed_fields), "updated_at"])
        if touched:
            Contact.objects.filter(pk__in=touched).update(updated_at=now)
        through = Contact.labels.through
        if relabelled:
            through.objects.filter(contact_id__in=relabelled).delete()
        through.objects.bulk_create(
            [through(contact_id=contact_id, label_id=label_id) for contact_id, label_id in links]
        )
    return len(to_create), len(to_update) + len(touched), skipped


def _commit_batch(
    *,
    workspace: Workspace,
    outcome: list[CleanRow | dict[str, Any]],
    dry_run: bool,
    update_existing: bool,
    create_labels: bool,
    report: ImportReport,
    job: ContactImport | None,
) -> None:
    valid = [item for item in outcome if isinstance(item, CleanRow)]
    invalid = [item for item in outcome if isinstance(item, dict)]
    since = timezone.now()
    # A concurrent writer may insert one of our phones between the lookup and the insert: the
    # batch rolls back whole and is retried once against the new state.
    for attempt in range(2):
        try:
            with transaction.atomic():
                batch, label_errors, label_ids = _resolve_labels(
                    workspace=workspace, batch=valid, create_labels=create_labels, dry_run=dry_run
                )
                errors = sorted([*invalid, *label_errors], key=lambda error: error["row"])
                created, updated, skipped = _write_batch(
                    workspace=workspace,
                    batch=batch,
                    label_ids=label_ids,
                    dry_run=dry_run,
                    update_existing=update_existing,
                )
                if job is not None:
                    job.processed_rows += len(outcome)
                    job.created_count += created
                    job.updated_count += updated
                    job.skipped_count += skipped
                    job.errors = [*job.errors, *errors]
                    job.save(
                        update_fields=[
                            "processed_rows",
                            "created_count",
                            "updated_count",
                            "skipped_count",
                            "errors",
                            "updated_at",
                        ]
                    )
                if (created or updated) and not dry_run:
                    publish(
                        workspace,
                        "contacts:imported",
                        {
                            "import_id": str(job.pk) if job else None,
                            "created": created,
                            "updated": updated,
                            "since": since.isoformat(),
                        },
                    )
            break
        except IntegrityError:
            if job is not None:
                job.refresh_from_db()
            if attempt:
                raise
    report.created += created
    report.updated += updated
    report.skipped += skipped
    report.errors.extend(errors)


def contact_import_rows(
    *,
    workspace: Workspace,
    rows: list[Any],
    dry_run: bool = False,
    update_existing: bool = False,
    create_labels: bool = False,
    job: ContactImport | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validates and writes ``rows``; with a ``job``, resumes after its ``processed_rows``.

    ``created + updated + skipped + len(errors)`` always equals ``len(rows)`` (for a job: over
    the job's whole life, since the counters are committed with each batch).
    """
    outcome = validate_rows(rows, region=workspace_region(workspace))
    report = ImportReport()
    start = job.processed_rows if job is not None else 0
    size = max(1, settings.CONTACTS_IMPORT_BATCH_SIZE)
    for chunk in batches(outcome[start:], size):
        _commit_batch(
            workspace=workspace,
            outcome=list(chunk),
            dry_run=dry_run,
            update_existing=update_existing,
            create_labels=create_labels,
            report=report,
            job=job,
        )
        if on_progress is not None:
            on_progress(len(chunk))
    return report
