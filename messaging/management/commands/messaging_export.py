"""``manage.py messaging_export``: one conversation, or a contact's whole history, as JSON or CSV."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.models import Workspace
from messaging.selectors import MESSAGE_COLUMNS, message_row, messages_for_export
from whatshybrid.commands import quiet_on_closed_pipe
from whatshybrid.csvsafe import SafeWriter

CONTACT_COLUMNS = ["contact_id", "contact_phone", "contact_name"]
COLUMNS = [*MESSAGE_COLUMNS[:2], *CONTACT_COLUMNS, *MESSAGE_COLUMNS[2:]]
CHUNK = 2000


def _row(message: Any) -> dict[str, Any]:
    contact = message.conversation.contact
    values = {
        **message_row(message),
        "contact_id": contact.pk,
        "contact_phone": contact.phone,
        "contact_name": contact.name,
    }
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else "" if value is None else str(value))
        for key, value in ((column, values[column]) for column in COLUMNS)
    }


class Command(BaseCommand):
    help = "Exports one conversation (--conversation) or a contact's history (--contact) as JSON or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace id (the export never crosses it).")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--conversation", help="Conversation id.")
        target.add_argument("--contact", help="Contact id: every conversation with that contact.")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace = Workspace.objects.get(pk=uuid.UUID(options["workspace"]))
            target_id = uuid.UUID(options["conversation"] or options["contact"])
        except (ValueError, Workspace.DoesNotExist):
            raise CommandError("--workspace and --conversation/--contact must be existing ids.")
        key = "conversation_id" if options["conversation"] else "contact_id"
        messages = messages_for_export(workspace=workspace, **{key: target_id})
        total = messages.count()
        if total == 0:
            raise CommandError(f"No messages for {key.removesuffix('_id')} {target_id} in this workspace.")
        rows = (_row(m) for m in tqdm(messages.iterator(chunk_size=CHUNK), total=total, file=sys.stderr, unit="msg"))
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as handle:
                self._write(handle, rows, options["format"])
        else:
            with quiet_on_closed_pipe():
                self._write(self.stdout, rows, options["format"])
                self.stdout.flush()

    @staticmethod
    def _write(handle: TextIO, rows: Any, fmt: str) -> None:
        if fmt == "csv":
            # Contact names and message texts are the customer's: no cell may run as a formula.
            writer = SafeWriter(handle)
            writer.writerow(COLUMNS)
            writer.writerows([row[column] for column in COLUMNS] for row in rows)
            return
        # Streamed as a JSON array, one message a line, so memory stays flat at 100k messages.
        handle.write("[\n")
        for index, row in enumerate(rows):
            handle.write(("," if index else "") + json.dumps(row, ensure_ascii=False) + "\n")
        handle.write("]\n")
