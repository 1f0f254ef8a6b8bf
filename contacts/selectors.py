"""Contact reads: the list's filters and the detail's related items."""

from __future__ import annotations

import contextlib
import re
import uuid

from django.db.models import Model, Q

from accounts.models import Workspace
from contacts.models import Contact
from contacts.phones import InvalidPhone, normalize_phone
from crm.models import Deal
from messaging.models import Conversation
from tasks.models import Task

ORDERINGS = frozenset({"created_at", "updated_at", "name", "last_interaction_at"})
RELATED_LIMIT = 10
# (model, fields shown) of what the contact detail lists with the contact.
RELATED_MODELS: dict[str, tuple[type[Model], tuple[str, ...]]] = {
    "conversations": (Conversation, ("id", "status", "last_message_at", "created_at", "updated_at")),
    "deals": (Deal, ("id", "title", "value", "stage_id", "status", "created_at", "updated_at")),
    "tasks": (Task, ("id", "title", "status", "priority", "due_at", "due_day", "created_at", "updated_at")),
}
_DIGITS = re.compile(r"\D")


def search_filter(text: str, *, region: str) -> Q:
    """Name, email or phone; a phone typed in any format finds its contact."""
    condition = Q(name__icontains=text) | Q(email__icontains=text) | Q(company__icontains=text)
    digits = _DIGITS.sub("", text)
    if len(digits) >= 3:
        condition |= Q(phone__contains=digits)
    with contextlib.suppress(InvalidPhone):
        condition |= Q(phone=normalize_phone(text, default_region=region))
    return condition


def contact_related(*, contact: Contact) -> dict[str, list[dict]]:
    """The contact's most recent conversations, deals and tasks (id, title/status, dates)."""
    return {
        key: list(
            model.objects.filter(workspace_id=contact.workspace_id, contact_id=contact.pk)
            .order_by("-updated_at")
            .values(*fields)[:RELATED_LIMIT]
        )
        for key, (model, fields) in RELATED_MODELS.items()
    }


def workspace_by_id(raw: str) -> Workspace | None:
    """The workspace a command names by id, or None for a malformed or unknown id."""
    try:
        return Workspace.objects.filter(pk=uuid.UUID(str(raw))).first()
    except ValueError:
        return None
