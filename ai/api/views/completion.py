"""AI calls, credits, usage and provider keys; shapes in docs/ai.md."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ai import completion, credits, keys, selectors, suggestions
from whatshybrid.api.errors import ApplicationError, FieldInvalid
from whatshybrid.api.params import parse_int
from whatshybrid.api.permissions import MANAGER_ROLES
from whatshybrid.api.throttling import AIRateThrottle, GeneralRateThrottle
from whatshybrid.api.views import WorkspaceAPIView

_MESSAGE = inline_serializer(
    name="AIMessage",
    fields={
        "role": serializers.ChoiceField(choices=sorted(completion.ROLES)),
        "content": serializers.CharField(allow_blank=True),
    },
)
AICompleteInputSerializer = inline_serializer(
    name="AICompleteInput",
    fields={
        "messages": serializers.ListField(child=_MESSAGE, min_length=1),
        "model": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100),
        "temperature": serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=2),
        "maxTokens": serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=settings.AI_MAX_TOKENS
        ),
        "max_tokens": serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=settings.AI_MAX_TOKENS
        ),
        "chatId": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200),
        "requestId": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255),
        "use_knowledge": serializers.BooleanField(required=False, allow_null=True),
    },
)
_USAGE = inline_serializer(
    name="AIUsageTokens",
    fields={name: serializers.IntegerField() for name in ("prompt_tokens", "completion_tokens", "total_tokens")},
)
AICompleteReplySerializer = inline_serializer(
    name="AICompleteReply",
    fields={
        "content": serializers.CharField(),
        "text": serializers.CharField(),
        "model": serializers.CharField(),
        "provider": serializers.CharField(),
        "usage": _USAGE,
        "credits_used": serializers.IntegerField(),
        "credits_remaining": serializers.IntegerField(),
        "citations": serializers.ListField(child=serializers.CharField()),
        "requestId": serializers.CharField(allow_null=True),
        "interactionId": serializers.CharField(),
    },
)
AICreditsSerializer = inline_serializer(
    name="AICredits",
    fields={
        "credits": serializers.IntegerField(),
        "balance": serializers.IntegerField(),
        "reserved": serializers.IntegerField(),
        "plan": serializers.CharField(),
    },
)
AIUsageSerializer = inline_serializer(
    name="AIUsage",
    fields={
        "usage": serializers.ListField(child=serializers.DictField()),
        "summary": serializers.DictField(),
        "days": serializers.IntegerField(),
    },
)
_COMPATIBLE_INPUT = inline_serializer(
    name="AICompatibleServerInput",
    fields={
        "base_url": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500),
        "api_key": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500),
    },
    required=False,
    allow_null=True,
)
AIKeysInputSerializer = inline_serializer(
    name="AIKeysInput",
    fields={
        **{
            name: serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
            for name in ("openai", "anthropic", "groq")
        },
        "openai_compatible": _COMPATIBLE_INPUT,
        "default_model": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100),
    },
)
AIKeysSerializer = inline_serializer(name="AIKeys", fields={"keys": serializers.DictField()})
DAYS_DEFAULT = 30


class AICompleteView(WorkspaceAPIView):
    throttle_classes = [GeneralRateThrottle, AIRateThrottle]
    runs_long = True  # waits on the AI provider: whatshybrid.wsgi_bridge

    @extend_schema(request=AICompleteInputSerializer, responses={200: AICompleteReplySerializer}, tags=["ai"])
    def post(self, request: Request) -> Response:
        """One completion; see docs/ai.md for the accepted bodies, credits and errors."""
        body = completion.read_completion_body(
            request.data, idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:255]
        )
        reply = completion.ai_complete(workspace=request.workspace, user=request.user, request=body)
        return Response(reply)


class AICreditsView(WorkspaceAPIView):
    @extend_schema(responses={200: AICreditsSerializer}, tags=["ai"])
    def get(self, request: Request) -> Response:
        return Response(credits.credits_summary(workspace=request.workspace))


class AIUsageView(WorkspaceAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("days", str, description="Days back, 1-366; any other value means 30.")],
        responses={200: AIUsageSerializer},
        tags=["ai"],
    )
    def get(self, request: Request) -> Response:
        try:  # lenient by contract: a bad value is the default, not a 400
            days = parse_int(request.query_params.get("days", ""), name="days", minimum=1, maximum=selectors.MAX_DAYS)
        except FieldInvalid:
            days = DAYS_DEFAULT
        return Response(selectors.ai_usage(workspace=request.workspace, days=days))


class AIKeysView(WorkspaceAPIView):
    write_roles = MANAGER_ROLES
    # Reads too (an APIView's action is None): even the last four characters are for managers.
    role_requirements = {None: MANAGER_ROLES}

    @extend_schema(responses={200: AIKeysSerializer}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return Response({"keys": keys.ai_keys_view(workspace=request.workspace)})

    @extend_schema(request=AIKeysInputSerializer, responses={200: AIKeysSerializer}, tags=["settings"])
    def put(self, request: Request) -> Response:
        keys.ai_keys_update(workspace=request.workspace, body=request.data)
        return Response({"keys": keys.ai_keys_view(workspace=request.workspace)})

    patch = put


AIProcessInputSerializer = inline_serializer(
    name="AIProcessInput",
    fields={
        "chatId": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200),
        "message": serializers.CharField(max_length=suggestions.MAX_MESSAGE_CHARS),
        "language": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=20),
        "businessRules": serializers.ListField(
            child=serializers.CharField(allow_blank=True, max_length=1000),
            required=False,
            allow_null=True,
            max_length=50,
        ),
    },
)
AIProcessReplySerializer = inline_serializer(
    name="AIProcessReply",
    fields={
        "success": serializers.BooleanField(),
        "response": serializers.CharField(),
        "metadata": inline_serializer(
            name="AIProcessMetadata",
            fields={
                "interactionId": serializers.CharField(),
                "intent": serializers.CharField(),
                "qualityScore": serializers.FloatField(),
            },
        ),
    },
)
AIFeedbackInputSerializer = inline_serializer(
    name="AIFeedbackInput",
    fields={
        "interactionId": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100),
        "rating": serializers.JSONField(
            required=False, allow_null=True, help_text="A number from -10 to 10, or a boolean (+1/-1)."
        ),
        "chatId": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200),
        "userMessage": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=10_000),
        "assistantResponse": serializers.CharField(
            required=False, allow_null=True, allow_blank=True, max_length=10_000
        ),
        "correctedResponse": serializers.CharField(
            required=False, allow_null=True, allow_blank=True, max_length=10_000
        ),
        "feedbackType": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=50),
    },
)
AIFeedbackReplySerializer = inline_serializer(
    name="AIFeedbackReply",
    fields={
        "success": serializers.BooleanField(),
        "feedback": serializers.DictField(),
        "exampleAdded": serializers.BooleanField(),
    },
)


class AIProcessView(WorkspaceAPIView):
    throttle_classes = [GeneralRateThrottle, AIRateThrottle]
    runs_long = True  # waits on the AI provider: whatshybrid.wsgi_bridge

    @extend_schema(request=AIProcessInputSerializer, responses={200: AIProcessReplySerializer}, tags=["ai"])
    def post(self, request: Request) -> Response:
        """A reply suggestion for the chat's last customer message (the extension's first try)."""
        try:
            return Response(suggestions.ai_process(workspace=request.workspace, user=request.user, body=request.data))
        except ApplicationError as exc:
            exc.extra = {"success": False, **exc.extra}  # the extension reads success first
            raise


class AIFeedbackView(WorkspaceAPIView):
    @extend_schema(request=AIFeedbackInputSerializer, responses={200: AIFeedbackReplySerializer}, tags=["ai"])
    def post(self, request: Request) -> Response:
        feedback, added = suggestions.ai_feedback_record(
            workspace=request.workspace, user=request.user, body=request.data
        )
        shown = {
            "id": str(feedback.pk),
            "interactionId": feedback.interaction_id,
            "rating": feedback.rating,
            "feedbackType": feedback.feedback_type,
            "linked": feedback.conversation_id is not None,
        }
        return Response({"success": True, "feedback": shown, "exampleAdded": added})
