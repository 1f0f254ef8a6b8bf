"""Accounts: registration, login, token rotation with reuse detection, logout, password change."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.hashing import hashing_turn, password_encode, password_verify
from accounts.models import AuthSession, Membership, RefreshTokenRecord, User, Workspace
from accounts.signals import workspace_created
from whatshybrid.api.errors import ApplicationError, Conflict, RateLimitedError
from whatshybrid.api.throttling import consume, reset

logger = logging.getLogger(__name__)

# The one budget of login attempts (RATELIMIT_AUTH per IP + email), API and admin alike.
LOGIN_LIMIT_GROUP = "auth-login"


class InvalidRefreshToken(ApplicationError):
    # 400, never 401: a 401 from /auth/refresh makes the extension try to refresh again, forever.
    status_code = 400
    default_code = "TOKEN_INVALID"


class InvalidCredentials(ApplicationError):
    status_code = 401
    default_code = "INVALID_CREDENTIALS"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    session: AuthSession


def _issue_tokens(session: AuthSession) -> TokenPair:
    refresh = RefreshToken()
    refresh["sub"] = str(session.user_id)
    refresh["sid"] = str(session.id)
    refresh["ws"] = str(session.workspace_id)
    access = AccessToken()
    access["sub"] = str(session.user_id)
    access["sid"] = str(session.id)
    access["ws"] = str(session.workspace_id)
    RefreshTokenRecord.objects.create(
        jti=refresh["jti"], session=session, expires_at=timezone.now() + settings.REFRESH_TOKEN_LIFETIME
    )
    return TokenPair(access=str(access), refresh=str(refresh), session=session)


def session_start(
    *, user: User, workspace: Workspace, user_agent: str = "", ip_address: str | None = None
) -> TokenPair:
    session = AuthSession.objects.create(
        user=user, workspace=workspace, user_agent=user_agent[:300], ip_address=ip_address or None
    )
    return _issue_tokens(session)


@transaction.atomic
def workspace_create(*, name: str, owner: User | None, workspace: Workspace | None = None) -> Workspace:
    """Creates a workspace with its defaults (``workspace_created``) and, given one, its owner.

    ``workspace`` is an unsaved instance to create (the admin form builds one).
    """
    workspace = workspace or Workspace()
    workspace.name = name[:150]
    workspace.save()
    if owner is not None:
        Membership.objects.create(user=owner, workspace=workspace, role=Membership.Role.OWNER)
    workspace_created.send(sender=Workspace, workspace=workspace)
    return workspace


def password_check(*, password: str, user: User | None = None, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ApplicationError(exc.messages[0], code="VALIDATION_ERROR", errors={field: exc.messages}) from exc


def user_register(
    *, email: str, password: str, name: str, user_agent: str = "", ip_address: str | None = None
) -> TokenPair:
    email = email.strip().lower()
    password_check(password=password, user=User(email=email, name=name))
    # Hashed before the email is looked up: a taken email costs the same time as a new one (no
    # enumeration by timing), and the hash runs outside any transaction (on SQLite a write
    # transaction is the database-wide lock).
    with hashing_turn():
        hashed = password_encode(password)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(
            "An account with this email already exists.", code="EMAIL_TAKEN", errors={"email": ["Already registered."]}
        )
    return _user_register_write(email=email, hashed=hashed, name=name, user_agent=user_agent, ip_address=ip_address)


@transaction.atomic
def _user_register_write(*, email: str, hashed: str, name: str, user_agent: str, ip_address: str | None) -> TokenPair:
    try:
        with transaction.atomic():
            user = User.objects.create(email=email, name=name.strip(), password=hashed)
    except IntegrityError as exc:  # a concurrent registration won the unique index
        raise Conflict("An account with this email already exists.", code="EMAIL_TAKEN") from exc
    workspace = workspace_create(name=f"{user.name or email.split('@')[0]}'s Workspace", owner=user)
    return session_start(user=user, workspace=workspace, user_agent=user_agent, ip_address=ip_address)


def membership_default(*, user: User) -> Membership | None:
    """The workspace a login lands in: the oldest membership (owners first)."""
    memberships = user.memberships.select_related("workspace").order_by("created_at")
    return memberships.filter(role=Membership.Role.OWNER).first() or memberships.first()


def login_limit_key(*, email: str, ip_address: str | None) -> str:
    return f"{ip_address or 'unknown'}:{email.strip().lower()}"


def login_attempt_begin(*, email: str, ip_address: str | None, channel: str) -> None:
    """Counts a login attempt *before* its password is checked; over the limit it is refused.

    Counting first (an atomic increment) is what bounds concurrent guesses: counted after the
    check, 40 parallel guesses all read "4 failures so far" and were all checked. The API login
    and the admin login (``channel``) share this budget per IP + email.
    """
    key = login_limit_key(email=email, ip_address=ip_address)
    usage = consume(None, group=LOGIN_LIMIT_GROUP, key=key, rate=settings.RATELIMIT_AUTH)
    if usage and usage["should_limit"]:
        logger.warning("login refused (rate limited) channel=%s email=%s ip=%s", channel, email, ip_address)
        raise RateLimitedError(
            "Too many login attempts. Try again later.", headers={"Retry-After": str(max(1, usage["time_left"]))}
        )


def login_attempt_end(*, email: str, ip_address: str | None, channel: str, succeeded: bool) -> None:
    """Logs the outcome; a success forgets the attempts (whoever succeeds knows the password)."""
    if succeeded:
        reset(
            group=LOGIN_LIMIT_GROUP,
            key=login_limit_key(email=email, ip_address=ip_address),
            rate=settings.RATELIMIT_AUTH,
        )
        logger.info("login succeeded channel=%s email=%s ip=%s", channel, email, ip_address)
    else:
        logger.warning("login failed channel=%s email=%s ip=%s", channel, email, ip_address)


def user_login(*, email: str, password: str, user_agent: str = "", ip_address: str | None = None) -> TokenPair:
    """Checks the password (limited by ``login_attempt_begin``) and starts a session.

    No transaction is open while the password is hashed (``accounts.hashing``).
    """
    # The turn is taken first: a login refused as busy costs no attempt and no query.
    with hashing_turn():
        login_attempt_begin(email=email, ip_address=ip_address, channel="api")
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            password_encode(password)  # same hashing cost whether or not the email exists
            valid = False
        else:
            correct, must_update = password_verify(password, user.password)
            valid = correct and user.is_active
            if correct and must_update:  # Django's upgrade of an old hash, as check_password does
                user.password = password_encode(password)
                user.save(update_fields=["password"])
    login_attempt_end(email=email, ip_address=ip_address, channel="api", succeeded=valid)
    if not valid:
        raise InvalidCredentials("Invalid email or password.")
    membership = membership_default(user=user)
    if membership is None:
        raise InvalidCredentials("This account has no workspace.", code="NO_WORKSPACE")
    with transaction.atomic():
        return session_start(user=user, workspace=membership.workspace, user_agent=user_agent, ip_address=ip_address)


def session_revoke(*, session: AuthSession, reason: str) -> None:
    AuthSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason
    )


def token_refresh(*, raw_refresh_token: Any) -> TokenPair:
    if not isinstance(raw_refresh_token, str) or not raw_refresh_token:
        raise InvalidRefreshToken("refreshToken is required.", errors={"refreshToken": ["This field is required."]})
    try:
        token = RefreshToken(raw_refresh_token)
    except TokenError as exc:
        raise InvalidRefreshToken("The refresh token is invalid or expired.") from exc
    # The rotation commits even when it refuses: a revocation decided here must survive the
    # error response, so the refusal is raised only after the transaction has committed.
    outcome = _token_rotate(jti=str(token.get("jti", "")))
    if isinstance(outcome, InvalidRefreshToken):
        raise outcome
    return outcome


@transaction.atomic
def _token_rotate(*, jti: str) -> TokenPair | InvalidRefreshToken:
    record = (
        RefreshTokenRecord.objects.select_for_update()
        .select_related("session", "session__user")
        .filter(jti=jti)
        .first()
    )
    if record is None or record.session.revoked_at is not None:
        return InvalidRefreshToken("The session has ended. Please log in again.")
    session = record.session
    if (
        not session.user.is_active
        or not Membership.objects.filter(user_id=session.user_id, workspace_id=session.workspace_id).exists()
    ):
        session_revoke(session=session, reason="access_removed")
        return InvalidRefreshToken("The session has ended. Please log in again.")
    now = timezone.now()
    if record.used_at is not None:
        within_grace = now - record.used_at <= settings.REFRESH_REUSE_GRACE
        if not within_grace or record.grace_reuses >= settings.REFRESH_GRACE_REUSES:
            # A rotated token presented again outside the grace window means it leaked:
            # the whole family (every token of this session) dies.
            session_revoke(session=session, reason="refresh_reuse")
            return InvalidRefreshToken("This refresh token was already used. Please log in again.", code="TOKEN_REUSED")
        record.grace_reuses += 1
    else:
        record.used_at = now
    record.save(update_fields=["used_at", "grace_reuses"])
    session.last_refreshed_at = now
    session.save(update_fields=["last_refreshed_at"])
    return _issue_tokens(session)


def session_logout(*, session: AuthSession, raw_refresh_token: Any = None) -> None:
    session_revoke(session=session, reason="logout")
    if isinstance(raw_refresh_token, str) and raw_refresh_token:
        try:
            token = RefreshToken(raw_refresh_token, verify=True)
        except TokenError:
            return
        other = (
            RefreshTokenRecord.objects.filter(jti=token.get("jti"), session__user_id=session.user_id)
            .select_related("session")
            .first()
        )
        if other is not None:
            session_revoke(session=other.session, reason="logout")


def password_change(*, session: AuthSession, current_password: str, new_password: str) -> TokenPair:
    user = session.user
    # Verified and hashed before the transaction (accounts.hashing): no lock is held meanwhile.
    with hashing_turn():
        correct, _ = password_verify(current_password, user.password)
    if not correct:
        raise ApplicationError(
            "The current password is incorrect.",
            code="INVALID_PASSWORD",
            errors={"currentPassword": ["Incorrect password."]},
        )
    password_check(password=new_password, user=user, field="newPassword")
    with hashing_turn():
        hashed = password_encode(new_password)
    with transaction.atomic():
        user.password = hashed
        user.save(update_fields=["password"])
        # Every session, this one included, dies; the caller continues on a fresh session.
        AuthSession.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoke_reason="password_change"
        )
        return session_start(
            user=user, workspace=session.workspace, user_agent=session.user_agent, ip_address=session.ip_address
        )


@transaction.atomic
def workspace_update(*, workspace: Workspace, data: dict[str, Any]) -> Workspace:
    # ``plan`` is operator-only: the public settings serializer never lets it through.
    for field in ("name", "plan", "timezone", "default_country", "currency"):
        if field in data:
            setattr(workspace, field, data[field])
    if "settings" in data:
        merged = {**workspace.settings, **data["settings"]}
        # The cap is on what is stored (and loaded with the workspace on every request), not on
        # one update: capped per PUT, merged keys grew without bound.
        size = len(json.dumps(merged, ensure_ascii=False).encode())
        if size > settings.WORKSPACE_SETTINGS_MAX_BYTES:
            message = (
                f"Stored settings may not exceed {settings.WORKSPACE_SETTINGS_MAX_BYTES} bytes of JSON; "
                f"with this update they would be {size}. Overwrite keys you no longer need with null, or send less."
            )
            raise ApplicationError(message, code="VALIDATION_ERROR", errors={"settings": [message]})
        workspace.settings = merged
    workspace.save()
    return workspace


@transaction.atomic
def session_prune() -> int:
    """Deletes refresh-token records past expiry and sessions that can no longer authenticate."""
    now = timezone.now()
    # After both lifetimes no token of an idle session can still verify, so the row is dead.
    idle_since = now - max(settings.ACCESS_TOKEN_LIFETIME, settings.REFRESH_TOKEN_LIFETIME)
    sessions, _ = (
        AuthSession.objects.annotate(last_active=Coalesce("last_refreshed_at", "created_at"))
        .filter(Q(revoked_at__isnull=False) | Q(last_active__lt=idle_since))
        .delete()
    )
    tokens, _ = RefreshTokenRecord.objects.filter(expires_at__lt=now).delete()
    return sessions + tokens


def membership_remove(*, membership: Membership) -> None:
    """Removes a member; their sessions in that workspace end with it."""
    with transaction.atomic():
        AuthSession.objects.filter(
            user=membership.user, workspace=membership.workspace, revoked_at__isnull=True
        ).update(revoked_at=timezone.now(), revoke_reason="membership_removed")
        membership.delete()
