"""The admin's session, login and flash-message middleware run on the admin only
(``whatshybrid.api.middleware.AdminOnly``): the admin keeps them (and CSRF), the API skips them."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "s3cret-Passw0rd"


def test_the_admin_keeps_its_sessions_and_csrf() -> None:
    User.objects.create_superuser(email="ops@example.com", password=PASSWORD, name="Ops")
    browser = Client(enforce_csrf_checks=True)
    login_page = browser.get("/admin/login/")
    token = login_page.cookies["csrftoken"].value
    refused = browser.post("/admin/login/", {"username": "ops@example.com", "password": PASSWORD})
    assert refused.status_code == 403  # no CSRF token: the admin still checks it
    signed_in = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "ops@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert signed_in.status_code == 302 and "sessionid" in signed_in.cookies
    assert browser.get("/admin/").status_code == 200  # the session logs the operator in


def test_api_requests_skip_the_admins_middleware(admin_client: Client) -> None:
    # An operator's admin session cookie neither authenticates nor is even read on the API.
    api = admin_client.get("/api/v1/auth/me")
    assert api.status_code == 401 and not api.cookies
    assert not hasattr(api.wsgi_request, "session")
    assert not hasattr(api.wsgi_request, "_messages")
    admin = admin_client.get("/admin/")
    assert admin.status_code == 200 and admin.wsgi_request.user.is_superuser
