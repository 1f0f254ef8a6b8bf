from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webhooks import delivery, inbound, selectors, services
from webhooks.api.filters import DeliveryFilterSet
from webhooks.api.serializers import (
    DeliverySerializer,
    EventTypeSerializer,
    InboundConfigInputSerializer,
    InboundConfigSerializer,
    TestResultSerializer,
    WebhookInputSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)
from webhooks.models import InboundConfig, InboundLog, Webhook, WebhookDelivery
from webhooks.signing import SignatureInvalid, verify
from whatshybrid import strict_json
from whatshybrid.api.errors import ApplicationError, ErrorCode
from whatshybrid.api.pagination import ResourcePagination
from whatshybrid.api.permissions import MANAGER_ROLES
from whatshybrid.api.throttling import GeneralRateThrottle, WebhookRateThrottle
from whatshybrid.api.views import UUID_PATTERN, WorkspaceAPIView, WorkspaceViewSet

WebhookObjectSerializer = inline_serializer(name="WebhookObject", fields={"webhook": WebhookSerializer()})
WebhookSecretObjectSerializer = inline_serializer(
    name="WebhookSecretObject", fields={"webhook": WebhookWithSecretSerializer()}
)
DeliveryPageSerializer = inline_serializer(
    name="WebhookDeliveryPage",
    fields={
        "deliveries": DeliverySerializer(many=True),
        "limit": serializers.IntegerField(),
        "next_cursor": serializers.CharField(allow_null=True),
        "has_more": serializers.BooleanField(),
    },
)
DeliveryObjectSerializer = inline_serializer(name="WebhookDeliveryObject", fields={"delivery": DeliverySerializer()})
InboundReceiptSerializer = inline_serializer(
    name="InboundReceipt",
    fields={
        "id": serializers.UUIDField(),
        "outcome": serializers.ChoiceField(choices=InboundLog.Outcome.choices),
        "detail": serializers.CharField(),
        "duplicate": serializers.BooleanField(),
    },
)
InboundConfigObjectSerializer = inline_serializer(
    name="InboundConfigObject", fields={"inbound": InboundConfigSerializer()}
)
InboundSecretSerializer = inline_serializer(
    name="InboundSecretObject",
    fields={"inbound": InboundConfigSerializer(), "secret": serializers.CharField(help_text="Shown only now.")},
)


class ManagerOnly:
    """Webhooks carry the workspace's data out (and in): owners and admins only, reads included."""

    read_roles = write_roles = MANAGER_ROLES
    # The general per-user limit like every endpoint, and the webhooks' own 100/min.
    throttle_classes = [GeneralRateThrottle, WebhookRateThrottle]


