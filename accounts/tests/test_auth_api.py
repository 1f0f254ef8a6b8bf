"""The auth endpoints, exactly as the extension drives them (client contract, "Auth")."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import AuthSession, Membership, RefreshTokenRecord, User, Workspace
from accounts.signals import workspace_created
from conftest import ApiClient
from whatshybrid.api.testing import assert_json_error

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
PASSWORD = "/api/v1/auth/password"
PASSWORD_OK = "s3cret-Passw0rd"
GARBAGE_BEARERS = ["Bearer garbage", "Bearer a.b.c", "Bearer", "Bearer x y", "Basic Zm9vOmJhcg==", "Bearer \u00e9"]

pytestmark = pytest.mark.django_db


def bearer(client: Any, token: str) -> Any:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def register(client: Any, email: str = "maria@example.com", name: str = "Maria", **extra: Any) -> Any:
    return client.post(REGISTER, {"email": email, "password": PASSWORD_OK, "name": name, **extra})


def login(client: Any, email: str, password: str = PASSWORD_OK) -> Any:
    return client.post(LOGIN, {"email": email, "password": password})


# --- register -------------------------------------------------------------------------------
def test_register_creates_user_workspace_and_owner_membership(anon_client):
    response = register(anon_client, email="Maria@Example.COM")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "user", "workspace"}
    assert body["user"]["email"] == "maria@example.com"
    assert body["user"]["name"] == "Maria"
    assert body["user"]["role"] == "owner"
    assert body["workspace"]["name"] == "Maria's Workspace"
    assert body["workspace"]["plan"] == "free" and isinstance(body["workspace"]["plan"], str)
    assert isinstance(body["workspace"]["credits"], int)
    user = User.objects.get(email="maria@example.com")
    membership = Membership.objects.get(user=user)
    assert str(membership.workspace_id) == body["workspace"]["id"] and membership.role == "owner"
    me = bearer(anon_client, body["accessToken"]).get(ME)
    assert me.status_code == 200 and me.json()["workspace"]["id"] == body["workspace"]["id"]


def test_register_sends_workspace_created_inside_its_transaction(anon_client):
    seen = []

    def receiver(sender: Any, workspace: Workspace, **kwargs: Any) -> None:
        seen.append(workspace.pk)
        raise RuntimeError("defaults failed")

    workspace_created.connect(receiver)
    anon_client.raise_request_exception = False
    try:
        assert_json_error(register(anon_client), 500)
    finally:
        workspace_created.disconnect(receiver)
    # The failing hook rolled the whole registration back: no half-made account.
    assert len(seen) == 1
    assert not User.objects.filter(email="maria@example.com").exists()
    assert not Workspace.objects.filter(pk=seen[0]).exists()


def test_register_email_is_case_insensitive_unique(anon_client, user):
    response = register(anon_client, email=user.email.upper())
    assert_json_error(response, 409, "EMAIL_TAKEN")
    assert User.objects.filter(email__iexact=user.email).count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": PASSWORD_OK, "name": "x"}, "email"),
        ({"email": "not-an-email", "password": PASSWORD_OK}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": "123"}, "password"),
        ({"email": "a@example.com", "password": "password"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD_OK, "name": "x" * 10_000}, "name"),
        ({"email": ["a@example.com"], "password": PASSWORD_OK}, "email"),
        ({"email": "a@example.com", "password": {"x": 1}}, "password"),
        ({"email": "a@example.com", "password": PASSWORD_OK, "is_staff": True}, "is_staff"),
        ({"email": "a@example.com", "password": PASSWORD_OK, "role": "owner"}, "role"),
    ],
)
def test_register_bad_input_is_400_and_creates_nothing(anon_client, body, field):
    response = anon_client.post(REGISTER, body)
    error = assert_json_error(response, 400)
    assert field in error["errors"], error
    assert error["request_id"] == response["X-Request-ID"]
    assert User.objects.count() == 0 and Workspace.objects.count() == 0


@pytest.mark.parametrize("raw", ["[]", '"x"', "null", "42", "{bad json", '{"email": '])
def test_register_non_object_or_malformed_body_is_400(anon_client, raw):
    response = anon_client.generic("POST", REGISTER, raw, content_type="application/json")
    assert_json_error(response, 400)
    assert User.objects.count() == 0


# --- stale or garbage Authorization is ignored where the contract says so ----------------------
@pytest.mark.parametrize("header", GARBAGE_BEARERS)
def test_public_auth_endpoints_ignore_the_authorization_header(anon_client, user, workspace, header):
    anon_client.credentials(HTTP_AUTHORIZATION=header)
    assert register(anon_client, email="new@example.com").status_code == 201
    logged_in = login(anon_client, user.email)
    assert logged_in.status_code == 200
    refreshed = anon_client.post(REFRESH, {"refreshToken": logged_in.json()["refreshToken"]})
    assert refreshed.status_code == 200


def test_revoked_access_token_is_ignored_on_login_and_refresh(api_client, user):
    api_client.post(LOGOUT, {})
    # The client still holds the dead access token and sends it along.
    fresh = login(api_client, user.email)
    assert fresh.status_code == 200
    assert api_client.post(REFRESH, {"refreshToken": fresh.json()["refreshToken"]}).status_code == 200


# --- login ----------------------------------------------------------------------------------
def test_login_returns_tokens_user_and_workspace(anon_client, user, workspace):
    response = login(anon_client, user.email.upper())
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == str(user.pk) and body["user"]["role"] == "owner"
    assert body["workspace"]["id"] == str(workspace.pk)
    assert {"id", "name", "plan", "credits"} <= set(body["workspace"])


@pytest.mark.parametrize("email, password", [("nobody@example.com", PASSWORD_OK), (None, "wrong-password")])
def test_login_bad_credentials_is_401_with_message(anon_client, user, email, password):
    response = login(anon_client, email or user.email, password)
    body = assert_json_error(response, 401, "INVALID_CREDENTIALS")
    assert "password" in body["message"].lower()


def test_login_inactive_user_is_401(anon_client, user, workspace):
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_json_error(login(anon_client, user.email), 401)


@pytest.mark.parametrize(
    "body", [{}, {"email": "a@example.com"}, {"password": "x"}, {"email": 1, "password": True}, {"email": None}]
)
def test_login_bad_input_is_400(anon_client, body):
    assert_json_error(anon_client.post(LOGIN, body), 400, "VALIDATION_ERROR")


# --- access tokens: 401 cases ------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, *GARBAGE_BEARERS[:4]])
def test_protected_endpoint_without_valid_token_is_401(anon_client, header):
    if header:
        anon_client.credentials(HTTP_AUTHORIZATION=header)
    body = assert_json_error(anon_client.get(ME), 401)
    assert body["code"] in {"NOT_AUTHENTICATED", "TOKEN_INVALID"}


def test_refresh_token_is_not_an_access_token(anon_client, api_client):
    assert_json_error(bearer(anon_client, api_client.tokens["refresh"]).get(ME), 401)


def expired(token_class: type, raw: str) -> str:
    """The same token (same jti, session, workspace), re-signed with an expiry in the past."""
    token = token_class(raw)
    token.set_exp(from_time=timezone.now() - timedelta(days=400), lifetime=timedelta(days=1))
    return str(token)


def test_expired_access_token_is_401(anon_client, api_client):
    assert_json_error(
        bearer(anon_client, expired(AccessToken, api_client.tokens["access"])).get(ME), 401, "TOKEN_INVALID"
    )


def test_me(api_client, user, workspace):
    body = api_client.get(ME).json()
    assert body["user"] == {
        "id": str(user.pk),
        "email": user.email,
        "name": user.name,
        "role": "owner",
        "date_joined": body["user"]["date_joined"],
    }
    assert body["workspace"]["id"] == str(workspace.pk)


# --- refresh: 400 never 401, rotation, grace, reuse ---------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"refreshToken": ""},
        {"refreshToken": "garbage"},
        {"refreshToken": "a.b.c"},
        {"refreshToken": 12},
        {"refresh_token": [1]},
    ],
)
def test_bad_refresh_is_400_token_invalid(anon_client, body):
    assert_json_error(anon_client.post(REFRESH, body), 400, "TOKEN_INVALID")


@pytest.mark.parametrize("raw", ["[]", "null", '"x"', "{bad"])
def test_refresh_with_non_object_body_is_400_not_401(anon_client, raw):
    response = anon_client.generic("POST", REFRESH, raw, content_type="application/json")
    assert_json_error(response, 400)


def test_access_token_is_not_a_refresh_token(api_client):
    assert_json_error(api_client.post(REFRESH, {"refreshToken": api_client.tokens["access"]}), 400, "TOKEN_INVALID")


def test_expired_refresh_token_is_400(api_client):
    stale = expired(RefreshToken, api_client.tokens["refresh"])
    assert_json_error(api_client.post(REFRESH, {"refreshToken": stale}), 400, "TOKEN_INVALID")
    assert api_client.post(REFRESH, {"refreshToken": api_client.tokens["refresh"]}).status_code == 200


def test_tampered_token_is_refused(anon_client, api_client):
    header, payload, signature = api_client.tokens["access"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert_json_error(bearer(anon_client, forged).get(ME), 401, "TOKEN_INVALID")


def test_refresh_rotates_and_snake_case_is_accepted(anon_client, api_client):
    first = api_client.tokens["refresh"]
    response = anon_client.post(REFRESH, {"refresh_token": first})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken"}
    assert body["refreshToken"] != first
    assert bearer(anon_client, body["accessToken"]).get(ME).status_code == 200
    # The new refresh token rotates again; it belongs to the same session (family).
    again = anon_client.post(REFRESH, {"refreshToken": body["refreshToken"]})
    assert again.status_code == 200
    assert AuthSession.objects.count() == 1
    assert RefreshTokenRecord.objects.count() == 3


@override_settings(REFRESH_GRACE_REUSES=1)
def test_grace_window_reuse_works_exactly_the_allowed_number_of_times(anon_client, api_client):
    old = api_client.tokens["refresh"]
    first = anon_client.post(REFRESH, {"refreshToken": old})
    assert first.status_code == 200
    # A second extension page refreshes with the same (just-rotated) token: still fine.
    second = anon_client.post(REFRESH, {"refreshToken": old})
    assert second.status_code == 200
    assert bearer(anon_client, second.json()["accessToken"]).get(ME).status_code == 200
    # One replay more than allowed is theft: the family dies.
    third = anon_client.post(REFRESH, {"refreshToken": old})
    assert_json_error(third, 400, "TOKEN_REUSED")
    for pair in (first.json(), second.json()):
        assert_json_error(anon_client.post(REFRESH, {"refreshToken": pair["refreshToken"]}), 400, "TOKEN_INVALID")
        assert_json_error(bearer(anon_client, pair["accessToken"]).get(ME), 401)


@override_settings(REFRESH_GRACE_REUSES=3)
def test_grace_reuses_setting_is_honoured(anon_client, api_client):
    old = api_client.tokens["refresh"]
    for _ in range(4):
        assert anon_client.post(REFRESH, {"refreshToken": old}).status_code == 200
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": old}), 400, "TOKEN_REUSED")


def test_reuse_after_the_grace_window_revokes_the_whole_family(anon_client, api_client):
    old = api_client.tokens["refresh"]
    newest = anon_client.post(REFRESH, {"refreshToken": old}).json()
    # Move the rotation back in time beyond the window.
    RefreshTokenRecord.objects.filter(used_at__isnull=False).update(used_at=timezone.now() - timedelta(seconds=61))
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": old}), 400, "TOKEN_REUSED")
    session = AuthSession.objects.get()
    assert session.revoked_at is not None and session.revoke_reason == "refresh_reuse"
    # The newest refresh token of the family and every access token of it are dead too.
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": newest["refreshToken"]}), 400, "TOKEN_INVALID")
    assert_json_error(bearer(anon_client, newest["accessToken"]).get(ME), 401)
    assert_json_error(bearer(anon_client, api_client.tokens["access"]).get(ME), 401)


@override_settings(REFRESH_REUSE_GRACE=timedelta(seconds=0))
def test_zero_grace_window_treats_any_replay_as_theft(anon_client, api_client):
    old = api_client.tokens["refresh"]
    assert anon_client.post(REFRESH, {"refreshToken": old}).status_code == 200
    RefreshTokenRecord.objects.filter(used_at__isnull=False).update(used_at=timezone.now() - timedelta(seconds=1))
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": old}), 400, "TOKEN_REUSED")


def test_reuse_does_not_touch_other_sessions(anon_client, user, workspace, client_for):
    mine = client_for(user, workspace)
    laptop = client_for(user, workspace)
    anon_client.post(REFRESH, {"refreshToken": mine.tokens["refresh"]})
    RefreshTokenRecord.objects.filter(used_at__isnull=False).update(used_at=timezone.now() - timedelta(hours=1))
    anon_client.post(REFRESH, {"refreshToken": mine.tokens["refresh"]})
    assert laptop.get(ME).status_code == 200
    assert anon_client.post(REFRESH, {"refreshToken": laptop.tokens["refresh"]}).status_code == 200


# --- logout -----------------------------------------------------------------------------------
def test_logout_revokes_the_session(api_client, anon_client):
    response = api_client.post(LOGOUT, {})
    assert response.status_code == 200 and response.json()["message"]
    assert_json_error(api_client.get(ME), 401)
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": api_client.tokens["refresh"]}), 400, "TOKEN_INVALID")


def test_logout_with_empty_body_and_other_sessions_survive(user, workspace, client_for):
    one = client_for(user, workspace)
    two = client_for(user, workspace)
    response = one.generic("POST", LOGOUT, "", content_type="application/json")
    assert response.status_code == 200
    assert one.get(ME).status_code == 401
    assert two.get(ME).status_code == 200


def test_logout_with_garbage_refresh_token_still_logs_out(api_client):
    assert api_client.post(LOGOUT, {"refreshToken": "garbage"}).status_code == 200
    assert api_client.get(ME).status_code == 401


@pytest.mark.parametrize("token", [12, True, ["x"], {"a": 1}])
def test_logout_with_a_non_string_refresh_token_is_400_and_changes_nothing(api_client, token):
    response = api_client.post(LOGOUT, {"refreshToken": token})
    assert assert_json_error(response, 400, "VALIDATION_ERROR")["errors"]["refreshToken"]
    assert api_client.get(ME).status_code == 200


@pytest.mark.parametrize("raw", ["[null, null]", "[]", '"x"', "3"])
def test_logout_with_a_non_object_body_is_400_and_changes_nothing(api_client, raw):
    assert_json_error(api_client.generic("POST", LOGOUT, raw, content_type="application/json"), 400)
    assert api_client.get(ME).status_code == 200


def test_logout_without_a_token_is_401(anon_client):
    assert_json_error(anon_client.post(LOGOUT, {}), 401)


# --- password change --------------------------------------------------------------------------
def test_password_change_kills_other_sessions_and_returns_working_tokens(user, workspace, client_for, anon_client):
    current = client_for(user, workspace)
    other = client_for(user, workspace)
    response = current.put(PASSWORD, {"currentPassword": PASSWORD_OK, "newPassword": "An0ther-Str0ng-One"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"accessToken", "refreshToken", "user", "workspace"} <= set(body)
    # The other session: both its access and refresh tokens are dead.
    assert_json_error(other.get(ME), 401)
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": other.tokens["refresh"]}), 400, "TOKEN_INVALID")
    # The fresh tokens work; the new password logs in, the old one does not.
    assert bearer(anon_client, body["accessToken"]).get(ME).status_code == 200
    assert anon_client.post(REFRESH, {"refreshToken": body["refreshToken"]}).status_code == 200
    assert login(anon_client, user.email, "An0ther-Str0ng-One").status_code == 200
    assert login(anon_client, user.email).status_code == 401


def test_password_change_accepts_snake_case(api_client, user):
    response = api_client.put(PASSWORD, {"current_password": PASSWORD_OK, "new_password": "An0ther-Str0ng-One"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("An0ther-Str0ng-One")


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({"currentPassword": "wrong", "newPassword": "An0ther-Str0ng-One"}, "INVALID_PASSWORD", "currentPassword"),
        ({"currentPassword": PASSWORD_OK, "newPassword": "short"}, "VALIDATION_ERROR", "newPassword"),
        ({"currentPassword": PASSWORD_OK, "newPassword": "12345678901"}, "VALIDATION_ERROR", "newPassword"),
        ({"currentPassword": PASSWORD_OK}, "VALIDATION_ERROR", "newPassword"),
        ({"newPassword": "An0ther-Str0ng-One"}, "VALIDATION_ERROR", "currentPassword"),
        ({"currentPassword": PASSWORD_OK, "newPassword": ["x"]}, "VALIDATION_ERROR", "newPassword"),
        ({"currentPassword": PASSWORD_OK, "newPassword": "An0ther-Str0ng-One", "x": 1}, "VALIDATION_ERROR", "x"),
    ],
)
def test_password_change_bad_input_changes_nothing(api_client, user, body, code, field):
    response = api_client.put(PASSWORD, body)
    error = assert_json_error(response, 400, code)
    assert field in error["errors"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD_OK)
    assert api_client.get(ME).status_code == 200  # the session survives a refused change


# --- access removed: refused on the next request -------------------------------------------------
def test_deactivated_user_is_refused_on_next_request(api_client, anon_client, user):
    assert api_client.get(ME).status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_json_error(api_client.get(ME), 401)
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": api_client.tokens["refresh"]}), 400, "TOKEN_INVALID")


def test_removed_member_is_refused_on_next_request(workspace, make_member, client_for, anon_client):
    agent = make_member(workspace, role="agent")
    client = client_for(agent, workspace)
    assert client.get(ME).status_code == 200
    Membership.objects.filter(user=agent, workspace=workspace).delete()
    assert_json_error(client.get(ME), 401)
    assert_json_error(anon_client.post(REFRESH, {"refreshToken": client.tokens["refresh"]}), 400, "TOKEN_INVALID")


def test_membership_remove_service_ends_sessions_in_that_workspace_only(
    workspace, other_workspace, make_member, client_for
):
    from accounts.services import membership_remove

    agent = make_member(workspace, role="agent")
    Membership.objects.create(user=agent, workspace=other_workspace, role="viewer")
    here = client_for(agent, workspace)
    there = client_for(agent, other_workspace)
    membership_remove(membership=Membership.objects.get(user=agent, workspace=workspace))
    assert here.get(ME).status_code == 401
    assert there.get(ME).status_code == 200


def test_token_of_another_workspace_claim_is_refused(api_client, user, other_workspace):
    # A session minted for a workspace the user is not a member of authenticates nobody.
    from accounts.services import session_start

    pair = session_start(user=user, workspace=other_workspace)
    assert_json_error(bearer(api_client, pair.access).get(ME), 401)


# --- concurrency: several extension pages refresh with one stored token ----------------------------
@pytest.mark.django_db(transaction=True)
@override_settings(REFRESH_GRACE_REUSES=2)
def test_concurrent_refreshes_with_the_same_token_all_succeed(user, workspace, client_for):
    stored = client_for(user, workspace).tokens["refresh"]
    pages = [ApiClient() for _ in range(3)]
    results: list = [None] * len(pages)
    barrier = threading.Barrier(len(pages))

    def refresh(index: int) -> None:
        try:
            barrier.wait(timeout=20)
            results[index] = pages[index].post(REFRESH, {"refreshToken": stored})
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status_code for r in results] == [200, 200, 200], [r.content for r in results]
    # Every page ends up with a working, distinct pair in the same (live) session.
    refreshed = {r.json()["refreshToken"] for r in results}
    assert len(refreshed) == 3
    for response in results:
        assert bearer(ApiClient(), response.json()["accessToken"]).get(ME).status_code == 200
    assert AuthSession.objects.get().revoked_at is None


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_every_role_may_log_out_and_change_its_password(workspace, make_member, client_for, role):
    member = make_member(workspace, role=role)
    client = client_for(member, workspace)
    response = client.put(PASSWORD, {"currentPassword": PASSWORD_OK, "newPassword": "An0ther-Str0ng-One"})
    assert response.status_code == 200
    fresh = bearer(client, response.json()["accessToken"])
    assert fresh.post(LOGOUT, {}).status_code == 200
    assert fresh.get(ME).status_code == 401
