"""``manage.py prune``: deletes expired rows (idempotency keys, ended sessions, and whatever
other apps register in ``whatshybrid.api.pruning``). The scheduler runs it daily
(``SCHEDULE_PRUNE_SECONDS``); safe to run by hand at any time."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from whatshybrid.api.pruning import registered_pruners


class Command(BaseCommand):
    help = "Delete expired rows (idempotency keys, ended sessions, ...). Run it daily."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("names", nargs="*", help="Only these pruners (default: all). --list shows them.")
        parser.add_argument("--list", action="store_true", help="List the registered pruners and exit.")

    def handle(self, *args: Any, names: list[str], list: bool, **options: Any) -> None:
        pruners = registered_pruners()
        if list:
            for name in pruners:
                self.stdout.write(name)
            return
        unknown = sorted(set(names) - set(pruners))
        if unknown:
            raise CommandError(f"Unknown pruner(s): {', '.join(unknown)}. Known: {', '.join(pruners)}.")
        selected = {name: pruner for name, pruner in pruners.items() if not names or name in names}
        total = 0
        with tqdm(selected.items(), desc="prune", unit="table", disable=options["verbosity"] == 0) as bar:
            for name, pruner in bar:
                bar.set_postfix_str(name)
                deleted = pruner()
                total += deleted
                if options["verbosity"] > 0:
                    bar.write(f"{name}: {deleted} deleted")
        self.stdout.write(self.style.SUCCESS(f"pruned {total} row(s)"))
