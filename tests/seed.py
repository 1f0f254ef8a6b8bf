"""Seed data for every resource, created through the REST API itself.

One ``Seeder`` per workspace. ``seeder.get("deal")`` returns the workspace's deal (creating it
and whatever it depends on, once); ``seeder.make("deal")`` creates a fresh one. Every text the
seeder writes carries the seeder's marker, so a leak into another workspace's response is a
plain substring search.

A resource whose app has not shipped its create route yet is *unavailable* (``missing()`` says
why); tests skip it by name. ``tests/test_routes.py`` fails if a served route needs a resource
that has no recipe here, so nothing that exists is skipped silently.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

_unique = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: Any
    text: str


class Transport(Protocol):
    def __call__(self, method: str, path: str, body: Any = None) -> Reply: ...


def django_transport(client: Any) -> Transport:
    """Calls through a DRF/Django test client (in-process)."""

    def call(method: str, path: str, body: Any = None) -> Reply:
        response = getattr(client, method.lower())(path, body if body is not None else {}, format="json")
        text = response.content.decode("utf-8", "replace")
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return Reply(response.status_code, parsed, text)

    return call


def requests_transport(session: Any, base_url: str) -> Transport:
    """Calls a live server with a ``requests.Session`` (headers already set)."""

    def call(method: str, path: str, body: Any = None) -> Reply:
        response = session.request(method.upper(), base_url + path, json=body if body is not None else {}, timeout=30)
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return Reply(response.status_code, parsed, response.text)

    return call


class SeedError(AssertionError):
    pass


@dataclass(frozen=True)
class Recipe:
    route: str  # the canonical create route; the resource is available when it is served
    create: Callable[[Seeder], dict[str, Any]]
    # Fresh valid body for that create route (mass-assignment and cross-workspace body tests).
    payload: Callable[[Seeder], dict[str, Any]] | None = None
    needs: tuple[str, ...] = ()  # resources that must exist first
    costly: bool = False  # seeded only where a route needs it, not by seed_all()


def _phone() -> str:
    # Distinct valid Brazilian mobiles: +55 11 99xxx-xxxx.
    return f"+551199{next(_unique) % 10_000_000:07d}"


def _key(body: Any, *names: str) -> dict[str, Any]:
    for name in names:
        if isinstance(body, dict) and isinstance(body.get(name), dict):
            return body[name]
    raise SeedError(f"expected one of {names} in the response, got {str(body)[:300]}")


class Seeder:
    def __init__(self, call: Transport, *, marker: str | None = None, served: set[str] | None = None) -> None:
        self.call = call
        self.marker = marker or f"MK{uuid.uuid4().hex[:10].upper()}"
        self.served = served  # canonical routes served; None = look them up in the URL conf
        self.cache: dict[str, dict[str, Any]] = {}

    # --- availability -------------------------------------------------------------------------
    def _served(self) -> set[str]:
        if self.served is None:
            from tests.routes import served_routes

            self.served = {route.path for route in served_routes()}
        return self.served

    def missing(self, resource: str) -> str | None:
        """Why ``resource`` cannot be seeded, or None when it can."""
        recipe = RECIPES.get(resource)
        if recipe is None:
            return f"no seed recipe for {resource!r} in tests/seed.py RECIPES"
        if recipe.route not in self._served():
            return f"{resource}: route {recipe.route} is not served yet"
        for dependency in recipe.needs:
            reason = self.missing(dependency)
            if reason:
                return f"{resource} needs {reason}"
        return None

    def available(self, resource: str) -> bool:
        return self.missing(resource) is None

    # --- creation -----------------------------------------------------------------------------
    def text(self, label: str) -> str:
        return f"{label} {self.marker} {next(_unique)}"

    def post(self, path: str, body: dict[str, Any], *names: str) -> dict[str, Any]:
        reply = self.call("post", path, body)
        if reply.status not in (200, 201, 202):
            raise SeedError(f"seeding POST {path} {body} -> {reply.status} {reply.text[:500]}")
        return _key(reply.body, *names)

    def make(self, resource: str) -> dict[str, Any]:
        reason = self.missing(resource)
        if reason:
            raise SeedError(reason)
        return RECIPES[resource].create(self)

    def get(self, resource: str) -> dict[str, Any]:
        if resource not in self.cache:
            self.cache[resource] = self.make(resource)
        return self.cache[resource]

    def id(self, resource: str) -> str:
        return str(self.get(resource)["id"])

    def payload(self, resource: str) -> dict[str, Any] | None:
        recipe = RECIPES.get(resource)
        if recipe is None or recipe.payload is None or not self.available(resource):
            return None
        return recipe.payload(self)

    def seed_all(self) -> list[str]:
        """Creates one of every available resource; returns the names of the unavailable ones."""
        unavailable = []
        for resource, recipe in RECIPES.items():
            if recipe.costly:
                continue
            if self.available(resource):
                self.get(resource)
            else:
                unavailable.append(resource)
        return unavailable


# --- recipes: one per resource, following the client contract's request bodies ---------------
def contact_payload(s: Seeder) -> dict[str, Any]:
    return {
        "phone": _phone(),
        "name": s.text("Contato"),
        "email": f"c{next(_unique)}@example.com",
        "notes": s.text("notes"),
        "tags": [s.marker.lower()],
    }


def label_payload(s: Seeder) -> dict[str, Any]:
    return {"name": s.text("Label"), "color": "#123456", "description": s.text("label")}


def stage_payload(s: Seeder) -> dict[str, Any]:
    return {"name": s.text("Stage"), "color": "#654321"}


def deal_payload(s: Seeder) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": s.text("Deal"),
        "description": s.text("deal"),
        "value": "1500.00",
    }
    if s.available("contact"):
        body["contact_id"] = s.id("contact")
    if s.available("stage"):
        body["stage"] = s.id("stage")
    return body


def task_payload(s: Seeder) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": s.text("Task"),
        "description": s.text("task"),
        "priority": "high",
        "due_date": "2020-01-01T12:00:00Z",  # overdue, so /tasks/overdue lists it too
    }
    if s.available("contact"):
        body["contact_id"] = s.id("contact")
    if s.available("deal"):
        body["deal_id"] = s.id("deal")
    return body


def template_payload(s: Seeder) -> dict[str, Any]:
    return {"name": s.text("Template"), "category": "geral", "content": s.text("Olá {{nome}}")}


def conversation_payload(s: Seeder) -> dict[str, Any]:
    # One open conversation per contact: every new conversation needs its own contact.
    return {"contact_id": str(s.make("contact")["id"])}


def message_payload(s: Seeder) -> dict[str, Any]:
    return {"content": s.text("Mensagem"), "message_type": "text"}


def import_job_create(s: Seeder) -> dict[str, Any]:
    # Only an import above CONTACTS_IMPORT_ASYNC_ROWS becomes a background job with an id.
    try:
        from django.conf import settings

        threshold = settings.CONTACTS_IMPORT_ASYNC_ROWS
    except Exception:  # outside a configured Django process: the default threshold
        threshold = 2000
    rows = [{"phone": _phone(), "name": s.text("Import")} for _ in range(threshold + 1)]
    return s.post("/api/v1/contacts/import", {"contacts": rows, "dry_run": True}, "job")


def sync_module_create(s: Seeder) -> dict[str, Any]:
    """The caller's own module document; its "id" is the module name (not a secret: the
    document is per user, so another workspace's name finds nothing)."""
    module = "seeded_notes"
    body = {"data": [{"id": "item-1", "text": s.text("Nota")}, {"id": "item-2"}], "lastSync": 0}
    reply = s.call("post", f"/api/v1/sync/{module}", body)
    if reply.status != 200:
        raise SeedError(f"seeding POST /api/v1/sync/{module} -> {reply.status} {reply.text[:300]}")
    return {"id": module}


