"""Secrets at rest (whatshybrid/crypto.py) and ``manage.py rotate_encryption_key`` on real rows."""

from __future__ import annotations

import io
import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, models

from whatshybrid import crypto
from whatshybrid.api.management.commands.rotate_encryption_key import encrypted_columns

SECRET = "sk-live-4f9c2e7a1b8d"


@pytest.fixture
def key(settings: Any) -> str:
    settings.ENCRYPTION_KEYS = [crypto.generate_key()]
    return settings.ENCRYPTION_KEYS[0]


@pytest.fixture
def vault(transactional_db: Any, key: str) -> Iterator[type[models.Model]]:
    """A model with encrypted fields, registered and given a table for this test only (shared
    plumbing has no secret of its own to store, and a domain app's model would tie this to it)."""

    class Vault(models.Model):
        api_key = crypto.EncryptedTextField()
        note = crypto.EncryptedTextField(null=True, blank=True)

        class Meta:
            app_label = "api"

        def __str__(self) -> str:
            return f"vault {self.pk}"

    with connection.schema_editor() as editor:
        editor.create_model(Vault)
    try:
        yield Vault
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Vault)
        del apps.all_models["api"]["vault"]
        apps.clear_cache()


def raw_column(model: type[models.Model], column: str) -> list[str | None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} ORDER BY id")  # noqa: S608 (test-only names)
        return [row[0] for row in cursor.fetchall()]


def test_round_trip(key: str) -> None:
    token = crypto.encrypt(SECRET)
    assert SECRET not in token
    assert crypto.decrypt(token) == SECRET
    assert crypto.decrypt(crypto.encrypt("çã ✓")) == "çã ✓"
    assert crypto.encrypt(SECRET) != token  # randomized: equal secrets do not show as equal tokens


def test_rotation_with_two_keys(settings: Any, key: str) -> None:
    old_token = crypto.encrypt(SECRET)
    new_key = crypto.generate_key()
    settings.ENCRYPTION_KEYS = [new_key, key]
    assert crypto.decrypt(old_token) == SECRET  # old data stays readable
    assert crypto.needs_rotation(old_token)
    rotated = crypto.rotate(old_token)
    assert not crypto.needs_rotation(rotated)
    assert Fernet(new_key.encode()).decrypt(rotated.encode()).decode() == SECRET
    assert not crypto.needs_rotation(crypto.encrypt("fresh"))  # new writes use the first key

    settings.ENCRYPTION_KEYS = [new_key]  # the old key removed
    assert crypto.decrypt(rotated) == SECRET
    with pytest.raises(crypto.DecryptionError, match="not encrypted with any key in ENCRYPTION_KEYS"):
        crypto.decrypt(old_token)


def test_a_value_under_an_unknown_key_or_no_token_is_a_clear_error(settings: Any, key: str) -> None:
    foreign = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    for value in (foreign, "plain text, never encrypted"):
        with pytest.raises(crypto.DecryptionError, match="rotate_encryption_key"):
            crypto.decrypt(value)
        with pytest.raises(crypto.DecryptionError):
            crypto.needs_rotation(value)


@pytest.mark.parametrize("bad", ["not-a-key", "", "A" * 40, "!" * 44])
def test_malformed_keys_are_refused_without_echoing_them(settings: Any, bad: str) -> None:
    settings.ENCRYPTION_KEYS = [crypto.generate_key(), bad]
    with pytest.raises(ImproperlyConfigured, match=r"ENCRYPTION_KEYS: key #2 of 2 is not a Fernet key") as caught:
        crypto.check_configuration()
    assert not bad or bad not in str(caught.value)


