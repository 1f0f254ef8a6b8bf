"""Auth endpoints. Register, login and refresh ignore the Authorization header entirely:
the extension sends its (possibly expired or garbage) token on every request."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import (
    AuthResponseSerializer,
    LoginInputSerializer,
    MeSerializer,
    PasswordChangeInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenPairSerializer,
    user_representation,
    workspace_representation,
)
from accounts.authentication import session_of
from whatshybrid.api.permissions import ALL_ROLES
from whatshybrid.api.serializers import MessageSerializer
from whatshybrid.api.throttling import GeneralRateThrottle, RegistrationRateThrottle, client_ip
from whatshybrid.api.views import WorkspaceAPIView


def auth_payload(pair: services.TokenPair, *, include_identity: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"accessToken": pair.access, "refreshToken": pair.refresh}
    if include_identity:
        membership = pair.session.user.memberships.get(workspace=pair.session.workspace)
        body["user"] = user_representation(pair.session.user, membership=membership)
        body["workspace"] = workspace_representation(pair.session.workspace)
    return body


class PublicAuthView(APIView):
    # No authentication at all: a stale or garbage Bearer header must not turn into a 401 here.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = [GeneralRateThrottle]

    def client_meta(self, request: Request) -> dict[str, Any]:
        return {"user_agent": request.headers.get("User-Agent", ""), "ip_address": client_ip(request)}


class RegisterView(PublicAuthView):
    throttle_classes = [GeneralRateThrottle, RegistrationRateThrottle]
    runs_long = True  # waits on a password hash: whatshybrid.wsgi_bridge

    @extend_schema(request=RegisterInputSerializer, responses={201: AuthResponseSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.user_register(**serializer.validated_data, **self.client_meta(request))
        return Response(auth_payload(pair), status=status.HTTP_201_CREATED)


class LoginView(PublicAuthView):
    runs_long = True  # waits on a password hash: whatshybrid.wsgi_bridge
    @extend_schema(request=LoginInputSerializer, responses={200: AuthResponseSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        serializer = LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.user_login(
            email=serializer.validated_data["email"].strip().lower(),
            password=serializer.validated_data["password"],
            **self.client_meta(request),
        )
        return Response(auth_payload(pair))


class RefreshView(PublicAuthView):
    @extend_schema(request=RefreshInputSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        serializer = RefreshInputSerializer(data=request.data)
        if not serializer.is_valid():
            # Still TOKEN_INVALID: the extension logs out on exactly that code.
            raise services.InvalidRefreshToken("The refresh token is invalid or expired.", errors=serializer.errors)
        pair = services.token_refresh(raw_refresh_token=serializer.validated_data["token"])
        return Response(auth_payload(pair, include_identity=False))


class LogoutView(WorkspaceAPIView):
    write_roles = ALL_ROLES

    @extend_schema(request=RefreshInputSerializer, responses={200: MessageSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.session_logout(session=session_of(request.auth), raw_refresh_token=serializer.validated_data["token"])
        return Response({"message": "Logged out."})


class MeView(WorkspaceAPIView):
    @extend_schema(responses={200: MeSerializer}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(
            {
                "user": user_representation(request.user, membership=request.membership),
                "workspace": workspace_representation(request.workspace),
            }
        )


class PasswordChangeView(WorkspaceAPIView):
    write_roles = ALL_ROLES
    runs_long = True  # waits on a password hash: whatshybrid.wsgi_bridge

    @extend_schema(request=PasswordChangeInputSerializer, responses={200: AuthResponseSerializer}, tags=["auth"])
    def put(self, request: Request) -> Response:
        serializer = PasswordChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.password_change(session=session_of(request.auth), **serializer.validated_data)
        return Response({"message": "Password changed.", **auth_payload(pair)})
