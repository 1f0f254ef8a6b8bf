"""Signal receivers: a new workspace gets the default pipeline and labels."""

from __future__ import annotations

from typing import Any

from accounts.models import Workspace
from crm.services import crm_defaults_create


def give_workspace_crm_defaults(sender: Any, *, workspace: Workspace, **kwargs: Any) -> None:
    crm_defaults_create(workspace=workspace)
