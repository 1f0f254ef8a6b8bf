"""Production settings, checked in fresh interpreters (settings are read once per process)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PROBE = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def run_python(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "WHL_PRODUCTION", "SECRET_KEY", "JWT_SECRET", "ENCRYPTION_KEYS"}
    }
    base["DJANGO_SETTINGS_MODULE"] = "whatshybrid.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=settings.BASE_DIR, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def production_env(**extra: str) -> dict[str, str]:
    return {
        "WHL_PRODUCTION": "1",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "api.example.com",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **extra,
    }


def test_check_deploy_is_clean_with_production_settings():
    # Production runs on PostgreSQL + Redis (docker-compose.yml). The checks only read the
    # backends' static features, so these URLs are never connected to.
    services = {"DATABASE_URL": "postgres://whl@127.0.0.1:9/whl", "REDIS_URL": "redis://127.0.0.1:9/0"}
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], **production_env(**services))
    assert result.returncode == 0, result.stdout + result.stderr
    # Silenced ids (SILENCED_SYSTEM_CHECKS) would show up in this count; none fires.
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_debug_is_off_by_default_and_on_only_when_asked():
    assert run_python(["-c", PROBE]).stdout.strip() == "False"
    assert run_python(["-c", PROBE], DEBUG="1").stdout.strip() == "True"


@pytest.mark.parametrize(
    "secret_key",
    [
        None,  # the built-in development key
        "too-short-" * 3,
        "a" * 80,  # long but guessable
        "".join(char * 10 for char in "abcde") * 2,  # aaaa...bbbb...: 5 distinct characters, 2.3 bits each
        "ab" * 40,
    ],
)
def test_production_refuses_to_start_without_a_real_secret_key(secret_key):
    env = production_env()
    if secret_key is None:
        env.pop("SECRET_KEY")
    else:
        env["SECRET_KEY"] = secret_key
    result = run_python(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "requires SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_encryption_keys():
    env = production_env()
    env.pop("ENCRYPTION_KEYS")
    result = run_python(["manage.py", "check"], **env)
    assert result.returncode != 0 and "WHL_PRODUCTION=1 requires ENCRYPTION_KEYS" in result.stderr


def test_malformed_encryption_keys_or_allowlist_stop_the_start():
    good = Fernet.generate_key().decode()
    result = run_python(["manage.py", "check"], **production_env(ENCRYPTION_KEYS=f"{good},not-a-key"))
    assert result.returncode != 0 and "ENCRYPTION_KEYS: key #2 of 2 is not a Fernet key" in result.stderr
    assert "not-a-key" not in result.stderr
    result = run_python(["manage.py", "check"], OUTGOING_HTTP_ALLOW_NETWORKS="10.0.0.0/33")
    assert result.returncode != 0 and "OUTGOING_HTTP_ALLOW_NETWORKS" in result.stderr


@pytest.mark.parametrize("jwt_secret", ["short", "a" * 40 + "b" * 40])
def test_production_refuses_a_weak_jwt_secret(jwt_secret):
    result = run_python(["manage.py", "check"], **production_env(JWT_SECRET=jwt_secret))
    assert result.returncode != 0 and "JWT_SECRET" in result.stderr


def test_generated_keys_pass_the_strength_check():
    from django.core.management.utils import get_random_secret_key

    from whatshybrid.settings import key_is_strong

    # The shortest real keys of each common kind, many draws: the entropy bar never refuses one.
    keys = [secrets.token_hex(25) for _ in range(300)] + [secrets.token_urlsafe(38) for _ in range(300)]
    keys += [get_random_secret_key() for _ in range(300)]
    assert all(key_is_strong(key) for key in keys)
    assert not key_is_strong("a" * 40 + "b" * 40)


def test_production_hardening_is_on():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    assert run_python(["-c", code], **production_env()).stdout.split() == ["True", "True", "True", "True"]
