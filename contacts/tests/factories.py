"""Contacts for tests, made through the services the API uses."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import Workspace
from contacts import services
from contacts.models import Contact

_numbers = itertools.count(1)


def next_phone() -> str:
    return f"+55119{next(_numbers):08d}"


def contact_factory(*, workspace: Workspace, phone: str | None = None, **fields: Any) -> Contact:
    return services.contact_create(workspace=workspace, phone=phone or next_phone(), **fields)
