"""Reading an import: CSV or JSON rows in, one ``CleanRow`` or one row error out per row."""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from contacts import fields as rules
from contacts.phones import MAX_RAW_LENGTH, InvalidPhone, normalize_phone
from whatshybrid import strict_json
from whatshybrid.api.errors import ApplicationError
from whatshybrid.csvsafe import is_formula

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
