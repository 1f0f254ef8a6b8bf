"""Sending the outbox: claim due deliveries, POST each through the guarded client, log it.

A claim is a lease (``claimed_until``, ``WEBHOOK_CLAIM_SECONDS`` past the attempt's timeouts):
a worker killed mid-delivery leaves its rows claimed until the lease runs out, then the sweep
(``webhooks.deliver_due``, periodic) takes them over. Delivery is at least once; the stable
``webhook-id`` lets the receiver drop a repeat. Every time is an explicit ``now`` so retries and
disabling are tested with a controllable clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from webhooks.models import Webhook, WebhookDelivery, WebhookLog
from webhooks.services import event_body, webhook_disable, webhook_signing_secrets
from webhooks.signing import delivery_headers
from whatshybrid import http
from whatshybrid.jobs import enqueue_on_commit

EXCERPT_BYTES = 4096
GONE = 410


@dataclass(frozen=True)
class Outcome:
    success: bool
    status_code: int | None
    duration_ms: int
    excerpt: str = ""
    error_class: str = ""
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "status_code": self.status_code,
            "duration_ms": self.duration_ms,
            "error": self.error or None,
        }


def message_id(delivery: WebhookDelivery) -> str:
    return f"msg_{delivery.pk.hex}"


def send(*, webhook: Webhook, delivery: WebhookDelivery, now: datetime) -> Outcome:
    """One signed POST. Only 2xx succeeds; a 3xx is not followed; an unreachable, refused or
    slow target is an outcome, never an exception."""
    headers = {
        **webhook.headers,
        "Content-Type": "application/json",
        **delivery_headers(
            secrets_=webhook_signing_secrets(webhook, now=now),
            message_id=message_id(delivery),
            timestamp=now,
            body=delivery.body,
        ),
    }
    started = time.monotonic()
    try:
        response = http.request(
            "POST",
            webhook.url,
            data=delivery.body.encode(),
            headers=headers,
            connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT,
            timeout=settings.WEBHOOK_TIMEOUT,
        )
    except http.OutgoingHTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(False, None, elapsed, error_class=type(exc).__name__, error=exc.message[:500])
    elapsed = int((time.monotonic() - started) * 1000)
    excerpt = response.body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    if response.ok:
        return Outcome(True, response.status, elapsed, excerpt)
    kind = "Redirect" if 300 <= response.status < 400 else "HTTPStatus"
    return Outcome(False, response.status, elapsed, excerpt, kind, f"The receiver answered {response.status}.")


def retry_delay(attempt: int) -> timedelta | None:
    """The wait after failed attempt number ``attempt`` (1-based), jittered; None: give up."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempt > len(schedule):
        return None
    spread = settings.WEBHOOK_RETRY_JITTER
    return timedelta(seconds=schedule[attempt - 1] * random.uniform(1 - spread, 1 + spread))


def _due(now: datetime) -> Any:
    return WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
        webhook__active=True,
    )


def deliveries_claim(
    *, now: datetime, ids: Iterable[str] | None = None, limit: int | None = None
) -> list[WebhookDelivery]:
    """Takes up to ``limit`` due deliveries for this worker (rows another worker holds are
    skipped, not waited for)."""
    limit = limit or settings.WEBHOOK_BATCH_SIZE
    with transaction.atomic():
        due = _due(now)
        if ids is not None:
            due = due.filter(pk__in=list(ids))
        claimed = list(
            due.order_by("next_attempt_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=claimed).update(
            claimed_until=now + timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS)
        )
    return list(WebhookDelivery.objects.filter(pk__in=claimed).select_related("webhook").order_by("next_attempt_at"))


def _log_row(delivery: WebhookDelivery, outcome: Outcome, *, next_at: datetime | None, now: datetime) -> WebhookLog:
    return WebhookLog(
        delivery=delivery,
        webhook_id=delivery.webhook_id,
        workspace_id=delivery.workspace_id,
        attempt=delivery.attempts + 1,
        success=outcome.success,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.excerpt,
        error_class=outcome.error_class,
        error=outcome.error,
        next_attempt_at=next_at,
        created_at=now,
    )


def _settle(delivery: WebhookDelivery, outcome: Outcome, webhook: Webhook, now: datetime) -> dict[str, Any]:
    """What one attempt means for its delivery: done, retry later, give up, or disable the
    webhook (410 Gone, or every attempt failing for ``WEBHOOK_DISABLE_AFTER_SECONDS``)."""
    failing_for = now - (webhook.failing_since or now)
    disable_reason = ""
    if not outcome.success and outcome.status_code == GONE:
        disable_reason = "The receiver answered 410 Gone."
    elif not outcome.success and failing_for >= timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS):
        disable_reason = f"Every delivery failed for {failing_for.days} days."
    delay = None if outcome.success or disable_reason else retry_delay(delivery.attempts + 1)
    next_at = now + delay if delay is not None else None
    if outcome.success:
        status = WebhookDelivery.Status.SUCCEEDED
    else:
        status = WebhookDelivery.Status.PENDING if next_at else WebhookDelivery.Status.FAILED
    return {"status": status, "next_attempt_at": next_at, "disable_reason": disable_reason}


