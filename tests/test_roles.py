"""Roles: the role table in tests/routes.py (reads any role, writes agent+, and each route's
exceptions) drives one generated test per route and method, for owner, admin, agent and viewer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.routes import WORKSPACE_KINDS, Route, ServedRoute, api_routes
from tests.seed import django_transport

# Least privileged first: once an allowed role deletes the object, later roles get a 404, which
# still proves they were let past the role check.
ROLES = ("viewer", "agent", "admin", "owner")


def _operations() -> list[tuple[ServedRoute, Route, str]]:
    return [
        (served, route, method) for served, route in api_routes(*WORKSPACE_KINDS) for method in sorted(served.methods)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("served", "route", "method"),
    _operations(),
    ids=lambda value: getattr(value, "path", value if isinstance(value, str) else ""),
)
def test_role_table(
    served: ServedRoute,
    route: Route,
    method: str,
    tenant_a: Tenant,
    client_with_role: Callable[[Any, str], Any],
) -> None:
    for resource in [route.params[p] for p in served.params]:
        if not tenant_a.seeder.available(resource):
            pytest.skip(tenant_a.seeder.missing(resource))
    url = served.url({p: tenant_a.seeder.id(route.params[p]) for p in served.params})
    allowed = route.allowed_roles(method)
    outcomes = {}
    for role in ROLES:
        reply = django_transport(client_with_role(tenant_a.workspace, role))(method, url, {})
        outcomes[role] = reply.status
        assert reply.status < 500, f"{method.upper()} {url} as {role}: {reply.status} {reply.text[:300]}"
        if role in allowed:
            assert reply.status != 403, f"{method.upper()} {url}: {role} should be allowed, got 403 {reply.text[:200]}"
        else:
            assert reply.status == 403, f"{method.upper()} {url}: {role} should get 403, got {reply.status}"
            assert reply.body and reply.body.get("code"), reply.text[:200]
    assert set(outcomes) == set(ROLES)
