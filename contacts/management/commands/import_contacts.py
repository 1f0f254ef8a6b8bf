from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from contacts.importing import contact_import_rows, parse_csv, parse_json_rows
from contacts.selectors import workspace_by_id
from whatshybrid import strict_json
from whatshybrid.api.errors import ApplicationError


class Command(BaseCommand):
    help = "Imports contacts from a CSV or JSON file into a workspace and prints the row report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A .csv (header with a phone column) or .json file.")
        parser.add_argument("--workspace", required=True, help="Workspace id.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count; write nothing.")
        parser.add_argument("--update-existing", action="store_true", help="Update contacts whose phone exists.")
        parser.add_argument(
            "--create-labels", action="store_true", help="Create missing labels (default: the row is an error)."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_by_id(options["workspace"])
        if workspace is None:
            raise CommandError(f"Workspace {options['workspace']} not found.")
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            if path.suffix.lower() == ".json":
                try:
                    body = strict_json.loads(data, allow_nul=True)  # NUL: that row's error
                except ValueError as exc:  # not JSON, not UTF-8 or refused (strict_json)
                    raise CommandError(f"{path} is not valid JSON: {exc}.") from None
                rows = parse_json_rows(body.get("contacts") if isinstance(body, dict) else body)
            else:
                rows = parse_csv(data)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        with tqdm(total=len(rows), unit="rows", disable=options["no_progress"], file=self.stderr._out) as bar:
            report = contact_import_rows(
                workspace=workspace,
                rows=rows,
                dry_run=options["dry_run"],
                update_existing=options["update_existing"],
                create_labels=options["create_labels"],
                on_progress=bar.update,
            )
        for error in report.errors:
            self.stdout.write(f"row {error['row']}: {error['field'] or '-'} [{error['code']}] {error['message']}")
        prefix = "Dry run: would have " if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}created {report.created}, updated {report.updated}, skipped {report.skipped}, "
            f"errors {len(report.errors)} (of {len(rows)} rows)."
        )
