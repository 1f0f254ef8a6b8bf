"""``manage.py repair_surrogates``: replaces unpaired UTF-16 surrogates stored in JSON columns
before the strict parser (issue 14.1) with U+FFFD.

SQLite kept JSON such as ``"tags": ["\\ud83d"]`` (an emoji cut in half), and every later read of
the row failed: lists and the event feed answered 500, sockets were dropped. Reads now repair
such text on the way out; this repairs it at rest, in every JSON column of every model (contacts,
messages, events, webhook deliveries, job arguments, ...). PostgreSQL refused these values at
write time, so there it finds nothing. Text columns are not scanned: the database drivers refuse
to send a lone surrogate, so no request could store one there.

Idempotent (a second run changes nothing) and safe beside a running server: rows are read and
written back in batches of ``--batch-size``, each batch in one transaction with its rows locked,
so a concurrent edit is never overwritten with an older value.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction
from tqdm import tqdm

from whatshybrid.strict_json import repaired


def json_columns() -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = [field.name for field in model._meta.concrete_fields if isinstance(field, models.JSONField)]
        if names:
            found.append((model, names))
    return found


def repair_batch(model: type[models.Model], names: list[str], *, after: Any, size: int) -> tuple[Any, int, int]:
    """Repairs up to ``size`` rows with a primary key past ``after``; returns the last key read
    (None when the table is done), the rows read and the rows changed."""
    changed = 0
    with transaction.atomic():
        rows = model._default_manager.select_for_update().order_by("pk")
        if after is not None:
            rows = rows.filter(pk__gt=after)
        batch = list(rows.values_list("pk", *names)[:size])
        for pk, *values in batch:
            fixed = {}
            for name, value in zip(names, values, strict=True):
                if (new := repaired(value)) is not value:
                    fixed[name] = new
            if fixed:
                model._default_manager.filter(pk=pk).update(**fixed)
                changed += 1
    return (batch[-1][0] if len(batch) == size else None), len(batch), changed


class Command(BaseCommand):
    help = "Replace unpaired UTF-16 surrogates stored in JSON columns with U+FFFD (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        tables = json_columns()
        total = sum(model._default_manager.count() for model, _ in tables)
        repaired_rows: dict[str, int] = {}
        with tqdm(total=total, unit="rows", disable=options["no_progress"], file=self.stderr._out) as bar:
            for model, names in tables:
                after, count = None, 0
                while True:
                    after, read, changed = repair_batch(model, names, after=after, size=max(1, batch_size))
                    bar.update(read)
                    count += changed
                    if after is None:
                        break
                if count:
                    repaired_rows[model._meta.label] = count
        for label, count in repaired_rows.items():
            self.stdout.write(f"{label}: {count} row(s) repaired")
        self.stdout.write(f"Repaired {sum(repaired_rows.values())} row(s) in {len(tables)} table(s) with JSON columns.")
