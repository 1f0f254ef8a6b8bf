"""Shared fixtures: users, workspaces and authenticated API clients."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Membership, User, Workspace
from accounts.services import session_start, workspace_create

# Fixtures shared across apps' test packages (``listeners``: counting TCP listeners).
pytest_plugins = ["whatshybrid.api.tests.listeners"]

_counter = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def _remove_sqlite_test_sidecars() -> Iterator[None]:
    # Django deletes the file-backed SQLite test database but not its WAL/SHM companions (nor the
    # lock files of whatshybrid.write_turns and whatshybrid.db_backends.sqlite3).
    yield
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASE_IS_SQLITE and name and not Path(name).exists():
        for suffix in ("-wal", "-shm", "-writers", "-batch", "-write"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
    if settings.CACHES["default"]["BACKEND"] == "whatshybrid.caching.MachineCache":
        cache.close()
        shutil.rmtree(settings.CACHES["default"]["LOCATION"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # Rate-limit counters live in the cache; each test starts with a clean budget.
    cache.clear()


class ApiClient(APIClient):
    """An APIClient that sends JSON like the extension does and remembers its tokens."""

    tokens: dict[str, str]
    default_format = "json"  # without it, post(url, data) would send multipart

    def request(self, **kwargs: Any) -> Any:
        kwargs.setdefault("CONTENT_TYPE", "application/json")
        return super().request(**kwargs)

    def login_as(self, user: User, workspace: Workspace) -> ApiClient:
        pair = session_start(user=user, workspace=workspace)
        self.tokens = {"access": pair.access, "refresh": pair.refresh}
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
        return self


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(*, email: str | None = None, password: str = "s3cret-Passw0rd", name: str = "Test User") -> User:
        return User.objects.create_user(
            email=email or f"user{next(_counter)}@example.com", password=password, name=name
        )

    return make


@pytest.fixture
def make_member(make_user: Callable[..., User]) -> Callable[..., User]:
    def make(workspace: Workspace, role: str = Membership.Role.AGENT, **kwargs: Any) -> User:
        user = make_user(**kwargs)
        Membership.objects.create(user=user, workspace=workspace, role=role)
        return user

    return make


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user(name="Ana Souza")


@pytest.fixture
def workspace(user: User) -> Workspace:
    return workspace_create(name="Loja da Ana", owner=user)


@pytest.fixture
def other_user(make_user: Callable[..., User]) -> User:
    return make_user(name="Bruno Lima")


@pytest.fixture
def other_workspace(other_user: User) -> Workspace:
    return workspace_create(name="Loja do Bruno", owner=other_user)


@pytest.fixture
def admin_client(make_user: Callable[..., User]) -> Client:
    """A Django test client logged in to the admin as a superuser (pytest-django's own needs a username)."""
    staff = make_user(email="admin@example.com")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def anon_client() -> ApiClient:
    return ApiClient()


@pytest.fixture
def api_client(user: User, workspace: Workspace) -> ApiClient:
    return ApiClient().login_as(user, workspace)


@pytest.fixture
def other_client(other_user: User, other_workspace: Workspace) -> ApiClient:
    return ApiClient().login_as(other_user, other_workspace)


@pytest.fixture
def client_for() -> Callable[[User, Workspace], ApiClient]:
    def make(user: User, workspace: Workspace) -> ApiClient:
        return ApiClient().login_as(user, workspace)

    return make
