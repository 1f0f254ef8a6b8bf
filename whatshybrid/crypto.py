"""Secrets at rest: Fernet tokens under keys from the environment (``ENCRYPTION_KEYS``).

The first key encrypts, every key decrypts (``MultiFernet``), so a key is rotated by putting a new
one in front, running ``manage.py rotate_encryption_key`` and then dropping the old one (README,
"Outgoing HTTP and secrets"). Without ``ENCRYPTION_KEYS`` a development process generates one key
into the data folder once and warns; production refuses to start without keys (settings).

Models store secrets in an ``EncryptedTextField``: Python code sees the plaintext, the database
only ever holds the token.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)

GENERATE_HINT = "generate one with `manage.py rotate_encryption_key --generate-key`"
_UNDECRYPTABLE = (
    "cannot decrypt a stored secret: it was not encrypted with any key in ENCRYPTION_KEYS "
    "(was its key dropped before `manage.py rotate_encryption_key` ran?)"
)


class DecryptionError(ValueError):
    """A stored value that none of ``ENCRYPTION_KEYS`` can decrypt (or that is no token at all)."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def encrypt(plaintext: str) -> str:
    """A Fernet token (URL-safe text) for ``plaintext``, under the first key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _decrypt_under(_key_material(), token)


# Every read of a stored secret decrypts it (an AI call reads the workspace's keys each time).
# Cached by the token and the key set it was read under: a rotated secret is a new token and a
# changed ENCRYPTION_KEYS a new key set, so a cached plaintext is always one the current keys
# would produce. Failures are not cached (lru_cache keeps only returned values).
@functools.lru_cache(maxsize=1024)
def _decrypt_under(keys: tuple[str, ...], token: str) -> str:
    try:
        return MultiFernet(_parse_keys(keys)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(_UNDECRYPTABLE) from None


def needs_rotation(token: str) -> bool:
    """True when ``token`` is not under the first key (``DecryptionError`` when no key reads it)."""
    try:
        _keys()[0].decrypt(token.encode())
        return False
    except InvalidToken:
        decrypt(token)  # readable by an older key, or DecryptionError
        return True


def rotate(token: str) -> str:
    """``token`` re-encrypted under the first key; its plaintext never leaves ``MultiFernet``."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(_UNDECRYPTABLE) from None


def check_configuration() -> None:
    """Parses the configured keys now, so a malformed key stops the process at startup rather than
    at first use. The development key is only generated at first use: a build step such as
    ``collectstatic`` must not bake one into an image."""
    if settings.ENCRYPTION_KEYS:
        _parse_keys(tuple(settings.ENCRYPTION_KEYS))


def key_count() -> int:
    return len(_keys())


def _fernet() -> MultiFernet:
    return MultiFernet(_keys())


def _keys() -> list[Fernet]:
    return _parse_keys(_key_material())


def _key_material() -> tuple[str, ...]:
    return tuple(settings.ENCRYPTION_KEYS) or (_development_key(Path(settings.ENCRYPTION_KEY_FILE)),)


@functools.lru_cache(maxsize=8)
def _parse_keys(keys: tuple[str, ...]) -> list[Fernet]:
    parsed = []
    for position, key in enumerate(keys, start=1):
        try:
            parsed.append(Fernet(key.encode()))
        except ValueError:
            # Never echo the value: a typo'd key is still mostly a secret.
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS: key #{position} of {len(keys)} is not a Fernet key "
                f"(32 url-safe base64-encoded bytes); {GENERATE_HINT}."
            ) from None
    return parsed


@functools.lru_cache(maxsize=8)
def _development_key(path: Path) -> str:
    if not path.exists():
        _write_new_key(path)
        logger.warning(
            "ENCRYPTION_KEYS is not set: secrets at rest use a development key generated into %s. "
            "Production (WHL_PRODUCTION=1) requires ENCRYPTION_KEYS; keep this file with the database.",
            path,
        )
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(
            f"{path} is empty: delete it to generate a new development key, or set ENCRYPTION_KEYS."
        )
    return key


def _write_new_key(path: Path) -> None:
    # Written aside and linked into place: concurrent first starts (web + worker) end up sharing
    # whichever key landed first, and nobody ever reads a half-written file.
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".encryption-key-")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(generate_key() + "\n")
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; instances and querysets see the plaintext.

    Tokens are randomized, so the column cannot be compared: every lookup except ``isnull`` is
    refused (``FieldError``) instead of silently matching nothing. The empty string is stored as
    is (that a secret is unset is not secret).
    """

    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> Any:
        return None
