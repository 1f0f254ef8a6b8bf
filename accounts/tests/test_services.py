"""Account services outside HTTP: pruning ended sessions, registration defaults, the admin path."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from accounts.models import AuthSession, Membership, RefreshTokenRecord
from accounts.services import membership_remove, session_prune, session_revoke, session_start, token_refresh
from whatshybrid.api import pruning
from whatshybrid.api.jobs import prune_expired
from whatshybrid.api.pruning import prune_all, register_pruner, registered_pruners

pytestmark = pytest.mark.django_db


def test_session_prune_keeps_live_sessions_and_drops_dead_ones(user, workspace, api_client):
    live = AuthSession.objects.get()
    revoked = session_start(user=user, workspace=workspace).session
    session_revoke(session=revoked, reason="logout")
    idle = session_start(user=user, workspace=workspace).session
    AuthSession.objects.filter(pk=idle.pk).update(created_at=timezone.now() - timedelta(days=400))
    token_refresh(raw_refresh_token=api_client.tokens["refresh"])  # a used record, still unexpired
    RefreshTokenRecord.objects.filter(session=live, used_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    deleted = session_prune()

    assert set(AuthSession.objects.values_list("pk", flat=True)) == {live.pk}
    assert RefreshTokenRecord.objects.filter(session=live).count() == 1  # the used, unexpired one
    assert deleted >= 3
    assert session_prune() == 0  # idempotent
    assert api_client.get("/api/v1/auth/me").status_code == 200


def test_prune_command_runs_every_registered_pruner(user, workspace):
    session_revoke(session=session_start(user=user, workspace=workspace).session, reason="logout")
    out = StringIO()
    call_command("prune", stdout=out, stderr=StringIO())
    assert "pruned" in out.getvalue()
    assert not AuthSession.objects.exists()
    assert {"auth_sessions", "idempotency_keys"} <= set(registered_pruners())


def test_prune_command_lists_and_rejects_unknown_names():
    out = StringIO()
    call_command("prune", "--list", stdout=out)
    assert "auth_sessions" in out.getvalue().split()
    with pytest.raises(CommandError, match="Unknown pruner"):
        call_command("prune", "nope")


@override_settings(TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}})
def test_prune_job_reports_per_pruner_counts(user, workspace):
    session_revoke(session=session_start(user=user, workspace=workspace).session, reason="logout")
    result = prune_expired.enqueue()
    assert result.return_value["auth_sessions"] >= 1
    assert result.return_value["idempotency_keys"] == 0


def test_pruner_names_are_unique(monkeypatch):
    monkeypatch.setattr(pruning, "_PRUNERS", dict(pruning._PRUNERS))  # leave the real registry untouched

    def first() -> int:
        return 0

    register_pruner("test_unique_probe", first)
    register_pruner("test_unique_probe", first)  # re-registering the same one is fine (reloads)
    with pytest.raises(ValueError):
        register_pruner("test_unique_probe", lambda: 0)
    assert prune_all(only=["test_unique_probe"]) == {"test_unique_probe": 0}


def test_membership_remove_deletes_the_membership(workspace, make_member):
    agent = make_member(workspace, role="agent")
    membership_remove(membership=Membership.objects.get(user=agent))
    assert not Membership.objects.filter(user=agent).exists()
