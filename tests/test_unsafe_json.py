"""Unsafe JSON bodies: every write of every route refuses them with a 4xx JSON error, storing nothing.

Lone surrogates (in values and in keys), NUL characters and deep nesting are valid JSON or
nearly so, and each once reached a view: stored on SQLite, they poisoned every later read of the
workspace (lists, the event feed, live sockets). ``whatshybrid.strict_json`` refuses them; this
gate sends them to every POST/PUT/PATCH/DELETE of the route inventory and also checks that no
view swaps the project's JSON parser for a weaker one.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db.models import Max
from django.test import override_settings
from rest_framework.parsers import JSONParser

from tests.conftest import Tenant
from tests.openapi import OpenAPI
from tests.routes import API_KINDS, PUBLIC, Route, ServedRoute, api_routes
from whatshybrid.api.parsers import SafeJSONParser

WRITE_METHODS = ("post", "put", "patch", "delete")
TOO_DEEP = settings.JSON_MAX_DEPTH + 1
# Raw bodies: json.dumps would escape the surrogate the same way, but the text is the point here.
UNSAFE_BODIES = {
    "surrogate-value": '{"name": "x\\ud83d", "tags": ["\\ud83d"], "settings": {"a": "\\udc00"}}',
    "surrogate-key": '{"\\ud83d": 1, "name": "Ana"}',
    "nul": '{"name": "a\\u0000b", "content": "\\u0000"}',
    "deep": '{"custom_fields": ' + "[" * 10_000 + "]" * 10_000 + "}",
    "just-too-deep": '{"custom_fields": ' + "[" * TOO_DEEP + "]" * TOO_DEEP + "}",
    "infinite": '{"value": 1e999}',
}


def _operations() -> list[tuple[ServedRoute, Route, str]]:
    return [
        (served, route, method)
        for served, route in api_routes(*API_KINDS)
        for method in WRITE_METHODS
        if method in served.methods
    ]


@pytest.fixture
def schema(anon_client: Any) -> OpenAPI:
    return OpenAPI(anon_client.get("/api/v1/schema?format=json").json())


def _stored_state() -> dict[str, tuple[int, Any]]:
    """Row count and newest ``updated_at`` of every project model: any write moves one of them."""
    state = {}
    for model in apps.get_models():
        if not model.__module__.startswith(("django.", "django_tasks")):
            has_updated = any(f.name == "updated_at" for f in model._meta.concrete_fields)
            newest = model._default_manager.aggregate(m=Max("updated_at"))["m"] if has_updated else None
            state[model._meta.label] = (model._default_manager.count(), newest)
    return state


@pytest.mark.django_db
@override_settings(RATELIMIT_ENABLE=False)  # register's per-IP limit would answer 429 before the body is read
@pytest.mark.parametrize(
    ("served", "route", "method"),
    _operations(),
    ids=lambda value: getattr(value, "path", value if isinstance(value, str) else ""),
)
def test_unsafe_json_is_refused_everywhere(
    served: ServedRoute, route: Route, method: str, tenant_a: Tenant, anon_client: Any, schema: OpenAPI
) -> None:
    a = tenant_a
    for resource in [route.params[p] for p in served.params]:
        if not a.seeder.available(resource):
            pytest.skip(a.seeder.missing(resource))
    url = served.url({p: a.seeder.id(route.params[p]) for p in served.params})
    client = anon_client if route.kind == PUBLIC else a.client
    before = _stored_state()
    # FieldCheckedJSONParser leaves NUL to the serializers (contacts' own tests cover those fields).
    nul_left_to_fields = any(getattr(parser, "allow_nul", False) for parser in served.view.parser_classes)
    # Operations that take no body (DELETE, /complete, /read) never read it: they must not fail.
    takes_body = "requestBody" in (schema.operation(served.path, method) or {})
    for name, body in UNSAFE_BODIES.items():
        if name == "nul" and nul_left_to_fields:
            continue
        response = getattr(client, method)(url, body, content_type="application/json")
        where = f"{method.upper()} {url} with {name}"
        if not takes_body:
            assert response.status_code < 500 and response["Content-Type"].startswith("application/json"), where
            continue
        assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {response.content[:300]!r}"
        assert response["Content-Type"].startswith("application/json"), where
        assert response.json()["code"] in ("VALIDATION_ERROR", "PARSE_ERROR"), where
        assert _stored_state() == before, f"{where} stored something"


def test_no_view_uses_another_json_parser() -> None:
    """A view's own ``parser_classes`` may add upload parsers, never a weaker JSON one."""
    weaker = []
    for served, _route in api_routes(*API_KINDS):
        for parser in getattr(served.view, "parser_classes", []):
            if issubclass(parser, JSONParser) and not issubclass(parser, SafeJSONParser):
                weaker.append(f"{served.path}: {parser.__module__}.{parser.__name__}")
    assert not weaker, weaker
    assert [p for p in settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] if "JSON" in p] == [
        "whatshybrid.api.parsers.SafeJSONParser"
    ]
