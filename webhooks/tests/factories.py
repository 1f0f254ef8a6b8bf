from __future__ import annotations

from typing import Any

from accounts.models import Workspace
from webhooks.models import Webhook
from webhooks.services import webhook_create


def webhook_factory(*, workspace: Workspace, url: str, events: list[str] | None = None, **kwargs: Any) -> Webhook:
    return webhook_create(
        workspace=workspace, name=kwargs.pop("name", "CRM sync"), url=url, events=events or ["*"], **kwargs
    )
