"""Mass assignment: no writable endpoint lets a body set a field it does not document.

For every POST/PUT/PATCH route, each model field the operation's documented body does not
accept (plus the usual suspects: workspace, role, credits, plan, is_staff, id, created_at, ...)
is sent with a distinctive value on top of a valid body. The answer may be a 400 (unknown
field) or a success that ignores it, never a stored value. The caller's workspace plan and
credits, memberships and user flags never move.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from accounts.models import AuthSession, Membership, User, Workspace
from tests.conftest import Tenant
from tests.openapi import OpenAPI
from tests.routes import ACCOUNT, ACTION, COLLECTION, DETAIL, NESTED, SINGLETON, Route, ServedRoute, api_routes
from tests.seed import RESOURCE_MODELS, django_transport

ALWAYS_PROTECTED = (
    "workspace",
    "workspace_id",
    "role",
    "credits",
    "plan",
    "is_staff",
    "is_superuser",
    "is_active",
    "id",
    "created_at",
    "updated_at",
    "password",
)
# Non-collection endpoints and the object they write.
SINGLETON_MODELS = {
    "api/v1/settings/workspace": Workspace,
    "api/v1/auth/password": User,
    "api/v1/auth/me": User,
    "api/v1/auth/logout": AuthSession,
    # A module document's only writable part is its opaque ``data``: no model field to inject.
    "api/v1/sync/{module}": None,
}
INJECTED_TEXT = "INJECTED-9f3a"
INJECTED_NUMBER = 987654
INJECTED_MOMENT = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


def _operations() -> list[tuple[ServedRoute, Route, str]]:
    rows = []
    for served, route in api_routes(COLLECTION, DETAIL, ACTION, NESTED, SINGLETON, ACCOUNT):
        for method in ("post", "put", "patch"):
            if method in served.methods:
                rows.append((served, route, method))
    return rows


def _target_model(served: ServedRoute, route: Route, method: str) -> type[models.Model] | None:
    if served.path in SINGLETON_MODELS:
        return SINGLETON_MODELS[served.path]
    if method == "post" and route.kind in (COLLECTION, NESTED) and route.resource:
        return apps.get_model(RESOURCE_MODELS[route.resource])
    if served.params:
        return apps.get_model(RESOURCE_MODELS[route.params[served.params[-1]]])
    return None


def _injection(field: models.Field, current: Any, tenant_b: Tenant) -> tuple[Any, Any] | None:
    """(value to send, value that must not be stored) for a field, or None when undecidable."""
    if field.name == "workspace":
        return str(tenant_b.workspace.pk), tenant_b.workspace.pk
    if isinstance(field, models.ForeignKey):
        if field.related_model is User:
            return str(tenant_b.user.pk), tenant_b.user.pk
        fresh = uuid.uuid4()
        return str(fresh), fresh
    if field.choices:
        others = [value for value, _ in field.choices if value != current]
        return (others[-1], others[-1]) if others and current is not None else None
    if isinstance(field, models.UUIDField):
        fresh = uuid.uuid4()
        return str(fresh), fresh
    if isinstance(field, models.BooleanField):
        return None
    if isinstance(field, models.EmailField):
        return "injected-9f3a@example.com", "injected-9f3a@example.com"
    if isinstance(field, models.CharField | models.TextField):
        return INJECTED_TEXT, INJECTED_TEXT
    if isinstance(field, models.IntegerField | models.DecimalField | models.FloatField):
        return INJECTED_NUMBER, INJECTED_NUMBER
    if isinstance(field, models.DateTimeField):
        return INJECTED_MOMENT.isoformat(), INJECTED_MOMENT
    if isinstance(field, models.DateField):
        return "2001-02-03", INJECTED_MOMENT.date()
    if isinstance(field, models.JSONField):
        return {"injected": INJECTED_NUMBER}, {"injected": INJECTED_NUMBER}
    return None


def _guarded_state(tenant: Tenant) -> dict[str, Any]:
    workspace = Workspace.objects.get(pk=tenant.workspace.pk)
    return {
        "workspace": (workspace.pk, workspace.plan, workspace.credits, workspace.created_at),
        "memberships": sorted(Membership.objects.filter(workspace=workspace).values_list("user_id", "role")),
        "users": sorted(
            User.objects.filter(memberships__workspace=workspace).values_list(
                "pk", "is_staff", "is_superuser", "is_active", "password", "email"
            )
        ),
    }


def _created_id(body: Any) -> str | None:
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and "id" in value:
                return str(value["id"])
        if "id" in body:
            return str(body["id"])
    return None


@pytest.fixture
def schema(anon_client: Any) -> OpenAPI:
    return OpenAPI(anon_client.get("/api/v1/schema?format=json").json())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("served", "route", "method"),
    _operations(),
    ids=lambda value: getattr(value, "path", value if isinstance(value, str) else ""),
)
def test_undocumented_fields_are_never_written(
    served: ServedRoute, route: Route, method: str, tenant_a: Tenant, tenant_b: Tenant, schema: OpenAPI
) -> None:
    a = tenant_a
    for resource in [route.params[p] for p in served.params]:
        if not a.seeder.available(resource):
            pytest.skip(a.seeder.missing(resource))
    creates = method == "post" and route.kind in (COLLECTION, NESTED) and route.resource
    if creates and not a.seeder.available(route.resource):
        pytest.skip(a.seeder.missing(route.resource))
    model = _target_model(served, route, method)
    accepted = set(schema.body_properties(served.path, method))
    fields = {f.name: f for f in (model._meta.concrete_fields if model else [])}
    protected = [
        name
        for name in dict.fromkeys([*fields, *ALWAYS_PROTECTED])
        if name not in accepted and (name not in fields or fields[name].attname not in accepted)
    ]
    call = django_transport(a.client)
    guarded = _guarded_state(a)
    tried = 0
    for name in protected:
        field = fields.get(name)
        url = served.url({p: a.seeder.id(route.params[p]) for p in served.params})
        target = None
        if model is not None and not creates:
            target = _existing_target(model, served, route, a)
        current = getattr(target, field.attname, None) if (field is not None and target is not None) else None
        injection = _injection(field, current, tenant_b) if field is not None else (INJECTED_TEXT, None)
        if injection is None:
            continue
        sent, forbidden = injection
        base = (a.seeder.payload(route.resource) or {}) if creates else {}
        reply = call(method, url, {**base, name: sent})
        tried += 1
        assert reply.status < 500, f"{method.upper()} {url} with {name}: {reply.status} {reply.text[:300]}"
        if field is None or forbidden is None or not (200 <= reply.status < 300):
            continue
        if creates:
            created = _created_id(reply.body)
            assert created, f"{method.upper()} {url}: no id in {reply.text[:300]}"
            target = model._default_manager.get(pk=created)
        if target is not None:
            target.refresh_from_db()
            stored = getattr(target, field.attname)
            assert stored != forbidden, f"{method.upper()} {url} let the body set {model.__name__}.{name}={sent!r}"
    assert tried, f"{method.upper()} {served.path}: no protected field was tried"
    assert _guarded_state(a) == guarded, f"{method.upper()} {served.path} changed plan/credits/roles/user flags"


def _existing_target(model: type[models.Model], served: ServedRoute, route: Route, a: Tenant) -> Any:
    if model is Workspace:
        return Workspace.objects.get(pk=a.workspace.pk)
    if model is User:
        return User.objects.get(pk=a.user.pk)
    if model is AuthSession:
        return None
    if served.params:
        return model._default_manager.get(pk=a.seeder.id(route.params[served.params[-1]]))
    return None
