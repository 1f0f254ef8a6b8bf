"""JWT authentication that asks the database, on every request, whether the token still counts.

The access token names the user, the session (refresh family) and the workspace. One query
checks that the session is live, the user active and still a member of that workspace, so
logout, password change, deactivation and removal take effect on the next request.

That query is written out as SQL once per database connection vendor: building and compiling
the equivalent ORM query cost more than running it, on every authenticated request.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import cache, lru_cache

from django.db import connection
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import AuthSession, Membership, User, Workspace
from whatshybrid.api.expressions import column_converters, convert_rows, prepared_cursor


@dataclass(frozen=True)
class AuthContext:
    session_id: str
    membership: Membership
    workspace: Workspace


class TokenInvalid(exceptions.AuthenticationFailed):
    default_detail = "The access token is invalid or expired."
    default_code = "TOKEN_INVALID"


class _MembershipLookup:
    """``SELECT`` membership + user + workspace for a live session, with the ORM's converters."""

    def __init__(self) -> None:
        quote = connection.ops.quote_name
        tables = [(Membership, "m"), (User, "u"), (Workspace, "w")]
        columns = [field.get_col(alias) for model, alias in tables for field in model._meta.concrete_fields]
        self.converters = column_converters(columns)
        self.models = [(model, [field.attname for field in model._meta.concrete_fields]) for model, _ in tables]
        session = AuthSession._meta
        self.sql = (
            f"SELECT {', '.join(f'{column.alias}.{quote(column.target.column)}' for column in columns)}"
            f" FROM {quote(Membership._meta.db_table)} m"
            f" JOIN {quote(User._meta.db_table)} u ON u.{quote('id')} = m.{quote('user_id')}"
            f" JOIN {quote(Workspace._meta.db_table)} w ON w.{quote('id')} = m.{quote('workspace_id')}"
            f" WHERE m.{quote('user_id')} = %s AND m.{quote('workspace_id')} = %s AND u.{quote('is_active')} = %s"
            f" AND EXISTS (SELECT 1 FROM {quote(session.db_table)} s WHERE s.{quote('id')} = %s"
            f" AND s.{quote('user_id')} = m.{quote('user_id')} AND s.{quote('workspace_id')} = m.{quote('workspace_id')}"
            f" AND s.{quote('revoked_at')} IS NULL)"
        )

    def fetch(self, user_id: uuid.UUID, workspace_id: uuid.UUID, session_id: uuid.UUID) -> Membership | None:
        prep = User._meta.pk.get_db_prep_value
        params = [prep(user_id, connection), prep(workspace_id, connection), True, prep(session_id, connection)]
        with prepared_cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = [list(row)]
        convert_rows(values, self.converters)
        instances, offset = [], 0
        for model, attnames in self.models:
            instances.append(model.from_db(connection.alias, attnames, values[0][offset : offset + len(attnames)]))
            offset += len(attnames)
        membership, user, workspace = instances
        membership.user, membership.workspace = user, workspace
        return membership


@cache
def _membership_lookup(vendor: str) -> _MembershipLookup:
    # Keyed by vendor: quoting and converters differ between SQLite and PostgreSQL.
    return _MembershipLookup()


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
    membership = _membership_lookup(connection.vendor).fetch(user_id, workspace_id, session_id)
    if membership is None:
        raise TokenInvalid("Your session has ended. Please log in again.", code="SESSION_ENDED")
    return membership.user, AuthContext(session_id=str(session_id), membership=membership, workspace=membership.workspace)


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
