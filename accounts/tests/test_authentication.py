"""The hand-written session lookup loads exactly what the ORM would, and refuses what it must."""

from __future__ import annotations

import pytest
from django.db.models import Model
from django.utils import timezone

from accounts.authentication import TokenInvalid, resolve_access_token
from accounts.models import Membership, User, Workspace
from accounts.services import session_start


def _stored(instance: Model) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_loaded_objects_equal_the_orm_rows(user: User, workspace: Workspace) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(settings={"k": [1, "á"]}, credits=7)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    pair = session_start(user=user, workspace=workspace)

    loaded_user, context = resolve_access_token(pair.access)

    membership = Membership.objects.get(user=user, workspace=workspace)
    assert _stored(loaded_user) == _stored(User.objects.get(pk=user.pk))
    assert _stored(context.workspace) == _stored(Workspace.objects.get(pk=workspace.pk))
    assert _stored(context.membership) == _stored(membership)
    assert context.membership.user is loaded_user and context.membership.workspace is context.workspace
    assert context.session_id == str(pair.session.pk)


@pytest.mark.parametrize(
    "end_session",
    [
        lambda pair, user: pair.session.__class__.objects.filter(pk=pair.session.pk).update(revoked_at=timezone.now()),
        lambda pair, user: User.objects.filter(pk=user.pk).update(is_active=False),
        lambda pair, user: Membership.objects.filter(user=user).delete(),
    ],
    ids=["revoked", "deactivated", "removed"],
)
def test_an_ended_session_is_refused(user: User, workspace: Workspace, end_session) -> None:
    pair = session_start(user=user, workspace=workspace)
    resolve_access_token(pair.access)
    end_session(pair, user)
    with pytest.raises(TokenInvalid) as raised:
        resolve_access_token(pair.access)
    assert raised.value.get_codes() == "SESSION_ENDED"


def test_a_session_of_another_workspace_does_not_count(user: User, workspace: Workspace, other_workspace) -> None:
    Membership.objects.create(user=user, workspace=other_workspace, role=Membership.Role.AGENT)
    pair = session_start(user=user, workspace=other_workspace)
    _, context = resolve_access_token(pair.access)
    assert context.workspace.pk == other_workspace.pk
    pair.session.__class__.objects.filter(pk=pair.session.pk).update(workspace=workspace)
    with pytest.raises(TokenInvalid):
        resolve_access_token(pair.access)


def test_a_token_checked_once_still_expires(user: User, workspace: Workspace) -> None:
    import datetime
    import time

    from rest_framework_simplejwt.tokens import AccessToken

    session = session_start(user=user, workspace=workspace).session
    token = AccessToken()
    token.set_exp(lifetime=datetime.timedelta(seconds=1))
    token["sub"], token["sid"], token["ws"] = str(user.pk), str(session.pk), str(workspace.pk)
    raw = str(token)
    assert resolve_access_token(raw)[0].pk == user.pk
    time.sleep(1.1)
    with pytest.raises(TokenInvalid):
        resolve_access_token(raw)