def sync_item_create(s: Seeder) -> dict[str, Any]:
    s.get("sync_module")
    return {"id": "item-1"}


def knowledge_create(s: Seeder) -> dict[str, Any]:
    knowledge = {"business": {"name": s.text("Loja")}, "faq": [{"id": "f1", "question": s.text("Q"), "answer": "A"}]}
    reply = s.call("post", "/api/v1/knowledge/sync", {"action": "sync", "knowledge": knowledge})
    if reply.status != 200:
        raise SeedError(f"seeding POST /api/v1/knowledge/sync -> {reply.status} {reply.text[:300]}")
    s.call("post", "/api/v1/examples/sync", {"examples": [{"id": "e1", "input": s.text("Oi"), "output": "Olá"}]})
    return {"id": "knowledge"}


def knowledge_item_payload(s: Seeder) -> dict[str, Any]:
    return {"type": "faq", "question": s.text("Pergunta"), "answer": s.text("Resposta")}


def webhook_payload(s: Seeder) -> dict[str, Any]:
    # ``.invalid`` never resolves (RFC 2606): accepted at save, and a delivery fails at once.
    return {"name": s.text("Webhook"), "url": "https://hooks.invalid/seed", "events": ["*"]}


def webhook_delivery_create(s: Seeder) -> dict[str, Any]:
    """The delivery a test send leaves in the webhook's log."""
    webhook_id = s.id("webhook")
    s.call("post", f"/api/v1/webhooks/{webhook_id}/test")
    reply = s.call("get", f"/api/v1/webhooks/{webhook_id}/deliveries")
    if reply.status != 200 or not reply.body["deliveries"]:
        raise SeedError(f"seeding a webhook delivery -> {reply.status} {reply.text[:300]}")
    return reply.body["deliveries"][0]


