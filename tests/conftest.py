"""Fixtures of the cross-cutting gates: two seeded workspaces, one per tenant, and the secret scan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import Membership, User, Workspace
from tests.secret_scan import scanner_for
from tests.seed import Seeder, django_transport


def pytest_configure(config: pytest.Config) -> None:
    # Registered as a global plugin so it sees every test of the session, not only tests/.
    scanner_for(config).install()


@dataclass
class Tenant:
    user: User
    workspace: Workspace
    client: Any
    seeder: Seeder

    @property
    def marker(self) -> str:
        return self.seeder.marker


@pytest.fixture
def tenant_a(user: User, workspace: Workspace, api_client: Any) -> Tenant:
    return Tenant(user, workspace, api_client, Seeder(django_transport(api_client), marker="MKALPHA7Q"))


@pytest.fixture
def tenant_b(other_user: User, other_workspace: Workspace, other_client: Any) -> Tenant:
    return Tenant(other_user, other_workspace, other_client, Seeder(django_transport(other_client), marker="MKBRAVO3Z"))


@pytest.fixture
def client_with_role(
    make_member: Callable[..., User], client_for: Callable[[User, Workspace], Any]
) -> Callable[[Workspace, str], Any]:
    def make(workspace: Workspace, role: str) -> Any:
        if role == Membership.Role.OWNER:
            owner = Membership.objects.filter(workspace=workspace, role=role).select_related("user").first()
            if owner is not None:
                return client_for(owner.user, workspace)
        return client_for(make_member(workspace, role=role), workspace)

    return make
