"""Reads of the AI app: usage history and knowledge items."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Workspace
from ai.models import AIConversation, AIFeedback, KnowledgeItem
from ai.search import search

MAX_DAYS = 366


def ai_usage(*, workspace: Workspace, days: int) -> dict[str, Any]:
    """Per day and model: calls, tokens and credits of the last ``days`` days, and their totals
    (feedback included: how many suggestions were rated, and how well)."""
    since = timezone.now() - timedelta(days=days)
    calls = AIConversation.objects.filter(workspace=workspace, created_at__gte=since)
    sums = {
        "requests": Count("id"),
        "succeeded": Count("id", filter=Q(status=AIConversation.Status.SUCCEEDED)),
        "tokens": Sum("total_tokens", default=0),
        "credits": Sum("credits_used", default=0),
    }
    rows = (
        calls.annotate(day=TruncDate("created_at"))
        .values("day", "model", "provider")
        .annotate(**sums)
        .order_by("day", "model", "provider")
    )
    usage = [{**row, "day": row["day"].isoformat()} for row in rows]
    by_provider = {
        row.pop("provider") or "none": row for row in calls.values("provider").annotate(**sums).order_by("provider")
    }
    totals = calls.aggregate(**sums)
    feedback = AIFeedback.objects.filter(workspace=workspace, created_at__gte=since).aggregate(
        count=Count("id"), average_rating=Avg("rating")
    )
    return {"usage": usage, "summary": {**totals, "by_provider": by_provider, "feedback": feedback}, "days": days}


def knowledge_items(*, workspace: Workspace, types: list[str] | None = None, q: str = "") -> QuerySet[KnowledgeItem]:
    items = KnowledgeItem.objects.filter(workspace=workspace)
    if types:
        items = items.filter(type__in=types)
    if q:
        ranked = [item.pk for item, _score in search(workspace_id=workspace.pk, text=q, limit=200, ids_only=True)]
        items = items.filter(pk__in=ranked)
    return items.order_by("type", "title", "id")
