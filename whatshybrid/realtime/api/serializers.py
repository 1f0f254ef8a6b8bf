from __future__ import annotations

from rest_framework import serializers

from whatshybrid.realtime.models import Event

MAX_SEQ = 2**63 - 1


class EventFeedQuerySerializer(serializers.Serializer):
    # Bounded by the database's 64-bit integer: a larger number would overflow inside the query.
    after = serializers.IntegerField(min_value=0, max_value=MAX_SEQ, required=False, default=0)
    cursor = serializers.IntegerField(
        min_value=0, max_value=MAX_SEQ, required=False, help_text="The previous page's next_cursor."
    )


class EventSerializer(serializers.ModelSerializer):
    """The same shape as a live websocket frame: ``{seq, event, data, ts}``."""

    event = serializers.CharField(source="name")
    data = serializers.JSONField(source="payload")
    ts = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Event
        fields = ["seq", "event", "data", "ts"]
        read_only_fields = fields


class EventFeedSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    limit = serializers.IntegerField()
    next_cursor = serializers.CharField(allow_null=True)
    has_more = serializers.BooleanField()
    last_seq = serializers.IntegerField(
        help_text="The workspace's newest seq: pass as `resume_from` on a socket, or as `after` once `has_more` is false."
    )
