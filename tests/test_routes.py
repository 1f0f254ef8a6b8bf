"""Route inventory: every URL route is classified in tests/routes.py and documented in the schema."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.routes import API_KINDS, HOW_TO_CLASSIFY, ROUTES, classify, served_routes
from tests.seed import RECIPES

_PARAM = re.compile(r"\{[^}]+\}")


def _shape(path: str) -> str:
    return _PARAM.sub("{}", path.strip("/"))


@pytest.fixture
def served_schema(anon_client: Any) -> dict[str, Any]:
    response = anon_client.get("/api/v1/schema?format=json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_every_route_is_classified() -> None:
    unclassified = sorted(route.path for route in served_routes() if classify(route.path) is None)
    assert not unclassified, f"Unclassified routes: {unclassified}. {HOW_TO_CLASSIFY}"


def test_every_api_route_and_method_is_in_the_served_schema(served_schema: dict[str, Any]) -> None:
    documented = {_shape(path): {m for m in ops if m != "parameters"} for path, ops in served_schema["paths"].items()}
    problems = []
    for route in served_routes():
        entry = classify(route.path)
        if entry is None or entry.kind not in API_KINDS:
            continue
        methods = documented.get(_shape(route.path))
        if methods is None:
            problems.append(f"{route.path}: not in /api/v1/schema")
        elif not route.methods <= methods:
            problems.append(f"{route.path}: {sorted(route.methods - methods)} served but not documented")
    assert not problems, "Every API route must be in the OpenAPI schema:\n" + "\n".join(problems)


def test_every_schema_path_is_served(served_schema: dict[str, Any]) -> None:
    served = {_shape(route.path) for route in served_routes()}
    ghosts = sorted(path for path in served_schema["paths"] if _shape(path) not in served)
    assert not ghosts, f"documented but not routed: {ghosts}"


def test_every_path_parameter_has_a_seed_recipe() -> None:
    served = {route.path for route in served_routes()}
    problems = []
    for route in served_routes():
        entry = classify(route.path)
        if entry is None or entry.kind not in API_KINDS:
            continue
        for param in route.params:
            resource = entry.params.get(param)
            if resource is None:
                problems.append(f"{route.path}: parameter {{{param}}} has no resource in ROUTES[...].params")
            elif resource not in RECIPES:
                problems.append(f"{route.path}: resource {resource!r} has no recipe in tests/seed.py RECIPES")
            elif RECIPES[resource].route not in served:
                problems.append(f"{route.path}: {resource!r} is seeded via {RECIPES[resource].route}, not served")
    assert not problems, "\n".join(problems)


def test_collections_name_their_resource() -> None:
    for path, entry in ROUTES.items():
        if entry.kind == "collection":
            assert entry.resource in RECIPES, f"{path}: collection resource {entry.resource!r} needs a recipe"


def test_canonical_paths_cover_router_and_path_converters() -> None:
    from tests.routes import canonical, expand_optional

    assert canonical("api/v1/^contacts/(?P<pk>[0-9a-f-]{36})$") == "api/v1/contacts/{pk}"
    assert canonical("api/v1/conversations/<uuid:pk>/messages/<str:message_id>") == (
        "api/v1/conversations/{pk}/messages/{message_id}"
    )
    assert expand_optional("^c/(?P<pk>[^/]+)(?:/status)?$") == ["^c/(?P<pk>[^/]+)$", "^c/(?P<pk>[^/]+)/status$"]
