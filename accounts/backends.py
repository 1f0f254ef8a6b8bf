"""Django's model backend, which the admin login uses, with its password hash on the bounded,
low-priority hash threads of ``accounts.hashing``: a flood of admin logins cannot take the HTTP
threads and cores that a flood of API logins no longer can."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from accounts.hashing import hashing_turn, password_encode, password_verify
from accounts.models import User


class ModelBackend(DjangoModelBackend):
    """Raises ``accounts.hashing.HashingBusy`` when every hash turn is taken."""

    @sensitive_variables("password")
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        username = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        with hashing_turn():
            user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
            if user is None:
                password_encode(password)  # the same time as a wrong password: no user enumeration
                return None
            correct, must_update = password_verify(password, user.password)
            if correct and must_update:
                user.password = password_encode(password)
                user.save(update_fields=["password"])
        return user if correct and self.user_can_authenticate(user) else None
