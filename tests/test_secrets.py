"""The secret scan itself: it sees every response and log line, and it can fail."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from accounts.models import User
from tests.secret_scan import SecretScanner, scanner_for


@pytest.fixture
def scanner(request: pytest.FixtureRequest) -> SecretScanner:
    return scanner_for(request.config)


def test_scanner_sees_every_test_client_response(scanner: SecretScanner, api_client: Any) -> None:
    before = scanner.request_seq
    assert api_client.get("/api/v1/auth/me").status_code == 200
    assert api_client.get("/api/v1/settings/workspace").status_code == 200
    assert scanner.request_seq == before + 2


def test_password_hashes_and_issued_tokens_are_registered_as_secrets(
    scanner: SecretScanner, anon_client: Any, db: Any
) -> None:
    response = anon_client.post(
        "/api/v1/auth/register", {"email": "scan@example.com", "password": "Str0ng-pass!", "name": "Scan"}
    )
    assert response.status_code == 201
    stored_hash = User.objects.get(email="scan@example.com").password
    assert stored_hash in scanner.secrets
    assert response.json()["refreshToken"] in scanner.secrets


def test_auth_flows_never_return_old_tokens_or_hashes(anon_client: Any, db: Any) -> None:
    # Every response here passes through the scanner; a hash or a replayed token fails this test.
    credentials = {"email": "flow@example.com", "password": "Str0ng-pass!", "name": "Flow"}
    first = anon_client.post("/api/v1/auth/register", credentials).json()
    login = anon_client.post("/api/v1/auth/login", {"email": credentials["email"], "password": "Str0ng-pass!"})
    assert login.status_code == 200
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['accessToken']}")
    assert anon_client.get("/api/v1/auth/me").status_code == 200
    refreshed = anon_client.post("/api/v1/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert refreshed.status_code == 200
    changed = anon_client.put(
        "/api/v1/auth/password", {"currentPassword": "Str0ng-pass!", "newPassword": "An0ther-pass!"}, format="json"
    )
    assert changed.status_code == 200, changed.content


def test_detects_a_password_hash_a_stale_token_and_a_logged_secret() -> None:
    probe = SecretScanner()
    assert probe.scan_text('{"password": "pbkdf2_sha256$870000$salt$abcdef=="}', where="probe")
    assert probe.scan_text("x md5$s4lt$0123456789abcdef y", where="probe")
    probe.request_seq = 3
    probe.remember("eyJhbGciOiJIUzI1NiJ9.refresh.token", "token 'refreshToken'")
    assert not probe.scan_text("... eyJhbGciOiJIUzI1NiJ9.refresh.token ...", where="issuing", allow_from_request=3)
    assert probe.scan_text("... eyJhbGciOiJIUzI1NiJ9.refresh.token ...", where="later", allow_from_request=4)
    assert not probe.scan_text('{"name": "plain text, md5 mentioned"}', where="probe")

    logger = logging.getLogger("whl.secret-scan-probe")
    from tests.secret_scan import _LogScanHandler

    handler = _LogScanHandler(probe)
    logger.addHandler(handler)
    try:
        before = len(probe.leaks)
        logger.error("rotated key %s", "eyJhbGciOiJIUzI1NiJ9.refresh.token")
        assert len(probe.leaks) == before + 1
    finally:
        logger.removeHandler(handler)


def test_detects_an_encrypted_fields_plaintext_in_the_database(workspace: Any) -> None:
    from django.db import models
    from django.test.utils import isolate_apps

    from whatshybrid.crypto import EncryptedTextField

    with isolate_apps("whatshybrid.api"):

        class Probe(models.Model):
            credential = EncryptedTextField()

            class Meta:
                app_label = "api"

            def __str__(self) -> str:
                return "probe"

    probe = SecretScanner()
    probe.on_save(Probe, Probe(credential="sk-plaintext-probe-0042"))
    assert probe.encrypted == {"sk-plaintext-probe-0042": "Probe.credential"}
    assert not probe.scan_database()
    workspace.name = "sk-plaintext-probe-0042"  # the plaintext written where it does not belong
    workspace.save()
    from django.db import connection

    if connection.vendor == "sqlite":
        assert [leak.where for leak in probe.scan_database()] == ["the database"]