@transaction.atomic
def deliveries_finish(*, results: list[tuple[WebhookDelivery, Outcome]], now: datetime) -> None:
    """Records a batch of attempts in one transaction (one log row each) and settles each."""
    webhooks = {
        webhook.pk: webhook
        for webhook in Webhook.objects.select_for_update().filter(pk__in={d.webhook_id for d, _ in results})
    }
    failing_before = {pk: webhook.failing_since for pk, webhook in webhooks.items()}
    logs, disable = [], {}
    # Successes (the common case) settle in one UPDATE per claim; failures row by row.
    succeeded: dict[tuple[datetime | None, int | None], list[WebhookDelivery]] = {}
    for delivery, outcome in results:
        if outcome.success:
            succeeded.setdefault((delivery.claimed_until, outcome.status_code), []).append(delivery)
            webhooks[delivery.webhook_id].failing_since = None
            logs.append(_log_row(delivery, outcome, next_at=None, now=now))
    for (claimed_until, status_code), rows in succeeded.items():
        WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows], claimed_until=claimed_until).update(
            attempts=F("attempts") + 1,
            status=WebhookDelivery.Status.SUCCEEDED,
            next_attempt_at=None,
            claimed_until=None,
            last_status_code=status_code,
            last_error="",
            delivered_at=now,
            updated_at=now,
        )
    for delivery, outcome in results:
        if outcome.success:
            continue
        webhook = webhooks[delivery.webhook_id]
        settled = _settle(delivery, outcome, webhook, now)
        # Only the holder of this claim writes: a worker whose claim ran out (another worker
        # took the row over) must not overwrite the newer attempt; its attempt is still logged.
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, attempts=delivery.attempts, claimed_until=delivery.claimed_until
        ).update(
            attempts=delivery.attempts + 1,
            status=settled["status"],
            next_attempt_at=settled["next_attempt_at"],
            claimed_until=None,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            delivered_at=now if outcome.success else None,
            updated_at=now,
        )
        logs.append(_log_row(delivery, outcome, next_at=settled["next_attempt_at"] if updated else None, now=now))
        if not updated:
            continue
        if webhook.failing_since is None:
            webhook.failing_since = now
        if settled["next_attempt_at"] is not None:
            enqueue_on_commit("webhooks.deliver", run_after=settled["next_attempt_at"], delivery_ids=[str(delivery.pk)])
        if settled["disable_reason"]:
            disable[webhook.pk] = settled["disable_reason"]
    WebhookLog.objects.bulk_create(logs)
    for pk, webhook in webhooks.items():
        if webhook.failing_since != failing_before[pk]:
            Webhook.objects.filter(pk=pk).update(failing_since=webhook.failing_since)
    for pk, reason in disable.items():
        webhook_disable(webhook=webhooks[pk], reason=reason, now=now)


def deliveries_send(*, ids: Iterable[str] | None = None, now: datetime | None = None, limit: int | None = None) -> int:
    """Claims due deliveries (``ids``: only those), sends them ``WEBHOOK_CONCURRENCY`` at a time
    (one receiver sees them in no set order) and records the batch; returns how many."""
    claimed = deliveries_claim(now=now or timezone.now(), ids=ids, limit=limit)
    if not claimed:
        return 0

    def attempt(delivery: WebhookDelivery) -> tuple[WebhookDelivery, Outcome]:
        return delivery, send(webhook=delivery.webhook, delivery=delivery, now=now or timezone.now())

    workers = min(settings.WEBHOOK_CONCURRENCY, len(claimed))
    if workers <= 1:
        results = [attempt(delivery) for delivery in claimed]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
            results = list(pool.map(attempt, claimed))
    deliveries_finish(results=results, now=now or timezone.now())
    return len(claimed)


def deliveries_send_due(*, now: datetime | None = None) -> int:
    """The sweep: every due delivery, batch after batch, for at most one claim lease."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < settings.WEBHOOK_CLAIM_SECONDS / 2:
        sent = deliveries_send(now=now)
        total += sent
        if sent == 0:
            break
    return total


@transaction.atomic
def _test_delivery(webhook: Webhook, now: datetime) -> WebhookDelivery:
    data = {"webhook_id": str(webhook.pk), "message": "A test event from WhatsHybrid."}
    return WebhookDelivery.objects.create(
        workspace_id=webhook.workspace_id,
        webhook=webhook,
        event_type="webhook.test",
        body=event_body(event_type="webhook.test", workspace_id=webhook.workspace_id, data=data, timestamp=now),
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=None,
    )


def webhook_test(*, webhook: Webhook, now: datetime | None = None) -> Outcome:
    """Sends a signed ``webhook.test`` now and logs it; never retried, never disables."""
    now = now or timezone.now()
    delivery = _test_delivery(webhook, now)
    outcome = send(webhook=webhook, delivery=delivery, now=now)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=1,
            status=WebhookDelivery.Status.SUCCEEDED if outcome.success else WebhookDelivery.Status.FAILED,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            delivered_at=now if outcome.success else None,
        )
        _log_row(delivery, outcome, next_at=None, now=now).save()
    return outcome