@extend_schema_view(
    create=extend_schema(responses={201: WebhookSecretObjectSerializer}),
    retrieve=extend_schema(responses={200: WebhookObjectSerializer}),
    update=extend_schema(responses={200: WebhookObjectSerializer}),
    partial_update=extend_schema(responses={200: WebhookObjectSerializer}),
)
@extend_schema(tags=["webhooks"])
class WebhookViewSet(ManagerOnly, WorkspaceViewSet):
    """Outgoing webhooks: the workspace's events POSTed, signed (Standard Webhooks), to a URL."""

    model = Webhook
    resource_name = "webhooks"
    object_name = "webhook"
    serializer_class = WebhookSerializer
    input_serializer_class = WebhookInputSerializer
    filter_actions = ("list",)

    @extend_schema(operation_id="webhooks_list")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, data: dict[str, Any]) -> Webhook:
        return services.webhook_create(workspace=self.request.workspace, created_by=self.request.user, **data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhook = self.perform_create(self.validated_input())
        return Response({"webhook": WebhookWithSecretSerializer(webhook).data}, status=status.HTTP_201_CREATED)

    def perform_update(self, instance: Webhook, data: dict[str, Any]) -> Webhook:
        return services.webhook_update(webhook=instance, data=data)

    def perform_destroy(self, instance: Webhook) -> None:
        services.webhook_delete(webhook=instance)

    @extend_schema(
        responses={200: inline_serializer(name="WebhookEvents", fields={"events": EventTypeSerializer(many=True)})}
    )
    @action(detail=False, methods=["get"])
    def events(self, request: Request) -> Response:
        """The event names a webhook may subscribe to (``*``: all)."""
        return Response({"events": selectors.event_catalog()})

    @extend_schema(request=None, responses={200: WebhookSecretObjectSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        """A new secret, shown once; the old one keeps signing deliveries during the rotation window."""
        webhook = services.webhook_rotate_secret(webhook=self.get_object())
        return Response({"webhook": WebhookWithSecretSerializer(webhook).data})

    @extend_schema(request=None, responses={200: TestResultSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        """Sends a signed ``webhook.test`` event now. An unreachable target is ``success: false``."""
        return Response(delivery.webhook_test(webhook=self.get_object()).as_dict())

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, description="pending, succeeded or failed (comma-separated)."),
            OpenApiParameter("event", OpenApiTypes.STR, description="An event name."),
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses={200: DeliveryPageSerializer},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        """This webhook's deliveries, newest first, each with every attempt."""
        webhook = self.get_object()
        filterset = DeliveryFilterSet(
            request.query_params,
            queryset=WebhookDelivery.objects.filter(workspace=request.workspace),
            request=request,
        )
        if not filterset.is_valid():
            raise ApplicationError("Invalid filter.", code=ErrorCode.VALIDATION_ERROR, errors=dict(filterset.errors))
        rows, meta = ResourcePagination().paginate(
            selectors.delivery_list(webhook_id=webhook.pk, queryset=filterset.qs),
            request,
            default_limit=settings.PAGE_SIZE_DEFAULT,
            max_limit=settings.PAGE_SIZE_MAX,
        )
        return Response({"deliveries": DeliverySerializer(rows, many=True).data, **meta})

    @extend_schema(request=None, responses={202: DeliveryObjectSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=rf"deliveries/(?P<delivery_id>{UUID_PATTERN})/redeliver",
        url_name="redeliver",
    )
    def redeliver(self, request: Request, pk: str, delivery_id: str) -> Response:
        """Sends the delivery again (same ``webhook-id`` and body), with a fresh retry schedule."""
        webhook = self.get_object()
        found = WebhookDelivery.objects.filter(webhook=webhook, pk=uuid.UUID(delivery_id)).first()
        if found is None:
            raise NotFound("Delivery not found.")
        redelivered = services.delivery_redeliver(delivery=found)
        rows = selectors.delivery_rows(WebhookDelivery.objects.filter(pk=redelivered.pk))
        return Response({"delivery": DeliverySerializer(rows.get()).data}, status=status.HTTP_202_ACCEPTED)


def _inbound_answer(request: Request, config: InboundConfig | None) -> dict[str, Any]:
    workspace_id = request.workspace.pk
    return {
        "secret_set": bool(config and config.secret),
        "cloud_verify_token_set": bool(config and config.cloud_verify_token),
        "cloud_app_secret_set": bool(config and config.cloud_app_secret),
        "url": request.build_absolute_uri(reverse("webhook-incoming", args=[workspace_id])),
        "whatsapp_url": request.build_absolute_uri(reverse("webhook-incoming-whatsapp", args=[workspace_id])),
    }


@extend_schema(tags=["webhooks"])
class InboundConfigView(ManagerOnly, WorkspaceAPIView):
    """The secrets of the webhooks this workspace receives (which are set; never their values)."""

    @extend_schema(responses={200: InboundConfigObjectSerializer})
    def get(self, request: Request) -> Response:
        return Response(
            {"inbound": _inbound_answer(request, selectors.inbound_config_get(workspace=request.workspace))}
        )

    @extend_schema(request=InboundConfigInputSerializer, responses={200: InboundConfigObjectSerializer})
    def put(self, request: Request) -> Response:
        """Sets the WhatsApp Cloud API verify token and app secret (empty clears one)."""
        serializer = InboundConfigInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        config = services.inbound_config_update(workspace=request.workspace, data=serializer.validated_data)
        return Response({"inbound": _inbound_answer(request, config)})


@extend_schema(tags=["webhooks"])
class InboundSecretRotateView(ManagerOnly, WorkspaceAPIView):
    @extend_schema(request=None, responses={200: InboundSecretSerializer})
    def post(self, request: Request) -> Response:
        """A new inbound signing secret, shown once; the previous one stops working now."""
        config, secret = services.inbound_secret_rotate(workspace=request.workspace)
        return Response({"inbound": _inbound_answer(request, config), "secret": secret})


# --- receiving -------------------------------------------------------------------------------

CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def _unauthenticated(reason: str) -> ApplicationError:
    return ApplicationError(reason, code=ErrorCode.NOT_AUTHENTICATED, status_code=status.HTTP_401_UNAUTHORIZED)


class _IncomingView(APIView):
    """No token: the sender proves itself with the workspace's signature over the raw body."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookRateThrottle]

    def raw_body(self, request: Request) -> bytes:
        body = request.body
        if len(body) > settings.WEBHOOK_INCOMING_MAX_BYTES:
            raise ApplicationError(
                f"The body exceeds {settings.WEBHOOK_INCOMING_MAX_BYTES} bytes.",
                code=ErrorCode.PAYLOAD_TOO_LARGE,
                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        return body

    def config(self, workspace_id: uuid.UUID) -> InboundConfig:
        try:
            return inbound.config_for(workspace_id)
        except inbound.Unauthenticated as exc:
            raise _unauthenticated(str(exc)) from None

    def parse(self, body: bytes) -> Any:
        """Before the signature, like every other endpoint's parser: unsafe JSON is a 400."""
        try:
            return strict_json.loads(body)
        except strict_json.UnsafeJSON as exc:
            raise ApplicationError(str(exc), code=ErrorCode.VALIDATION_ERROR) from None
        except ValueError as exc:
            raise ApplicationError(f"The body is not valid JSON ({exc}).", code=ErrorCode.PARSE_ERROR) from None

    def receipt(self, log: InboundLog, fresh: bool, status_code: int) -> Response:
        return Response(
            {"id": str(log.pk), "outcome": log.outcome, "detail": log.detail, "duplicate": not fresh},
            status=status_code,
        )

    # The Cloud API's half, shared by both URLs.
    def whatsapp_handshake(self, request: Request, workspace_id: uuid.UUID) -> HttpResponse:
        config = self.config(workspace_id)
        try:
            inbound.cloud_verify_token_check(
                config,
                mode=request.query_params.get("hub.mode", ""),
                token=request.query_params.get("hub.verify_token", ""),
            )
        except PermissionError as exc:
            raise ApplicationError(str(exc), code=ErrorCode.PERMISSION_DENIED, status_code=403) from None
        challenge = request.query_params.get("hub.challenge", "")
        if not CHALLENGE.match(challenge):
            raise ApplicationError("hub.challenge is missing or malformed.", code=ErrorCode.BAD_REQUEST)
        return HttpResponse(challenge, content_type="text/plain")

    def whatsapp_notification(self, request: Request, workspace_id: uuid.UUID) -> Response:
        body = self.raw_body(request)
        payload = self.parse(body)
        config = self.config(workspace_id)
        try:
            inbound.cloud_signature_check(config, body=body, header=request.headers.get("X-Hub-Signature-256", ""))
        except inbound.Unauthenticated as exc:
            raise _unauthenticated(str(exc)) from None
        log, fresh = inbound.inbound_receive(
            workspace=config.workspace,
            source=InboundLog.Source.WHATSAPP,
            message_id=inbound.cloud_message_id(body),
            payload=payload,
            events=inbound.cloud_events(payload),
        )
        return self.receipt(log, fresh, status.HTTP_200_OK)


WHATSAPP_PARAMETERS = [
    OpenApiParameter("hub.mode", OpenApiTypes.STR),
    OpenApiParameter("hub.verify_token", OpenApiTypes.STR),
    OpenApiParameter("hub.challenge", OpenApiTypes.STR),
]
HANDSHAKE_RESPONSES = {(200, "text/plain"): OpenApiTypes.STR}


@extend_schema(tags=["webhooks"], auth=[])
class IncomingWebhookView(_IncomingView):
    """Standard Webhooks events signed with the workspace's inbound secret; a request carrying
    ``X-Hub-Signature-256`` is a WhatsApp Cloud API notification instead."""

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={202: InboundReceiptSerializer, 200: InboundReceiptSerializer},
        operation_id="webhooks_incoming_create",
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        if "X-Hub-Signature-256" in request.headers:
            return self.whatsapp_notification(request, workspace_id)
        body = self.raw_body(request)
        payload = self.parse(body)
        config = self.config(workspace_id)
        if not config.secret:
            raise _unauthenticated("No inbound secret is set for this workspace.")
        try:
            verify(secret=config.secret, body=body, headers=dict(request.headers))
        except SignatureInvalid as exc:
            raise _unauthenticated(f"Invalid webhook signature: {exc}.") from None
        log, fresh = inbound.inbound_receive(
            workspace=config.workspace,
            source=InboundLog.Source.GENERIC,
            message_id=request.headers["webhook-id"][:200],
            payload=payload,
            events=inbound.generic_events(payload),
        )
        return self.receipt(log, fresh, status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=WHATSAPP_PARAMETERS, responses=HANDSHAKE_RESPONSES, operation_id="webhooks_incoming_verify"
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> HttpResponse:
        """The WhatsApp Cloud API's verification handshake: echoes ``hub.challenge``."""
        return self.whatsapp_handshake(request, workspace_id)


@extend_schema(tags=["webhooks"], auth=[])
class IncomingWhatsAppView(_IncomingView):
    """WhatsApp Cloud API notifications, verified with ``X-Hub-Signature-256`` (the app secret)."""

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: InboundReceiptSerializer},
        operation_id="webhooks_incoming_whatsapp_create",
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        return self.whatsapp_notification(request, workspace_id)

    @extend_schema(
        parameters=WHATSAPP_PARAMETERS, responses=HANDSHAKE_RESPONSES, operation_id="webhooks_incoming_whatsapp_verify"
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> HttpResponse:
        return self.whatsapp_handshake(request, workspace_id)
