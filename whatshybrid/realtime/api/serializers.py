from __future__ import annotations

from rest_framework import serializers

from whatshybrid.realtime.models import Event


class EventFeedQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, required=False, default=0)
    cursor = serializers.IntegerField(min_value=0, required=False, help_text="The previous page's next_cursor.")


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
    last_seq = serializers.IntegerField(help_text="Pass as `after` next time (or `resume_from` on a socket).")
