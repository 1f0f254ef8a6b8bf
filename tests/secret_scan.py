"""A pytest plugin that scans every response body and log line of the test session for secrets.

What counts as a leak:
- a password hash (``pbkdf2_sha256$...``, ``md5$...``, ``argon2...$``, ``bcrypt$...``, ...), anywhere;
- a secret written to the database (any field named like ``secret``/``password``/``api_key``/
  ``token``/``private_key``) appearing in a response of a *later* request: the request that
  creates or rotates a secret may show it once, nothing after it may;
- an access or refresh token appearing in a response after the one that issued it;
- any of those secrets in a log line;
- the plaintext of an ``EncryptedTextField`` (whatshybrid/crypto.py) anywhere in the SQLite
  database after the test ran (every table, read through the test's own connection so its open
  transaction counts, plus the database and WAL files' bytes).

Responses are captured at Django's test-client handler (every in-process request of every app's
tests); live-server tests feed what they receive through ``scan_text``. A leak fails the test that
caused it and the session.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HASH_PATTERN = re.compile(
    r"\b(?:pbkdf2_sha256|pbkdf2_sha1|argon2(?:id|i|d)?|bcrypt_sha256|bcrypt|scrypt|md5|sha1|unsalted_md5)\$[^\s\"']{6,}"
)
SECRET_FIELD = re.compile(r"secret|password|api_?key|private_?key|token", re.IGNORECASE)
TOKEN_KEYS = frozenset({"accessToken", "refreshToken", "access_token", "refresh_token", "access", "refresh"})
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class Leak:
    test: str
    where: str
    what: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.test}: {self.what} in {self.where}: ...{self.excerpt}..."


class SecretScanner:
    def __init__(self) -> None:
        self.request_seq = 0
        # secret value -> (what it is, request number during which it came into existence)
        self.secrets: dict[str, tuple[str, int]] = {}
        # plaintext saved through an encrypted field -> which field; must never reach the database
        self.encrypted: dict[str, str] = {}
        self.leaks: list[Leak] = []
        self.current_test = "(outside a test)"
        self._installed = False

    # --- detection ----------------------------------------------------------------------------
    def scan_text(self, text: str, *, where: str, allow_from_request: int | None = None) -> list[Leak]:
        """Records and returns the leaks in ``text``. Secrets born in ``allow_from_request`` are allowed."""
        found = []
        match = HASH_PATTERN.search(text)
        if match:
            found.append(Leak(self.current_test, where, "password hash", self._excerpt(text, match.start())))
        for value, (what, born) in list(self.secrets.items()):
            if born == allow_from_request:
                continue
            position = text.find(value)
            if position >= 0:
                found.append(Leak(self.current_test, where, what, self._excerpt(text, position)))
        self.leaks += found
        return found

    @staticmethod
    def _excerpt(text: str, position: int) -> str:
        return text[max(0, position - 40) : position + 40].replace("\n", " ")

    def remember(self, value: Any, what: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value not in self.secrets:
            self.secrets[value] = (what, self.request_seq)

    def remember_tokens(self, body: Any, where: str) -> None:
        if isinstance(body, dict):
            for key, value in body.items():
                if key in TOKEN_KEYS and isinstance(value, str):
                    self.remember(value, f"token {key!r} issued by {where}")
                else:
                    self.remember_tokens(value, where)
        elif isinstance(body, list):
            for item in body:
                self.remember_tokens(item, where)

    # --- capture ------------------------------------------------------------------------------
    def on_response(self, request_line: str, response: Any) -> None:
        if getattr(response, "streaming", False):
            return
        content = getattr(response, "content", b"")
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        self.scan_text(text, where=f"response to {request_line}", allow_from_request=self.request_seq)
        if "json" in response.get("Content-Type", ""):
            with contextlib.suppress(ValueError):
                self.remember_tokens(json.loads(text), request_line)

    def scan_database(self) -> list[Leak]:
        """Leaks of encrypted fields' plaintext into the SQLite database (PostgreSQL: not scanned)."""
        from django.db import connection

        if not self.encrypted or connection.vendor != "sqlite":
            return []
        parts = [] if connection.connection is None else list(connection.connection.iterdump())
        for suffix in ("", "-wal"):
            path = Path(f"{connection.settings_dict['NAME']}{suffix}")
            if path.is_file():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
        contents = "\n".join(parts)
        found = [
            Leak(self.current_test, "the database", f"plaintext of {what}", self._excerpt(contents, position))
            for value, what in self.encrypted.items()
            if (position := contents.find(value)) >= 0
        ]
        self.leaks += found
        return found

    def on_save(self, sender: type, instance: Any, **kwargs: Any) -> None:
        from whatshybrid.crypto import EncryptedTextField

        for field in sender._meta.concrete_fields:
            value = getattr(instance, field.attname, None)
            if SECRET_FIELD.search(field.name):
                self.remember(value, f"{sender.__name__}.{field.name}")
            if isinstance(field, EncryptedTextField) and isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
                self.encrypted[value] = f"{sender.__name__}.{field.name}"

    def install(self) -> None:
        if self._installed:
            return
        self._installed = True
        from django.db.models.signals import post_save
        from django.test import client as test_client

        scanner = self
        sync_call = test_client.ClientHandler.__call__
        async_call = test_client.AsyncClientHandler.__call__

        def call(handler: Any, environ: dict[str, Any]) -> Any:
            scanner.request_seq += 1
            response = sync_call(handler, environ)
            scanner.on_response(f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}", response)
            return response

        async def acall(handler: Any, scope: dict[str, Any]) -> Any:
            scanner.request_seq += 1
            response = await async_call(handler, scope)
            scanner.on_response(f"{scope.get('method')} {scope.get('path')}", response)
            return response

        test_client.ClientHandler.__call__ = call
        test_client.AsyncClientHandler.__call__ = acall
        post_save.connect(self.on_save, dispatch_uid="whl-secret-scan", weak=False)
        logging.getLogger().addHandler(_LogScanHandler(self))

    # --- pytest hooks -------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # Each test gets a fresh database, so earlier tests' secrets cannot be served any more.
        self.current_test = item.nodeid
        self.secrets.clear()
        self.encrypted.clear()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        before = len(self.leaks)
        result = yield
        self.scan_database()  # before teardown: the test's rows (and open transaction) are still there
        new = self.leaks[before:]
        if new:
            raise AssertionError("secret leaked:\n" + "\n".join(str(leak) for leak in new))
        return result

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.leaks:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_sep("=", f"secret scan: {len(self.leaks)} leak(s)", red=True)
                for leak in self.leaks:
                    reporter.write_line(str(leak))
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


class _LogScanHandler(logging.Handler):
    def __init__(self, scanner: SecretScanner) -> None:
        super().__init__(level=logging.DEBUG)
        self.scanner = scanner

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed log call is not ours to judge here
            text = str(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text += "\n" + (record.exc_text or "")
        self.scanner.scan_text(text, where=f"log {record.name}:{record.levelname}")


PLUGIN_NAME = "whl-secret-scan"


def scanner_for(config: pytest.Config) -> SecretScanner:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if plugin is None:
        plugin = SecretScanner()
        config.pluginmanager.register(plugin, PLUGIN_NAME)
    return plugin
