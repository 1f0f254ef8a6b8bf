"""``manage.py rotate_encryption_key``: re-encrypts every stored secret under the first key of
``ENCRYPTION_KEYS``, so the older keys can be dropped (README, "Outgoing HTTP and secrets").

Every model with an ``EncryptedTextField`` is found through the app registry; rows are read in
primary-key batches, each batch in one transaction with its rows locked, and only values not yet
under the first key are rewritten. Running it again rewrites nothing: it is safe to repeat.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from tqdm import tqdm

from whatshybrid import crypto


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """(model, its encrypted field names) for every installed model that has any."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue  # its table is its concrete model's
        # Local fields only: a multi-table child's inherited fields are rotated with the parent.
        names = [f.name for f in model._meta.local_concrete_fields if isinstance(f, crypto.EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the first key of ENCRYPTION_KEYS (safe to repeat)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")
        parser.add_argument("--generate-key", action="store_true", help="Print a new key and exit.")

    def handle(self, *args: Any, batch_size: int, generate_key: bool, **options: Any) -> None:
        if generate_key:
            self.stdout.write(crypto.generate_key())
            return
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        rotated = current = 0
        unreadable: list[str] = []
        for model, names in encrypted_columns():
            total = model._base_manager.count()
            with tqdm(total=total, desc=model._meta.label, unit="row", disable=options["verbosity"] == 0) as bar:
                last_pk = None
                while True:
                    batch = _rotate_batch(model, names, after=last_pk, size=batch_size)
                    if not batch.rows:
                        break
                    last_pk = batch.last_pk
                    rotated += batch.rotated
                    current += batch.current
                    unreadable += batch.unreadable
                    bar.update(batch.rows)
        self.stdout.write(
            self.style.SUCCESS(f"{rotated} secret(s) re-encrypted under the first key, {current} already under it.")
        )
        if unreadable:
            shown = ", ".join(unreadable[:20]) + (" ..." if len(unreadable) > 20 else "")
            raise CommandError(
                f"{len(unreadable)} value(s) could not be decrypted with any key in ENCRYPTION_KEYS ({shown}). "
                "Put back the key they were encrypted with, run this again, and drop no key until it succeeds."
            )
        self.stdout.write(_next_steps(crypto.key_count()))


class _Batch:
    def __init__(self) -> None:
        self.rows = self.rotated = self.current = 0
        self.last_pk: Any = None
        self.unreadable: list[str] = []


def _rotate_batch(model: type[models.Model], names: list[str], *, after: Any, size: int) -> _Batch:
    # The stored tokens, not the decrypted values: the wrapper's plain TextField skips the
    # field's decryption, and the rewrite below stores a token as it is.
    raw = {f"raw_{name}": models.ExpressionWrapper(models.F(name), output_field=models.TextField()) for name in names}
    batch = _Batch()
    with transaction.atomic():
        rows = model._base_manager.select_for_update().annotate(**raw).order_by("pk")
        if after is not None:
            rows = rows.filter(pk__gt=after)
        for pk, *tokens in rows.values_list("pk", *raw)[:size]:
            batch.rows += 1
            batch.last_pk = pk
            changes = {}
            for name, token in zip(names, tokens, strict=True):
                if not token:
                    continue
                try:
                    if crypto.needs_rotation(token):
                        changes[name] = models.Value(crypto.rotate(token), output_field=models.TextField())
                    else:
                        batch.current += 1
                except crypto.DecryptionError:
                    batch.unreadable.append(f"{model._meta.label} pk={pk} {name}")
            if changes:
                model._base_manager.filter(pk=pk).update(**changes)
                batch.rotated += len(changes)
    return batch


def _next_steps(key_count: int) -> str:
    if key_count > 1:
        return (
            f"Every secret is under the first key now. Once every process runs with that key first, the other "
            f"{key_count - 1} key(s) can be removed from ENCRYPTION_KEYS (keep them while you still need to "
            "restore a backup taken before this run)."
        )
    current = "your current key" if settings.ENCRYPTION_KEYS else f"the key in {settings.ENCRYPTION_KEY_FILE}"
    return (
        "To rotate: generate a key (--generate-key), set ENCRYPTION_KEYS=<new key>,<old key> (the old one being "
        f"{current}) on every process and restart them, run this command, then drop the old key."
    )
