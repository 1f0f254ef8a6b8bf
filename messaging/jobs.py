"""Background work for conversations (``django.tasks``; the worker is ``manage.py db_worker``)."""

from __future__ import annotations

from django.tasks import task

from messaging import services
from messaging.models import Conversation


@task()
def conversation_wake(*, workspace_id: str, conversation_id: str) -> bool:
    """Reopens a snoozed conversation once its snooze time has passed.

    Idempotent: a conversation that was woken, re-snoozed for later or changed meanwhile is left
    alone (a re-snooze enqueues its own wake-up). Returns whether it was reopened.
    """
    conversation = Conversation.objects.filter(workspace_id=workspace_id, pk=conversation_id).first()
    if conversation is None:
        return False
    return services.conversation_wake_if_due(conversation=conversation)
