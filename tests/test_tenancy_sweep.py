"""Cross-workspace sweep over every route of the URL conf.

As a member of workspace A: every route with an id, called with every verb and workspace B's
ids, is a 404 (or the same answer a random id gets, for verbs the route does not serve) and
leaves B's rows byte-for-byte unchanged; every list/report contains none of B's marker strings,
also when searched or filtered for B's ids; and no body may point A's objects at B's.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.openapi import OpenAPI
from tests.routes import ACCOUNT, ACTION, COLLECTION, DETAIL, NESTED, SINGLETON, Route, ServedRoute, api_routes
from tests.seed import Seeder, django_transport
from tests.snapshot import assert_unchanged, workspace_snapshot

VERBS = ("get", "post", "put", "patch", "delete")

# Body and query fields that carry another object's id, and the resource they point at.
REFERENCE_FIELDS = {
    "contact": "contact",
    "contact_id": "contact",
    "contacts": "contact",
    "contact_ids": "contact",
    "deal": "deal",
    "deal_id": "deal",
    "conversation": "conversation",
    "conversation_id": "conversation",
    "stage": "stage",
    "stage_id": "stage",
    "move_to": "stage",
    "stage_ids": "stage",
    "label": "label",
    "label_id": "label",
    "labels": "label",
    "label_ids": "label",
    "template": "template",
    "template_id": "template",
    "task": "task",
    "task_id": "task",
    "message_id": "message",
    "assigned_to": "member",
    "assignee": "member",
}


def _id_routes() -> list[tuple[ServedRoute, Route]]:
    return api_routes(DETAIL, ACTION, NESTED)


def _ids(tenant: Tenant, resources: list[str]) -> dict[str, str]:
    return {resource: _resource_id(tenant, resource) for resource in resources}


def _resource_id(tenant: Tenant, resource: str) -> str:
    if resource == "member":
        return str(tenant.user.pk)
    return tenant.seeder.id(resource)


def _require(seeder: Seeder, resources: list[str]) -> None:
    for resource in resources:
        if resource != "member":
            reason = seeder.missing(resource)
            if reason:
                pytest.skip(reason)


@pytest.fixture
def schema(anon_client: Any) -> OpenAPI:
    return OpenAPI(anon_client.get("/api/v1/schema?format=json").json())


@pytest.fixture
def seeded(tenant_a: Tenant, tenant_b: Tenant) -> tuple[Tenant, Tenant]:
    """Both workspaces hold one of every resource that exists."""
    tenant_a.seeder.seed_all()
    tenant_b.seeder.seed_all()
    return tenant_a, tenant_b


@pytest.mark.django_db
@pytest.mark.parametrize(("served", "route"), _id_routes(), ids=lambda value: getattr(value, "path", ""))
def test_foreign_ids_are_404_on_every_verb(
    served: ServedRoute, route: Route, seeded: tuple[Tenant, Tenant], schema: OpenAPI
) -> None:
    a, b = seeded
    resources = [route.params[param] for param in served.params]
    _require(a.seeder, resources)
    mine = {param: _resource_id(a, route.params[param]) for param in served.params}
    theirs = {param: _resource_id(b, route.params[param]) for param in served.params}
    nobody = {param: str(uuid.uuid4()) for param in served.params}
    # All of B's ids, and (for nested routes) A's parent with B's child and vice versa.
    variants = [theirs] + ([{**mine, param: theirs[param]} for param in served.params] if len(theirs) > 1 else [])
    call = django_transport(a.client)
    before = workspace_snapshot(b.workspace)
    for values in variants:
        for verb in VERBS:
            url = served.url(values)
            reply = call(verb, url, {})
            if verb in served.methods:
                assert reply.status == 404, (
                    f"{verb.upper()} {url} as another workspace: {reply.status} {reply.text[:300]}"
                )
                assert reply.body and reply.body.get("code"), f"{verb.upper()} {url}: 404 without a JSON error body"
            else:
                baseline = call(verb, served.url({**values, **nobody}), {})
                assert reply.status == baseline.status and reply.status in (404, 405), (
                    f"{verb.upper()} {url}: {reply.status}, a random id gets {baseline.status}"
                )
            assert b.marker not in reply.text, f"{verb.upper()} {url} leaked B's data: {reply.text[:300]}"
    assert_unchanged(before, workspace_snapshot(b.workspace), served.path)


def _list_routes() -> list[tuple[ServedRoute, Route]]:
    return [(s, r) for s, r in api_routes(COLLECTION, SINGLETON, ACCOUNT) if "get" in s.methods and not s.params]


@pytest.mark.django_db
@pytest.mark.parametrize(("served", "route"), _list_routes(), ids=lambda value: getattr(value, "path", ""))
def test_lists_and_reports_never_show_the_other_workspace(
    served: ServedRoute, route: Route, seeded: tuple[Tenant, Tenant], schema: OpenAPI
) -> None:
    a, b = seeded
    call = django_transport(a.client)
    url = served.url({})
    queries = ["", "limit=1000", *[f"{name}={b.marker}" for name in route.search_params]]
    for name in schema.query_parameters(served.path):
        resource = REFERENCE_FIELDS.get(name)
        if resource and (resource == "member" or b.seeder.available(resource)):
            queries.append(f"{name}={_resource_id(b, resource)}")
    for query in queries:
        reply = call("get", f"{url}?{query}" if query else url)
        assert reply.status < 500, f"GET {url}?{query}: {reply.status} {reply.text[:300]}"
        assert b.marker not in reply.text, f"GET {url}?{query} as A shows B's data: {reply.text[:400]}"
    if route.kind == COLLECTION and a.seeder.available(route.resource or ""):
        # The sweep is only meaningful if the list does show A's own rows.
        assert a.marker in call("get", url).text, f"GET {url} does not list A's own {route.resource}"


def _writable_operations() -> list[tuple[ServedRoute, Route, str]]:
    rows = []
    for served, route in api_routes(COLLECTION, DETAIL, ACTION, NESTED, SINGLETON):
        for method in ("post", "put", "patch", "delete"):
            if method in served.methods:
                rows.append((served, route, method))
    return rows


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("served", "route", "method"),
    _writable_operations(),
    ids=lambda value: getattr(value, "path", value if isinstance(value, str) else ""),
)
def test_bodies_pointing_at_the_other_workspace_are_refused(
    served: ServedRoute, route: Route, method: str, seeded: tuple[Tenant, Tenant], schema: OpenAPI
) -> None:
    a, b = seeded
    # DELETE carries its references in the query string (?move_to=<stage>), the others in the body.
    accepted = (
        {name: {} for name in schema.query_parameters(served.path, method)}
        if method == "delete"
        else schema.body_properties(served.path, method)
    )
    fields = {name: (REFERENCE_FIELDS[name], prop) for name, prop in accepted.items() if name in REFERENCE_FIELDS}
    fields = {n: v for n, v in fields.items() if v[0] == "member" or b.seeder.available(v[0])}
    if not fields:
        pytest.skip(f"{method.upper()} {served.path} takes no reference to another object")
    _require(a.seeder, [route.params[p] for p in served.params])
    url = served.url({param: _resource_id(a, route.params[param]) for param in served.params})
    creates = method == "post" and route.kind in (COLLECTION, NESTED) and route.resource
    call = django_transport(a.client)
    before = workspace_snapshot(b.workspace)
    for name, (resource, prop) in fields.items():
        base = (a.seeder.payload(route.resource) or {}) if creates else {}
        foreign = _resource_id(b, resource)
        if method == "delete":
            reply = call(method, f"{url}?{name}={foreign}")
        else:
            reply = call(method, url, {**base, name: [foreign] if prop.get("type") == "array" else foreign})
        assert 400 <= reply.status < 500, (
            f"{method.upper()} {url} with {name}=<B's {resource}> was accepted: {reply.status} {reply.text[:300]}"
        )
        assert b.marker not in reply.text
    assert_unchanged(before, workspace_snapshot(b.workspace), f"{method.upper()} {served.path}")
