"""The credit ledger: every change of a workspace's credits is one ``CreditEntry``.

``Workspace.credits`` is the ledger's running balance (the newest entry's ``balance_after``),
kept beside it so the workspace payload stays true and a reservation is one locked row. Every
movement locks the workspace row first (``SELECT ... FOR UPDATE``; on SQLite the IMMEDIATE
transaction), so concurrent calls take turns and the balance never goes below zero: a
reservation that does not fit is refused, not clipped.

A call reserves its worst case before it runs (a consumption entry), then settles on the real
usage: the unused part comes back as a refund, and all of it when the call fails.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from accounts.models import User, Workspace
from ai.models import AIConversation, CreditEntry
from whatshybrid.api.errors import ApplicationError

INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
# Workspaces whose ledger this process has seen opened (entries are never deleted but with
# their workspace), so the check costs one query per workspace and process, not per call.
_OPENED: set[Any] = set()


class InsufficientCredits(ApplicationError):
    status_code = 402
    default_code = INSUFFICIENT_CREDITS


def credits_for(*, model: str, tokens: int) -> int:
    """Credits for ``tokens`` of ``model`` at the configured price per 1,000 tokens (rounded up:
    a call that used any tokens costs at least one credit when the price is not zero)."""
    prices = settings.AI_CREDITS_PER_1K_TOKENS
    price = Decimal(str(prices.get(model, prices.get("*", 1))))
    return math.ceil(Decimal(tokens) * price / 1000) if tokens > 0 else 0


def lock_workspace(workspace: Workspace) -> Workspace:
    """The workspace row, locked until the end of the running transaction, with its ledger
    opened: a workspace whose credits predate the ledger gets one opening grant of them."""
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if locked.pk in _OPENED:
        return locked
    if locked.credits and not CreditEntry.objects.filter(workspace=locked).exists():
        CreditEntry.objects.create(
            workspace=locked,
            kind=CreditEntry.Kind.GRANT,
            amount=locked.credits,
            balance_after=locked.credits,
            note="opening balance",
        )
        # Known once it commits: a rolled-back opening must be retried by the next call.
        transaction.on_commit(lambda: _OPENED.add(locked.pk))
    else:
        _OPENED.add(locked.pk)
    return locked


def _append(
    workspace: Workspace,
    *,
    kind: str,
    amount: int,
    note: str = "",
    conversation: AIConversation | None = None,
    user: User | None = None,
) -> CreditEntry:
    """Moves ``amount`` on a workspace locked by ``lock_workspace``."""
    balance = workspace.credits + amount
    if balance < 0:
        raise InsufficientCredits(
            f"Not enough AI credits: {workspace.credits} left, {-amount} needed.",
            extra={"credits": workspace.credits, "required": -amount},
        )
    workspace.credits = balance
    Workspace.objects.filter(pk=workspace.pk).update(credits=balance)
    return CreditEntry.objects.create(
        workspace=workspace,
        kind=kind,
        amount=amount,
        balance_after=balance,
        note=note[:200],
        conversation=conversation,
        created_by=user,
    )


@transaction.atomic
def credits_grant(
    *, workspace: Workspace, amount: int, kind: str = CreditEntry.Kind.GRANT, note: str = "", user: User | None = None
) -> CreditEntry:
    """An operator's grant (positive) or adjustment (either sign, never below zero)."""
    if kind not in (CreditEntry.Kind.GRANT, CreditEntry.Kind.ADJUSTMENT):
        raise ApplicationError("Only grants and adjustments are made by hand.")
    if kind == CreditEntry.Kind.GRANT and amount <= 0:
        raise ApplicationError("A grant must be positive; use an adjustment to take credits away.")
    return _append(lock_workspace(workspace), kind=kind, amount=amount, note=note, user=user)


def credits_reserve(*, workspace: Workspace, conversation: AIConversation, amount: int) -> int:
    """Holds ``amount`` for the call, on a workspace the caller locked with ``lock_workspace`` in
    the transaction that also creates the call's row. Returns the balance left."""
    _append(workspace, kind=CreditEntry.Kind.CONSUMPTION, amount=-amount, note="reserved", conversation=conversation)
    return workspace.credits


# No savepoint when nested: the call's settlement runs inside the transaction that also stores
# its answer, and a failure here rolls both back.
@transaction.atomic(savepoint=False)
def credits_settle(*, conversation: AIConversation, used: int | None) -> tuple[int, int]:
    """Ends the call's reservation: ``used`` credits kept (``None``: the call failed, all back).
    A call that cost more than it reserved takes the difference while the balance allows.
    Returns (credits charged, balance after)."""
    workspace = lock_workspace(conversation.workspace)
    reserved = conversation.credits_reserved
    if used is None:
        if reserved:
            _append(
                workspace, kind=CreditEntry.Kind.REFUND, amount=reserved, note="call failed", conversation=conversation
            )
        return 0, workspace.credits
    if used < reserved:
        _append(
            workspace,
            kind=CreditEntry.Kind.REFUND,
            amount=reserved - used,
            note="unused reservation",
            conversation=conversation,
        )
    elif used > reserved:
        extra = min(used - reserved, workspace.credits)
        if extra:
            _append(
                workspace,
                kind=CreditEntry.Kind.CONSUMPTION,
                amount=-extra,
                note="beyond the reservation",
                conversation=conversation,
            )
        used = reserved + extra
    return used, workspace.credits


def credits_summary(*, workspace: Workspace) -> dict[str, Any]:
    current = Workspace.objects.filter(pk=workspace.pk).values("credits", "plan").get()
    reserved = AIConversation.objects.filter(workspace=workspace, status=AIConversation.Status.PENDING).aggregate(
        total=Sum("credits_reserved")
    )["total"]
    return {
        "credits": current["credits"],
        "balance": current["credits"],
        "reserved": reserved or 0,
        "plan": current["plan"],
    }