def test_without_keys_development_generates_one_key_once_and_warns(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ENCRYPTION_KEYS = []
    settings.ENCRYPTION_KEY_FILE = str(tmp_path / "data" / "encryption.key")
    with caplog.at_level(logging.WARNING, logger="whatshybrid.crypto"):
        token = crypto.encrypt(SECRET)
    assert "ENCRYPTION_KEYS is not set" in caplog.text and settings.ENCRYPTION_KEY_FILE in caplog.text
    key_file = Path(settings.ENCRYPTION_KEY_FILE)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # A later process (no cache) reads the same key instead of generating another.
    crypto._development_key.cache_clear()
    caplog.clear()
    assert crypto.decrypt(token) == SECRET
    assert "ENCRYPTION_KEYS is not set" not in caplog.text
    assert Fernet(key_file.read_text().strip().encode()).decrypt(token.encode()).decode() == SECRET


def test_the_startup_check_generates_no_development_key(settings: Any, tmp_path: Path) -> None:
    # A build step (collectstatic in the Dockerfile) runs the check: no key may land in the image.
    settings.ENCRYPTION_KEYS = []
    settings.ENCRYPTION_KEY_FILE = str(tmp_path / "encryption.key")
    crypto.check_configuration()
    assert not Path(settings.ENCRYPTION_KEY_FILE).exists()


def test_the_data_folder_and_its_key_are_never_committed() -> None:
    root = Path(__file__).resolve().parents[3]
    assert "data/" in (root / ".gitignore").read_text().split()


def test_the_database_holds_only_the_token(vault: type[models.Model]) -> None:
    row = vault.objects.create(api_key=SECRET, note="")
    stored = raw_column(vault, "api_key")[0]
    assert SECRET not in stored
    assert crypto.decrypt(stored) == SECRET
    row.refresh_from_db()
    assert row.api_key == SECRET
    assert list(vault.objects.values_list("api_key", flat=True)) == [SECRET]
    assert raw_column(vault, "note") == [""]  # that a secret is unset is not secret

    vault.objects.filter(pk=row.pk).update(api_key="sk-updated-0000")
    assert "sk-updated-0000" not in raw_column(vault, "api_key")[0]
    assert vault.objects.get(pk=row.pk).api_key == "sk-updated-0000"


def test_lookups_on_an_encrypted_column_are_refused(vault: type[models.Model]) -> None:
    vault.objects.create(api_key=SECRET)
    with pytest.raises(FieldError, match="Unsupported lookup 'exact'"):
        list(vault.objects.filter(api_key=SECRET))
    with pytest.raises(FieldError):
        list(vault.objects.filter(api_key__icontains="sk"))
    assert vault.objects.filter(note__isnull=True).count() == 1


def test_models_with_encrypted_fields_are_found_through_the_registry(vault: type[models.Model]) -> None:
    assert (vault, ["api_key", "note"]) in encrypted_columns()


def rotate(**options: Any) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_the_command_re_encrypts_every_row_under_the_new_first_key(
    settings: Any, key: str, vault: type[models.Model]
) -> None:
    for number in range(7):
        vault.objects.create(api_key=f"{SECRET}-{number}", note=f"note-{number}" if number % 2 else None)
    before = raw_column(vault, "api_key")
    new_key = crypto.generate_key()
    settings.ENCRYPTION_KEYS = [new_key, key]

    output = rotate(batch_size=3)
    assert "10 secret(s) re-encrypted under the first key, 0 already under it." in output
    assert "1 key(s) can be removed" in output
    after = raw_column(vault, "api_key")
    assert set(before).isdisjoint(after)
    new_only = Fernet(new_key.encode())
    for token in after + [note for note in raw_column(vault, "note") if note]:
        new_only.decrypt(token.encode())  # raises if any value is still under the old key

    assert "0 secret(s) re-encrypted under the first key, 10 already under it." in rotate(batch_size=3)
    assert raw_column(vault, "api_key") == after  # idempotent: nothing rewritten

    settings.ENCRYPTION_KEYS = [new_key]  # the old key dropped: everything still reads
    assert sorted(vault.objects.values_list("api_key", flat=True)) == [f"{SECRET}-{n}" for n in range(7)]
    assert "To rotate: generate a key" in rotate()


def test_the_command_names_values_no_key_can_read_and_rotates_the_rest(
    settings: Any, key: str, vault: type[models.Model]
) -> None:
    readable = vault.objects.create(api_key=SECRET)
    lost = vault.objects.create(api_key="placeholder")
    foreign = Fernet(Fernet.generate_key()).encrypt(b"lost").decode()
    vault.objects.filter(pk=lost.pk).update(api_key=models.Value(foreign, output_field=models.TextField()))
    settings.ENCRYPTION_KEYS = [crypto.generate_key(), key]

    with pytest.raises(CommandError, match=rf"1 value\(s\) could not be decrypted .*api.Vault pk={lost.pk} api_key"):
        rotate()
    assert not crypto.needs_rotation(raw_column(vault, "api_key")[0])
    assert vault.objects.filter(pk=readable.pk).values_list("api_key", flat=True)[0] == SECRET


def test_generate_key_prints_a_usable_key(db: Any) -> None:
    Fernet(rotate(generate_key=True).strip().encode())
