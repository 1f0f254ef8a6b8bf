from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from whatshybrid.api.pagination import parse_limit
from whatshybrid.api.views import WorkspaceAPIView
from whatshybrid.realtime import selectors
from whatshybrid.realtime.api.serializers import EventFeedQuerySerializer, EventFeedSerializer, EventSerializer


class EventFeedView(WorkspaceAPIView):
    """The changes feed: events after a sequence number, for clients that were offline."""

    @extend_schema(
        parameters=[
            EventFeedQuerySerializer,
            OpenApiParameter("limit", int, description=f"1..{settings.PAGE_SIZE_MAX}, clamped."),
        ],
        responses={200: EventFeedSerializer},
        tags=["events"],
    )
    def get(self, request: Request) -> Response:
        query = EventFeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after = query.validated_data.get("cursor", query.validated_data["after"])
        limit = parse_limit(request, default=settings.PAGE_SIZE_DEFAULT, maximum=settings.PAGE_SIZE_MAX)
        # The newest seq is read first and bounds the page: every number up to it has committed
        # (a seq is visible only after all lower ones), so after a last page (no ``has_more``)
        # ``after=last_seq`` misses nothing, and a client ahead of the log is not echoed back.
        newest = selectors.workspace_last_seq(workspace_id=request.workspace.pk)
        events, has_more = selectors.event_page_after(
            workspace_id=request.workspace.pk, after=after, until=newest, limit=limit
        )
        return Response(
            {
                "events": EventSerializer(events, many=True).data,
                "limit": limit,
                "next_cursor": str(events[-1].seq) if has_more else None,
                "has_more": has_more,
                "last_seq": newest,
            }
        )
