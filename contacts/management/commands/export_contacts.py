from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from contacts.exporting import contact_export_count, contact_export_rows, write_csv, write_json
from contacts.selectors import workspace_by_id
from whatshybrid.commands import quiet_on_closed_pipe


class Command(BaseCommand):
    help = "Exports a workspace's contacts as CSV (formula-safe: whatshybrid/csvsafe.py; re-importable) or JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace id.")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", type=Path, help="File to write (default: standard output).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_by_id(options["workspace"])
        if workspace is None:
            raise CommandError(f"Workspace {options['workspace']} not found.")
        writer = write_csv if options["format"] == "csv" else write_json
        output = options["output"]
        if not output:
            self.stdout.ending = ""  # the writers lay out their own lines
        stream = output.open("w", encoding="utf-8", newline="") if output else self.stdout
        total = contact_export_count(workspace=workspace)
        rows = contact_export_rows(workspace=workspace)
        writing = writer(rows, stream)
        try:
            with (
                quiet_on_closed_pipe(),
                # The raw stream: Django's wrapper would end every redraw of the bar with a newline.
                tqdm(total=total, unit="contacts", disable=options["no_progress"], file=self.stderr._out) as bar,
            ):
                for _ in writing:
                    bar.update()
                stream.flush()
        finally:
            writing.close()  # ends the database cursor now, not at interpreter exit
            rows.close()
            if output:
                stream.close()
