"""Rows for tests, made through the same services the API uses."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import Workspace
from contacts.models import Contact
from messaging import services
from messaging.models import Conversation, Message

_phones = itertools.count(5511900000001)


def contact_factory(*, workspace: Workspace, name: str = "Cliente", phone: str | None = None) -> Contact:
    return Contact.objects.create(workspace=workspace, name=name, phone=phone or f"+{next(_phones)}")


def conversation_factory(
    *, workspace: Workspace, contact: Contact | None = None, **contact_kwargs: Any
) -> Conversation:
    contact = contact or contact_factory(workspace=workspace, **contact_kwargs)
    conversation, _created = services.conversation_open(workspace=workspace, contact=contact)
    return conversation


def message_factory(*, conversation: Conversation, content: str = "Olá", **kwargs: Any) -> Message:
    message, _created = services.message_create(conversation=conversation, content=content, **kwargs)
    return message
