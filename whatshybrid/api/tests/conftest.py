from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.signals import workspace_created


@pytest.fixture(autouse=True)
def _without_workspace_defaults() -> Iterator[None]:
    """The plumbing tests page and replay over ``crm.Label`` as a plain workspace model and count
    its rows; other apps' default rows for a new workspace (labels, stages) would shift every
    count. Their own tests cover those defaults."""
    saved = workspace_created.receivers
    workspace_created.receivers = []
    workspace_created.sender_receivers_cache.clear()
    try:
        yield
    finally:
        workspace_created.receivers = saved
        workspace_created.sender_receivers_cache.clear()
