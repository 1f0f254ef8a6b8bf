"""A stand-in for the extension's CRM and task storage: it builds the sync bodies exactly as
the extension does (client ids, camelCase, digits-only phones, epoch-ms ``lastUpdated``) and,
like the extension, replaces its local lists with what the reply returns."""

from __future__ import annotations

import datetime
import itertools
import random
import string
import time
from typing import Any

_counter = itertools.count(1)

DEFAULT_PIPELINE = {
    "id": "default",
    "name": "Pipeline de Vendas",
    "stages": [
        {"id": "new", "name": "Novo", "color": "#6b7280", "icon": "🆕", "order": 0},
        {"id": "lead", "name": "Lead", "color": "#3b82f6", "icon": "🎯", "order": 1},
        {"id": "contact", "name": "Contato", "color": "#8b5cf6", "icon": "📞", "order": 2},
        {"id": "proposal", "name": "Proposta", "color": "#f59e0b", "icon": "📄", "order": 3},
        {"id": "negotiation", "name": "Negociação", "color": "#ef4444", "icon": "🤝", "order": 4},
        {"id": "won", "name": "Ganho", "color": "#10b981", "icon": "🏆", "order": 5},
        {"id": "lost", "name": "Perdido", "color": "#374151", "icon": "❌", "order": 6},
    ],
}


def now_iso(offset_seconds: float = 0) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def client_id(prefix: str) -> str:
    rand = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
    return f"{prefix}_{int(time.time() * 1000)}{next(_counter)}_{rand}"


def contact(phone: str, name: str, **extra: Any) -> dict[str, Any]:
    stamp = now_iso()
    return {
        "id": client_id("contact"),
        "phone": phone,
        "name": name,
        "email": "",
        "company": "",
        "notes": "",
        "tags": [],
        "labels": [],
        "stage": "lead",
        "customFields": {},
        "status": "active",
        "source": "whatsapp",
        "createdAt": stamp,
        "updatedAt": stamp,
        **extra,
    }


def deal(contact_id: str, title: str, **extra: Any) -> dict[str, Any]:
    stamp = now_iso()
    return {
        "id": client_id("deal"),
        "contactId": contact_id,
        "title": title,
        "description": "",
        "value": 1500,
        "stage": "lead",
        "probability": 20,
        "tags": [],
        "customFields": {},
        "createdAt": stamp,
        "updatedAt": stamp,
        **extra,
    }


def task(phone: str, title: str, **extra: Any) -> dict[str, Any]:
    stamp = now_iso()
    return {
        "id": client_id("task"),
        "title": title,
        "description": "",
        "type": "follow_up",
        "priority": "medium",
        "status": "pending",
        "contactId": phone,
        "dueDate": now_iso(86400),
        "reminderDate": None,
        "tags": [],
        "createdAt": stamp,
        "updatedAt": stamp,
        "completedAt": None,
        **extra,
    }


class Browser:
    """One browser profile of a user: its local storage and its sync calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.contacts: list[dict[str, Any]] = []
        self.deals: list[dict[str, Any]] = []
        self.pipeline: dict[str, Any] = {**DEFAULT_PIPELINE, "stages": [dict(s) for s in DEFAULT_PIPELINE["stages"]]}
        self.labels: dict[str, Any] = {
            "labels": [{"id": "vip", "name": "VIP", "color": "#fbbf24", "icon": "⭐"}],
            "contactLabels": {},
            "settings": {"showInChat": True},
            "lastUpdated": int(time.time() * 1000),
        }
        self.tasks: list[dict[str, Any]] = []
        self.last_sync: Any = None

    def body(self) -> dict[str, Any]:
        return {
            "contacts": self.contacts,
            "deals": self.deals,
            "pipeline": self.pipeline,
            "labels": self.labels,
            "contactLabels": self.labels["contactLabels"],
            "lastSync": self.last_sync,
        }

    def sync(self) -> dict[str, Any]:
        reply = self.client.post("/api/v1/crm/sync", self.body(), format="json")
        assert reply.status_code == 200, reply.content[:500]
        body = reply.json()
        assert next(iter(body)) == "success" and body["success"] is True
        data = body["data"]
        self.contacts, self.deals = data["contacts"], data["deals"]
        if data["pipeline"] is not None:
            self.pipeline = data["pipeline"]
        if data["labels"]["lastUpdated"] > self.labels["lastUpdated"]:
            self.labels = data["labels"]
        self.last_sync = data["lastSync"]
        return body

    def sync_tasks(self) -> dict[str, Any]:
        reply = self.client.post("/api/v1/tasks/sync", {"tasks": self.tasks}, format="json")
        assert reply.status_code == 200, reply.content[:500]
        body = reply.json()
        assert next(iter(body)) == "success" and body["success"] is True
        self.tasks = body["data"]["tasks"]
        return body

    def edit(self, collection: str, object_id: str, **changes: Any) -> dict[str, Any]:
        """A local edit, stamped like the extension stamps one."""
        for item in getattr(self, collection):
            if item["id"] == object_id:
                item.update(changes, updatedAt=now_iso(1))
                return item
        raise KeyError(object_id)
