"""Webhook delivery jobs (``django.tasks``; the worker is ``manage.py db_worker``)."""

from __future__ import annotations

from django.tasks import task

from webhooks import delivery


@task()
def webhook_deliver_job(*, delivery_ids: list[str]) -> int:
    """Sends these deliveries if they are still due and unclaimed; idempotent (a repeat finds
    them claimed or done). Enqueued after the event commits, and at each retry's time."""
    return delivery.deliveries_send(ids=delivery_ids)


@task()
def webhook_deliver_due_job() -> int:
    """The periodic sweep: every due delivery, also those whose worker died mid-attempt."""
    return delivery.deliveries_send_due()
