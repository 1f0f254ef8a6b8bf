"""Contact import: parse (CSV or JSON rows), validate every row, write in batches.

Rows are validated up front (phone, email, lengths, formulas, duplicates inside the file:
``parsing``) and written in batches of ``CONTACTS_IMPORT_BATCH_SIZE``, each in its own
transaction (``writing``): a batch is all-or-nothing, a crash loses no committed batch, and
because existing phones are looked up per batch a re-run of the same file creates no duplicates
(its rows are skipped or updated).

Labels are CRM labels named per row (any case). The batch's names are looked up together; a
name the workspace has no label for is the row's ``unknown_label`` error, unless the import
asks to ``create_labels``. With ``update_existing`` a row's labels replace the contact's, as
every other column does; a row without a ``labels`` key leaves them alone.

Each committed batch publishes one ``contacts:imported`` event (not one event per contact):
``{import_id, created, updated, since}``; clients resync with ``GET /contacts?updated_since=since``.
"""

from contacts.importing.parsing import IMPORT_FLAGS, CleanRow, parse_csv, parse_json_rows, validate_rows
from contacts.importing.writing import ImportReport, contact_import_rows

__all__ = [
    "IMPORT_FLAGS",
    "CleanRow",
    "ImportReport",
    "contact_import_rows",
    "parse_csv",
    "parse_json_rows",
    "validate_rows",
]
