"""Templates for tests, made through the service the API uses."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import Workspace
from templates_app import services
from templates_app.models import MessageTemplate

_numbers = itertools.count(1)


def template_factory(*, workspace: Workspace, **fields: Any) -> MessageTemplate:
    fields.setdefault("name", f"Template {next(_numbers)}")
    fields.setdefault("content", "Olá {{nome}}!")
    return services.template_create(workspace=workspace, **fields)
