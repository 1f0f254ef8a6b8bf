"""The extension's module documents (``/sync/<module>``): one opaque JSON document per user,
workspace and module, merged by the spec's rules when two browsers wrote in between."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from settings_app.models import ModuleDocument
from whatshybrid.api.bodies import epoch_ms, invalid, json_size, moment_from, read_list, read_object
from whatshybrid.api.errors import ApplicationError, NotFoundError
from whatshybrid.api.serializers import instant_text

MODULE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EVENTS_MODULE = "ai_memory_events"
MAX_EVENTS_KEPT = 1000
_EPOCH = moment_from(0)


def now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def check_module(module: str) -> str:
    if not MODULE_NAME.match(module):
        raise NotFoundError("Unknown module.", errors={"module": ["Letters, digits, _ and - (at most 64)."]})
    return module


def check_size(data: Any, what: str) -> None:
    limit = settings.SYNC_DOCUMENT_MAX_BYTES
    size = json_size(data, "data")
    if size > limit:
        raise ApplicationError(
            f"The {what} document is too large ({size} bytes; at most {limit}).",
            code="PAYLOAD_TOO_LARGE",
            status_code=413,
            errors={"data": [f"At most {limit} bytes."]},
        )


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        for key in ("id", "key"):
            if isinstance(item.get(key), (str, int)) and not isinstance(item.get(key), bool):
                return (key, item[key])
    return None


def _updated(item: dict[str, Any]) -> Any:
    return moment_from(item.get("updatedAt")) or _EPOCH


def merge_documents(server: Any, client: Any) -> Any:
    """Lists of objects merge by ``id`` (or ``key``), the newer ``updatedAt`` winning (the
    client's on a tie); objects merge key by key, the client winning; anything else: the client."""
    if isinstance(server, dict) and isinstance(client, dict):
        merged = dict(server)
        for key, value in client.items():
            merged[key] = merge_documents(server[key], value) if key in server else value
        return merged
    if isinstance(server, list) and isinstance(client, list):
        if not all(_identity(item) is not None for item in [*server, *client]):
            return client
        by_id = {_identity(item): item for item in server}
        merged = []
        for item in client:
            theirs = by_id.pop(_identity(item), None)
            merged.append(theirs if theirs is not None and _updated(theirs) > _updated(item) else item)
        return merged + list(by_id.values())
    return client


def _lastsync(body: dict[str, Any]) -> int:
    raw = body.get("lastSync")
    if raw in (None, "", 0):
        return 0
    value = epoch_ms(raw)
    if value is None:
        raise invalid("lastSync", "Must be epoch milliseconds.")
    return value


@transaction.atomic
def module_document_sync(*, workspace: Workspace, user: User, module: str, body: Any) -> dict[str, Any]:
    """Stores the client's copy, or the merge when the server's changed after ``lastSync``."""
    module = check_module(module)
    body = read_object(body, "body")
    if body.get("data") is None:
        raise invalid("data", "Required.")
    data, last_sync = body["data"], _lastsync(body)
    check_size(data, module)
    document = ModuleDocument.objects.select_for_update().filter(workspace=workspace, user=user, module=module).first()
    merge_needed = document is not None and document.data is not None and document.last_modified > last_sync
    stored = merge_documents(document.data, data) if merge_needed else data
    check_size(stored, module)
    if document is None:
        document = ModuleDocument(workspace=workspace, user=user, module=module)
    if document._state.adding or document.data != stored:
        document.data, document.last_modified = stored, max(now_ms(), document.last_modified + 1)
        document.save()
    return {
        "module": module,
        "lastModified": document.last_modified,
        "mergeNeeded": merge_needed,
        "data": stored if merge_needed else None,
    }


def module_document_download(*, workspace: Workspace, user: User, module: str) -> dict[str, Any]:
    document = ModuleDocument.objects.filter(workspace=workspace, user=user, module=check_module(module)).first()
    return {"data": document.data if document else None, "lastModified": document.last_modified if document else 0}


def module_documents_status(*, workspace: Workspace, user: User) -> dict[str, Any]:
    documents = ModuleDocument.objects.filter(workspace=workspace, user=user).order_by("module")
    return {
        document.module: {"lastModified": document.last_modified, "updatedAt": instant_text(document.updated_at)}
        for document in documents
    }


def _without(data: Any, item_id: str) -> Any:
    if isinstance(data, list):
        return [item for item in data if _identity(item) is None or str(_identity(item)[1]) != item_id]
    if isinstance(data, dict):
        return {key: _without(value, item_id) for key, value in data.items() if key != item_id}
    return data


@transaction.atomic
def module_document_item_delete(*, workspace: Workspace, user: User, module: str, item_id: str) -> int:
    """Removes the item ``item_id`` (by ``id``/``key``) from the document; returns how many went."""
    rows = ModuleDocument.objects.select_for_update().filter(workspace=workspace, user=user)
    document = rows.filter(module=check_module(module)).first()
    if document is None:
        raise NotFoundError("The module has no document.")
    remaining = _without(document.data, item_id)
    removed = json_size(document.data) != json_size(remaining)
    if removed:
        document.data, document.last_modified = remaining, max(now_ms(), document.last_modified + 1)
        document.save()
    return int(removed)


@transaction.atomic
def module_document_delete(*, workspace: Workspace, user: User, module: str) -> bool:
    deleted, _ = ModuleDocument.objects.filter(workspace=workspace, user=user, module=check_module(module)).delete()
    return bool(deleted)


@transaction.atomic
def memory_events_append(*, workspace: Workspace, user: User, body: Any) -> int:
    """Keeps the newest ``MAX_EVENTS_KEPT`` AI memory events of the user as a module document."""
    body = read_object(body, "body")
    events = read_list(body.get("events"), "events", max_items=MAX_EVENTS_KEPT)
    for index, event in enumerate(events):
        read_object(event, f"events[{index}]")
    document, _ = ModuleDocument.objects.select_for_update().get_or_create(
        workspace=workspace, user=user, module=EVENTS_MODULE, defaults={"data": []}
    )
    if not events:
        return 0
    kept = [*(document.data if isinstance(document.data, list) else []), *events][-MAX_EVENTS_KEPT:]
    check_size(kept, EVENTS_MODULE)
    document.data, document.last_modified = kept, max(now_ms(), document.last_modified + 1)
    document.save()
    return len(events)
