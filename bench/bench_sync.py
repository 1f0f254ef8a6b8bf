"""The extension's CRM sync: ``POST /api/v1/crm/sync`` with N contacts and N deals (the body the
extension sends: client ids, camelCase, digits-only phones), served by uvicorn over its own
database. Target: under 5 s for 5,000 + 5,000 (the first sync, which creates everything).

Beside it, measured in the same run on the same server: the REST import (``POST
/api/v1/contacts/import``, JSON, synchronous) of the same N contacts into another workspace, and
the second, unchanged sync (which writes nothing).
"""

from __future__ import annotations

import time
from typing import Any

import requests

from bench.common import LiveServer, Result, isolated_database, register

LIMIT_SECONDS = 5.0


def _body(count: int) -> dict[str, Any]:
    stamp = "2026-12-01T12:00:00.000Z"
    contacts = [
        {
            "id": f"contact_1764590400000_{i:05d}",
            "phone": f"55119{i:08d}",
            "name": f"Cliente {i}",
            "email": f"cliente{i}@example.com",
            "company": f"Loja {i % 97}",
            "notes": "",
            "tags": ["lead"],
            "labels": [],
            "stage": "lead",
            "customFields": {},
            "status": "active",
            "source": "whatsapp",
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        for i in range(count)
    ]
    deals = [
        {
            "id": f"deal_1764590400000_{i:05d}",
            "contactId": contacts[i]["id"],
            "title": f"Venda {i}",
            "description": "",
            "value": 100 + i,
            "stage": ("lead", "proposal", "won")[i % 3],
            "probability": 20,
            "tags": [],
            "customFields": {},
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        for i in range(count)
    ]
    return {"contacts": contacts, "deals": deals, "labels": {"labels": [], "lastUpdated": 1764590400000}}


def _timed_post(url: str, token: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    response = requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, response.json()


def run(quick: bool) -> list[Result]:
    count = 1_000 if quick else 5_000
    body = _body(count)
    env = {"RATELIMIT_ENABLE": "0", "CONTACTS_IMPORT_ASYNC_ROWS": str(count + 1), "LOG_LEVEL": "WARNING"}
    with isolated_database("sync") as db, LiveServer({**db, **env}) as server:
        syncer = register(server.url, "sync@example.com")["accessToken"]
        importer = register(server.url, "import@example.com")["accessToken"]
        first, reply = _timed_post(f"{server.url}/api/v1/crm/sync", syncer, body)
        assert len(reply["data"]["contacts"]) == count and len(reply["data"]["deals"]) == count
        again, _ = _timed_post(f"{server.url}/api/v1/crm/sync", syncer, body)
        rows = [{"phone": c["phone"], "name": c["name"], "email": c["email"]} for c in body["contacts"]]
        imported, report = _timed_post(f"{server.url}/api/v1/contacts/import", importer, {"contacts": rows})
        assert report["results"]["created"] == count, report["results"]
    print(
        f"bench_sync: {count} contacts + {count} deals: first sync {first:.2f} s, unchanged sync {again:.2f} s; "
        f"REST import of the {count} contacts {imported:.2f} s"
    )
    return [
        Result(
            f"crm sync {count}+{count} (first) vs REST import of the contacts",
            first,
            imported,
            "s",
            f"< {LIMIT_SECONDS:.0f} s",
            first < LIMIT_SECONDS,
        ),
        Result(
            f"crm sync {count}+{count} (unchanged) vs REST import of the contacts",
            again,
            imported,
            "s",
            f"< {LIMIT_SECONDS:.0f} s",
            again < LIMIT_SECONDS,
        ),
    ]
