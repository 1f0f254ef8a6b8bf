"""``manage.py grant_credits --workspace ID N``: an operator's grant (or, with ``--adjust``, an
adjustment of either sign) through the credit ledger."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from ai.credits import credits_grant
from ai.models import CreditEntry
from whatshybrid.api.errors import ApplicationError


class Command(BaseCommand):
    help = "Grant AI credits to a workspace (a ledger entry with the balance after it)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workspace", required=True, help="The workspace's id.")
        parser.add_argument("amount", type=int, help="Credits to add (negative only with --adjust).")
        parser.add_argument("--adjust", action="store_true", help="An adjustment (may be negative), not a grant.")
        parser.add_argument("--note", default="", help="Why (kept with the entry).")

    def handle(self, *args: Any, workspace: str, amount: int, adjust: bool, note: str, **options: Any) -> None:
        try:
            target = Workspace.objects.get(pk=uuid.UUID(workspace))
        except (ValueError, Workspace.DoesNotExist):
            raise CommandError(f"No workspace with id {workspace!r}.") from None
        kind = CreditEntry.Kind.ADJUSTMENT if adjust else CreditEntry.Kind.GRANT
        try:
            entry = credits_grant(workspace=target, amount=amount, kind=kind, note=note or "manage.py grant_credits")
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"{target.name}: {kind} {amount:+d}, balance {entry.balance_after}"))
