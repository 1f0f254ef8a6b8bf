"""The one table of every URL route, and the inventory that reads the URL conf.

Every route the project serves must have an entry in ``ROUTES`` (or match a prefix in
``PREFIX_ROUTES``): the kind says which cross-cutting gates apply to it (tenancy sweep, roles,
mass assignment, schema comparison). ``tests/test_routes.py`` fails on a route that is missing
here, so a new endpoint cannot skip the gates by accident.

Keys are canonical paths: the URL conf's pattern with every parameter written ``{name}`` and no
leading slash, e.g. ``api/v1/contacts/{pk}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

from whatshybrid.api.permissions import ALL_ROLES, MANAGER_ROLES, WRITER_ROLES

# Kinds of route.
HEALTH = "health"  # probes, no auth
DOCS = "docs"  # OpenAPI schema, Swagger, Redoc
ADMIN = "admin"  # Django admin (staff login, not the API)
PUBLIC = "public"  # API endpoints without a token (register, login, refresh)
ACCOUNT = "account"  # the caller's own session/user (me, logout, password)
SINGLETON = "singleton"  # one workspace-level resource or report (settings, pipeline, overdue)
COLLECTION = "collection"  # list + create of a workspace resource
DETAIL = "detail"  # one object by id
ACTION = "action"  # a verb on one object (complete, use, read, render)
NESTED = "nested"  # a child collection or child object under a parent id

WORKSPACE_KINDS = frozenset({ACCOUNT, SINGLETON, COLLECTION, DETAIL, ACTION, NESTED})
API_KINDS = WORKSPACE_KINDS | {PUBLIC}
READ_METHODS = frozenset({"get", "head", "options"})


@dataclass(frozen=True)
class Route:
    kind: str
    # url kwarg -> seeded resource whose id goes there ({"pk": "conversation", "message_id": "message"}).
    params: dict[str, str] = field(default_factory=dict)
    # The resource a collection lists/creates (its list carries that resource's marker strings).
    resource: str | None = None
    # method -> roles allowed; methods not listed: reads any role, writes agents and up.
    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    # Query parameters that search text (the sweep sends the other workspace's marker in them).
    search_params: tuple[str, ...] = ()

    def allowed_roles(self, method: str) -> frozenset[str]:
        if method in self.roles:
            return self.roles[method]
        if self.kind == ACCOUNT:
            return ALL_ROLES
        return ALL_ROLES if method in READ_METHODS else WRITER_ROLES


MANAGERS_WRITE = {"put": MANAGER_ROLES, "patch": MANAGER_ROLES}
MANAGERS_ALL = dict.fromkeys(("get", "post", "put", "patch", "delete"), MANAGER_ROLES)

ROUTES: dict[str, Route] = {
    # --- probes and docs
    "health": Route(HEALTH),
    "api/health": Route(HEALTH),
    "api/health/ready": Route(HEALTH),
    "api/v1/schema": Route(DOCS),
    "api/v1/docs": Route(DOCS),
    "api/v1/redoc": Route(DOCS),
    # --- accounts (issue 2)
    "api/v1/auth/register": Route(PUBLIC),
    "api/v1/auth/login": Route(PUBLIC),
    "api/v1/auth/refresh": Route(PUBLIC),
    "api/v1/auth/logout": Route(ACCOUNT),
    "api/v1/auth/me": Route(ACCOUNT),
    "api/v1/auth/password": Route(ACCOUNT),
    "api/v1/settings/workspace": Route(SINGLETON, roles=MANAGERS_WRITE),
    # --- realtime (issue 3)
    "api/v1/events": Route(SINGLETON),
    # --- contacts (issue 4)
    "api/v1/contacts": Route(COLLECTION, resource="contact", search_params=("search", "q")),
    "api/v1/contacts/import": Route(SINGLETON),
    "api/v1/contacts/import/{job_id}": Route(DETAIL, params={"job_id": "import_job"}),
    "api/v1/contacts/export": Route(SINGLETON, search_params=("search", "q")),
    "api/v1/contacts/{pk}": Route(DETAIL, params={"pk": "contact"}),
    # --- messaging (issue 5)
    "api/v1/conversations": Route(COLLECTION, resource="conversation", search_params=("q",)),
    "api/v1/conversations/stats": Route(SINGLETON),
    "api/v1/conversations/{pk}": Route(DETAIL, params={"pk": "conversation"}, roles={"delete": MANAGER_ROLES}),
    "api/v1/conversations/{pk}/read": Route(ACTION, params={"pk": "conversation"}, roles={"post": ALL_ROLES}),
    "api/v1/conversations/{pk}/messages": Route(NESTED, params={"pk": "conversation"}, resource="message"),
    "api/v1/conversations/{pk}/messages/{message_id}": Route(
        NESTED, params={"pk": "conversation", "message_id": "message"}
    ),
    "api/v1/conversations/{pk}/messages/{message_id}/status": Route(
        NESTED, params={"pk": "conversation", "message_id": "message"}
    ),
    # --- crm (issue 6)
    "api/v1/crm/pipeline": Route(SINGLETON, resource="stage"),
    "api/v1/crm/pipeline/stages": Route(COLLECTION, resource="stage"),
    "api/v1/crm/pipeline/stages/reorder": Route(SINGLETON),
    "api/v1/crm/pipeline/stages/{pk}": Route(DETAIL, params={"pk": "stage"}),
    "api/v1/crm/deals": Route(COLLECTION, resource="deal", search_params=("q",)),
    "api/v1/crm/deals/{pk}": Route(DETAIL, params={"pk": "deal"}),
    "api/v1/crm/labels": Route(COLLECTION, resource="label"),
    "api/v1/crm/labels/{pk}": Route(DETAIL, params={"pk": "label"}),
    # --- tasks (issue 6)
    "api/v1/tasks": Route(COLLECTION, resource="task"),
    "api/v1/tasks/overdue": Route(SINGLETON),
    "api/v1/tasks/{pk}": Route(DETAIL, params={"pk": "task"}),
    "api/v1/tasks/{pk}/complete": Route(ACTION, params={"pk": "task"}),
    # --- the extension's sync calls (issue 16)
    "api/v1/crm/sync": Route(SINGLETON),
    "api/v1/crm/data": Route(SINGLETON),
    "api/v1/tasks/sync": Route(SINGLETON),
    "api/v1/tasks/data": Route(SINGLETON),
    # Module documents are the caller's own: every role writes them.
    "api/v1/sync/status": Route(SINGLETON),
    "api/v1/sync/ai_memory_events": Route(SINGLETON, roles={"post": ALL_ROLES}),
    "api/v1/sync/{module}": Route(SINGLETON, params={"module": "sync_module"}, roles={"post": ALL_ROLES}),
    "api/v1/sync/{module}/download": Route(SINGLETON, params={"module": "sync_module"}),
    "api/v1/sync/{module}/all": Route(SINGLETON, params={"module": "sync_module"}, roles={"delete": ALL_ROLES}),
    "api/v1/sync/{module}/{item_id}": Route(
        SINGLETON, params={"module": "sync_module", "item_id": "sync_item"}, roles={"delete": ALL_ROLES}
    ),
    "api/v1/knowledge": Route(SINGLETON),
    "api/v1/knowledge/sync": Route(SINGLETON),
    "api/v1/ai/few-shot/sync": Route(SINGLETON),
    "api/v1/examples/sync": Route(SINGLETON),
    "api/v1/examples/list": Route(SINGLETON),
    # --- AI (issue 17)
    "api/v1/ai/complete": Route(SINGLETON),
    "api/v1/ai/credits": Route(SINGLETON),
    "api/v1/ai/usage": Route(SINGLETON),
    "api/v1/ai/knowledge": Route(COLLECTION, resource="knowledge_item", search_params=("q",)),
    "api/v1/ai/knowledge/search": Route(SINGLETON, search_params=("q",)),
    "api/v1/ai/knowledge/{pk}": Route(DETAIL, params={"pk": "knowledge_item"}),
    "api/v1/ai/learn/feedback": Route(SINGLETON),
    "api/v1/settings/ai-keys": Route(SINGLETON, roles={"get": MANAGER_ROLES, **MANAGERS_WRITE}),
    "api/v2/ai/process": Route(SINGLETON),
    # --- templates (issue 6)
    "api/v1/templates": Route(COLLECTION, resource="template", search_params=("q",)),
    "api/v1/templates/{pk}": Route(DETAIL, params={"pk": "template"}),
    "api/v1/templates/{pk}/use": Route(ACTION, params={"pk": "template"}),
    "api/v1/templates/{pk}/render": Route(ACTION, params={"pk": "template"}, roles={"post": ALL_ROLES}),
    # --- webhooks (issue 18): owners and admins only, reads included
    "api/v1/webhooks": Route(COLLECTION, resource="webhook", roles=MANAGERS_ALL),
    "api/v1/webhooks/events": Route(SINGLETON, roles=MANAGERS_ALL),
    "api/v1/webhooks/{pk}": Route(DETAIL, params={"pk": "webhook"}, roles=MANAGERS_ALL),
    "api/v1/webhooks/{pk}/rotate-secret": Route(ACTION, params={"pk": "webhook"}, roles=MANAGERS_ALL),
    "api/v1/webhooks/{pk}/test": Route(ACTION, params={"pk": "webhook"}, roles=MANAGERS_ALL),
    "api/v1/webhooks/{pk}/deliveries": Route(NESTED, params={"pk": "webhook"}, roles=MANAGERS_ALL),
    "api/v1/webhooks/{pk}/deliveries/{delivery_id}/redeliver": Route(
        NESTED, params={"pk": "webhook", "delivery_id": "webhook_delivery"}, roles=MANAGERS_ALL
    ),
    "api/v1/webhooks/inbound-settings": Route(SINGLETON, roles=MANAGERS_ALL),
    "api/v1/webhooks/inbound-settings/rotate-secret": Route(SINGLETON, roles=MANAGERS_ALL),
    # Signed by the sender (the workspace's inbound secret / the WhatsApp app secret), no token.
    "api/v1/webhooks/incoming/{workspace_id}": Route(PUBLIC, params={"workspace_id": "workspace"}),
    "api/v1/webhooks/incoming/{workspace_id}/whatsapp": Route(PUBLIC, params={"workspace_id": "workspace"}),
}

# Whole subtrees with one kind (the admin has hundreds of generated routes).
PREFIX_ROUTES: dict[str, Route] = {"admin/": Route(ADMIN), "static/": Route(DOCS)}

HOW_TO_CLASSIFY = (
    "Add it to ROUTES in tests/routes.py with its kind (PUBLIC / ACCOUNT / SINGLETON / COLLECTION / "
    "DETAIL / ACTION / NESTED / ...), the resource of every path parameter (params={'pk': 'contact'}) "
    "and any role rule that differs from 'reads: every role, writes: agent and up'. A new resource "
    "also needs a seed recipe in tests/seed.py (RECIPES) so the tenancy sweep can create it."
)

_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(?P<name>\w+)>")


_OPTIONAL = re.compile(r"\(\?:(?P<body>[^()]*)\)\?")


def canonical(pattern: str) -> str:
    """``api/v1/^contacts/(?P<pk>[^/.]+)$`` and ``api/v1/contacts/<uuid:pk>`` → ``api/v1/contacts/{pk}``."""
    path = _GROUP.sub(lambda m: "{" + m["name"] + "}", pattern)
    path = _CONVERTER.sub(lambda m: "{" + m["name"] + "}", path)
    return path.replace("^", "").replace("$", "").replace("\\", "")


def expand_optional(pattern: str) -> list[str]:
    """A regex route with an optional suffix ``x(?:/status)?`` serves two paths: ``x`` and ``x/status``."""
    match = _OPTIONAL.search(pattern)
    if match is None:
        return [pattern]
    without = pattern[: match.start()] + pattern[match.end() :]
    with_it = pattern[: match.start()] + match["body"] + pattern[match.end() :]
    return expand_optional(without) + expand_optional(with_it)


@dataclass(frozen=True)
class ServedRoute:
    path: str  # canonical
    methods: frozenset[str]  # lower-case HTTP methods the view implements (no options/head)
    view: object  # the view class (or function)
    actions: dict[str, str]  # viewset method -> action name ({} for plain views)

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)

    def url(self, values: dict[str, str]) -> str:
        return "/" + re.sub(r"\{(\w+)\}", lambda m: str(values[m[1]]), self.path)


def _methods(callback: object) -> tuple[frozenset[str], object, dict[str, str]]:
    actions = getattr(callback, "actions", None)
    if actions:
        methods = frozenset(actions) - {"options", "head"}  # DRF adds head wherever get exists
        return methods, callback.cls, dict(actions)
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        names = {m for m in view_class.http_method_names if hasattr(view_class, m)} - {"options", "head"}
        return frozenset(names), view_class, {}
    return frozenset({"get"}), callback, {}


def served_routes() -> Iterator[ServedRoute]:
    def walk(resolver: URLResolver, prefix: str) -> Iterator[ServedRoute]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                methods, view, actions = _methods(entry.callback)
                for variant in expand_optional(prefix + str(entry.pattern)):
                    yield ServedRoute(canonical(variant), methods, view, actions)

    seen: dict[str, ServedRoute] = {}
    for route in walk(get_resolver(), ""):
        if route.path in seen:
            # Same path from two patterns (a router's list and detail share none, but be safe): merge.
            previous = seen[route.path]
            route = ServedRoute(route.path, previous.methods | route.methods, previous.view, previous.actions)
        seen[route.path] = route
    yield from seen.values()


def classify(path: str) -> Route | None:
    if path in ROUTES:
        return ROUTES[path]
    for prefix, route in PREFIX_ROUTES.items():
        if path.startswith(prefix):
            return route
    return None


def api_routes(*kinds: str) -> list[tuple[ServedRoute, Route]]:
    """Served routes of the given kinds (all API kinds by default), with their table entry."""
    wanted = set(kinds) or API_KINDS
    rows = []
    for served in served_routes():
        route = classify(served.path)
        if route is not None and route.kind in wanted:
            rows.append((served, route))
    return sorted(rows, key=lambda row: row[0].path)
