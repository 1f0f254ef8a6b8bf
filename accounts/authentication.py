"""JWT authentication that asks the database, on every request, whether the token still counts.

The access token names the user, the session (refresh family) and the workspace. One query
checks that the session is live, the user active and still a member of that workspace, so
logout, password change, deactivation and removal take effect on the next request.

That query is ``whatshybrid.db.live_membership`` (written out as SQL: measured there).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import AuthSession, Membership, User, Workspace
from whatshybrid.db import live_membership


@dataclass(frozen=True)
class AuthContext:
    session_id: str
    membership: Membership
    workspace: Workspace


class TokenInvalid(exceptions.AuthenticationFailed):
    default_detail = "The access token is invalid or expired."
    default_code = "TOKEN_INVALID"


@lru_cache(maxsize=4096)
def _verified_claims(raw: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, float]:
    """(user, session, workspace, expiry) of a token whose signature and claims checked out.

    A client sends the same access token for its whole lifetime; its signature cannot change,
    so it is checked once per process. The expiry is checked on every use; refusals are never
    cached.
    """
    token = AccessToken(raw)
    user_id, session_id, workspace_id = (uuid.UUID(str(token[claim])) for claim in ("sub", "sid", "ws"))
    return user_id, session_id, workspace_id, float(token["exp"])


def resolve_access_token(raw: str) -> tuple[User, AuthContext]:
    """Validates a raw access token (HTTP header, websocket auth) or raises ``TokenInvalid``."""
    try:
        user_id, session_id, workspace_id, expires = _verified_claims(raw)
    except (TokenError, KeyError, ValueError, TypeError) as exc:
        raise TokenInvalid() from exc
    if expires <= time.time():
        raise TokenInvalid()
    membership = live_membership(user_id=user_id, workspace_id=workspace_id, session_id=session_id)
    if membership is None:
        raise TokenInvalid("Your session has ended. Please log in again.", code="SESSION_ENDED")
    return membership.user, AuthContext(
        session_id=str(session_id), membership=membership, workspace=membership.workspace
    )


def session_of(context: AuthContext) -> AuthSession:
    return AuthSession.objects.select_related("user", "workspace").get(pk=context.session_id)


class SessionJWTAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, AuthContext] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise TokenInvalid("Malformed Authorization header.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise TokenInvalid() from exc
        return resolve_access_token(raw)

    def authenticate_header(self, request: Request) -> str:
        # Present so DRF answers 401 (not 403) for missing or bad credentials.
        return 'Bearer realm="api"'
