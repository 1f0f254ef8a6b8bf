"""``Idempotency-Key`` on POST: same key + same body replays; different body 422; in flight 409.

The record is claimed with a unique insert before the view runs (so a concurrent duplicate
loses the race cleanly) and filled with the response afterwards. Server errors release the
claim so the client's retry can run the request for real.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import encoders

from whatshybrid.api.errors import ApplicationError
from whatshybrid.api.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass
class IdempotentReplay(Exception):
    status_code: int
    body: Any


def _request_hash(request: Request) -> str:
    try:
        payload = json.dumps(request.data, sort_keys=True, default=str)
    except TypeError:
        payload = repr(request.data)
    # path_info: "/x/" and "/x" are the same endpoint (the trailing slash is tolerated).
    return hashlib.sha256(f"{request.method} {request.path_info}\n{payload}".encode()).hexdigest()


def idempotency_begin(request: Request) -> IdempotencyRecord | None:
    """Claims the key, or raises a replay / conflict. None when the request carries no key."""
    key = request.headers.get("Idempotency-Key", "").strip()
    workspace = getattr(request, "workspace", None)
    if request.method != "POST" or not key or workspace is None:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise ApplicationError(
            f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.", code="IDEMPOTENCY_KEY_INVALID"
        )
    request_hash = _request_hash(request)
    now = timezone.now()
    # Expired keys are free again; so is a claim whose request died with its process (a
    # crash there never reached finalize_response and would otherwise block retries for 24 h).
    IdempotencyRecord.objects.filter(workspace=workspace, key=key).filter(
        Q(created_at__lt=now - settings.IDEMPOTENCY_TTL)
        | Q(status_code__isnull=True, created_at__lt=now - settings.IDEMPOTENCY_LOCK_TIMEOUT)
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                workspace=workspace,
                key=key,
                method=request.method,
                path=request.path_info[:500],
                request_hash=request_hash,
            )
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(workspace=workspace, key=key).first()
    if existing is None:  # released between our insert and read: the other request failed
        raise ApplicationError(
            "A request with this Idempotency-Key is in progress.", code="IDEMPOTENCY_IN_PROGRESS", status_code=409
        )
    if existing.request_hash != request_hash:
        raise ApplicationError(
            "This Idempotency-Key was already used with a different request.",
            code="IDEMPOTENCY_KEY_REUSED",
            status_code=422,
        )
    if existing.status_code is None:
        raise ApplicationError(
            "A request with this Idempotency-Key is in progress.", code="IDEMPOTENCY_IN_PROGRESS", status_code=409
        )
    raise IdempotentReplay(existing.status_code, existing.response_body)


def idempotency_release(record: IdempotencyRecord) -> None:
    """Forgets an unfinished claim, so a retry with the same key runs the request again."""
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def idempotency_finish(record: IdempotencyRecord, response: Response) -> None:
    if response.status_code >= 500 or response.status_code == 409:
        idempotency_release(record)
        return
    record.status_code = response.status_code
    # Stored exactly as the client received it: the renderer's encoder turns UUIDs, decimals
    # and datetimes into JSON, which the plain JSONField encoder would refuse after the fact.
    record.response_body = json.loads(json.dumps(getattr(response, "data", None), cls=encoders.JSONEncoder))
    record.save(update_fields=["status_code", "response_body"])


def idempotency_prune(*, older_than: timedelta | None = None) -> int:
    cutoff = timezone.now() - (older_than or settings.IDEMPOTENCY_TTL)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