def own_workspace(s: Seeder) -> dict[str, Any]:
    """The caller's workspace (the public incoming-webhook URLs name it)."""
    return s.call("get", "/api/v1/auth/me").body["workspace"]


def _create(route: str, key: str, payload: Callable[[Seeder], dict[str, Any]]) -> Callable[[Seeder], dict]:
    return lambda s: s.post("/" + route, payload(s), key)


RECIPES: dict[str, Recipe] = {
    "import_job": Recipe("api/v1/contacts/import", import_job_create, costly=True),
    "contact": Recipe("api/v1/contacts", _create("api/v1/contacts", "contact", contact_payload), contact_payload),
    "label": Recipe("api/v1/crm/labels", _create("api/v1/crm/labels", "label", label_payload), label_payload),
    "stage": Recipe(
        "api/v1/crm/pipeline/stages",
        _create("api/v1/crm/pipeline/stages", "stage", stage_payload),
        stage_payload,
    ),
    "deal": Recipe("api/v1/crm/deals", _create("api/v1/crm/deals", "deal", deal_payload), deal_payload),
    "task": Recipe("api/v1/tasks", _create("api/v1/tasks", "task", task_payload), task_payload),
    "template": Recipe("api/v1/templates", _create("api/v1/templates", "template", template_payload), template_payload),
    "conversation": Recipe(
        "api/v1/conversations",
        _create("api/v1/conversations", "conversation", conversation_payload),
        conversation_payload,
        needs=("contact",),
    ),
    "message": Recipe(
        "api/v1/conversations/{pk}/messages",
        lambda s: s.post(f"/api/v1/conversations/{s.id('conversation')}/messages", message_payload(s), "message"),
        message_payload,
        needs=("conversation",),
    ),
    "sync_module": Recipe("api/v1/sync/{module}", sync_module_create),
    "sync_item": Recipe("api/v1/sync/{module}", sync_item_create, needs=("sync_module",)),
    "knowledge": Recipe("api/v1/knowledge/sync", knowledge_create),
    "knowledge_item": Recipe(
        "api/v1/ai/knowledge", _create("api/v1/ai/knowledge", "item", knowledge_item_payload), knowledge_item_payload
    ),
    "webhook": Recipe("api/v1/webhooks", _create("api/v1/webhooks", "webhook", webhook_payload), webhook_payload),
    "webhook_delivery": Recipe("api/v1/webhooks/{pk}/test", webhook_delivery_create, needs=("webhook",)),
    "workspace": Recipe("api/v1/auth/me", own_workspace),
}

# The model behind each resource (mass-assignment and snapshot checks read rows back).
RESOURCE_MODELS: dict[str, str] = {
    "import_job": "contacts.ContactImport",
    "contact": "contacts.Contact",
    "label": "crm.Label",
    "stage": "crm.PipelineStage",
    "deal": "crm.Deal",
    "task": "tasks.Task",
    "template": "templates_app.MessageTemplate",
    "conversation": "messaging.Conversation",
    "message": "messaging.Message",
    "knowledge_item": "ai.KnowledgeItem",
    "webhook": "webhooks.Webhook",
    "webhook_delivery": "webhooks.WebhookDelivery",
}
