"""Transport rules of the client contract: JSON everywhere, no redirects, request ids, CORS,
health probes, body limits and rate limits."""

from __future__ import annotations

import pytest
from django.test import override_settings

from crm.models import Label
from whatshybrid.api.testing import assert_json_error

ME = "/api/v1/auth/me"
SETTINGS = "/api/v1/settings/workspace"
LABELS = "/api/v1/probe/labels"
pytestmark = [pytest.mark.django_db, pytest.mark.urls("whatshybrid.api.tests.urls")]


# --- JSON for every error ----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/contacts/not-a-uuid/x", "/api/v2/auth/me"])
def test_unknown_path_is_json_404(anon_client, path):
    assert_json_error(anon_client.get(path), 404, "NOT_FOUND")


def test_unknown_detail_id_is_json_404(api_client):
    assert_json_error(api_client.get(f"{LABELS}/00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND")
    assert_json_error(api_client.get(f"{LABELS}/not-a-uuid"), 404)


def test_wrong_method_is_json_405_with_allow(api_client, anon_client):
    body = assert_json_error(api_client.delete(ME), 405, "METHOD_NOT_ALLOWED")
    assert body["request_id"]
    response = anon_client.post("/health", {})
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]


def test_oversized_body_is_json_413_before_parsing(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "' + "x" * 2000 + '"}'
    response = api_client.generic("POST", LABELS, body, content_type="application/json")
    assert_json_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert Label.objects.count() == 0
    # Also on public endpoints and unknown paths: the cap does not depend on routing.
    assert_json_error(api_client.generic("POST", "/api/v1/auth/login", body), 413)


def test_import_paths_get_the_larger_cap(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.IMPORT_MAX_BYTES = 5000
    body = '{"contacts": "' + "x" * 2000 + '"}'
    # Not 413: the import cap applies (the path itself does not exist here, hence 404).
    assert api_client.generic("POST", "/api/v1/nothing/import", body).status_code == 404
    assert_json_error(api_client.generic("POST", "/api/v1/nothing/import", "x" * 6000), 413)


def test_server_error_is_json_500_with_request_id(api_client):
    api_client.raise_request_exception = False
    response = api_client.post(f"{LABELS}/crash", {}, HTTP_X_REQUEST_ID="crash-request-0001")
    body = assert_json_error(response, 500, "SERVER_ERROR")
    assert body["request_id"] == "crash-request-0001"
    assert "boom" not in response.content.decode()  # no internals leak


def test_admin_404_is_not_turned_into_a_500(anon_client):
    assert anon_client.get("/admin/no-such-page/").status_code in (302, 404)


@pytest.mark.parametrize("raw", ["{bad", '{"name": ', "[1,", "\xff\xfe"])
def test_malformed_json_is_400_parse_error(api_client, raw):
    response = api_client.generic("POST", LABELS, raw.encode("latin-1"), content_type="application/json")
    body = assert_json_error(response, 400, "PARSE_ERROR")
    assert body["message"].startswith("Malformed JSON")
    assert Label.objects.count() == 0


@pytest.mark.parametrize("raw", ["[]", '"x"', "null", "1", "true"])
def test_non_object_body_is_400_validation_error(api_client, raw):
    assert_json_error(api_client.generic("POST", LABELS, raw, content_type="application/json"), 400)
    assert Label.objects.count() == 0


def test_unsupported_media_type_is_json_415(api_client):
    response = api_client.generic("POST", LABELS, "name=x", content_type="text/plain")
    assert_json_error(response, 415)


# --- empty bodies with Content-Type: application/json ------------------------------------------
def test_empty_json_body_is_no_data_on_get_delete_and_bodiless_post(api_client, workspace):
    label = Label.objects.create(workspace=workspace, name="VIP")
    assert api_client.generic("GET", LABELS, "", content_type="application/json").status_code == 200
    assert api_client.generic("GET", ME, "", content_type="application/json").status_code == 200
    # A bodiless POST is "no data": the serializer answers (missing name), not the parser.
    body = assert_json_error(api_client.generic("POST", LABELS, "", content_type="application/json"), 400)
    assert body["code"] == "VALIDATION_ERROR" and "name" in body["errors"]
    assert api_client.generic("POST", "/api/v1/auth/logout", "", content_type="application/json").status_code == 200
    api_client.login_as(*_owner(workspace))
    response = api_client.generic("DELETE", f"{LABELS}/{label.pk}", "", content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"message": "Label deleted.", "id": str(label.pk)}


def _owner(workspace):
    membership = workspace.memberships.get(role="owner")
    return membership.user, workspace


# --- trailing slash, no redirects --------------------------------------------------------------
@pytest.mark.parametrize("path", [ME, SETTINGS, LABELS, "/health", "/api/health"])
def test_trailing_slash_is_tolerated_without_redirect(api_client, path):
    plain = api_client.get(path)
    slashed = api_client.get(path + "/")
    assert plain.status_code == slashed.status_code == 200
    assert slashed.json().keys() == plain.json().keys()


def test_trailing_slash_on_post_and_detail(api_client, workspace):
    response = api_client.post(LABELS + "/", {"name": "Slash"})
    assert response.status_code == 201
    label_id = response.json()["label"]["id"]
    assert api_client.put(f"{LABELS}/{label_id}/", {"color": "#000000"}).status_code == 200
    assert Label.objects.get(pk=label_id).color == "#000000"


def test_nothing_redirects_even_with_debug_or_https_settings(api_client):
    for path in [ME, ME + "/", "/api/v1", "/api/v1/", "/api/v1/docs/", "/api/v1/schema/"]:
        assert api_client.get(path).status_code not in (301, 302, 307, 308), path


# --- request ids --------------------------------------------------------------------------------
def test_every_response_carries_a_request_id(api_client, anon_client):
    responses = [
        api_client.get(ME),
        anon_client.get(ME),
        anon_client.get("/nope"),
        anon_client.get("/health"),
        anon_client.options(ME, HTTP_ORIGIN="https://web.whatsapp.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"),
    ]
    ids = [r["X-Request-ID"] for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)


def test_error_body_request_id_matches_header(anon_client):
    response = anon_client.get(ME)
    assert response.json()["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize(
    "incoming, kept", [("abc-123_DEF.456", True), ("short", False), ("x" * 65, False), ("a b<c>d e f", False)]
)
def test_sane_incoming_request_id_is_echoed(anon_client, incoming, kept):
    response = anon_client.get("/health", HTTP_X_REQUEST_ID=incoming)
    assert (response["X-Request-ID"] == incoming) is kept
    assert 8 <= len(response["X-Request-ID"]) <= 64


# --- CORS ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("origin", ["chrome-extension://abc", "https://web.whatsapp.com"])
@pytest.mark.parametrize(
    "path", [ME, "/api/v1/auth/login", LABELS + "/00000000-0000-0000-0000-000000000000", "/health"]
)
def test_preflight_succeeds_without_auth(anon_client, origin, path):
    response = anon_client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,idempotency-key,x-source,x-whl-device",
        HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK="true",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == origin
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-source", "x-whl-device"} <= allowed_headers
    methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} <= methods
    assert response["Access-Control-Allow-Private-Network"] == "true"


def test_actual_request_from_the_extension_gets_cors_headers(api_client):
    response = api_client.get(ME, HTTP_ORIGIN="chrome-extension://abcdefghijklmnop")
    assert response["Access-Control-Allow-Origin"] == "chrome-extension://abcdefghijklmnop"
    exposed = response["Access-Control-Expose-Headers"].lower()
    assert "x-request-id" in exposed and "retry-after" in exposed
    # Errors are readable by the extension too (else it sees an opaque network failure).
    error = api_client.get("/api/v1/nope", HTTP_ORIGIN="https://web.whatsapp.com")
    assert error["Access-Control-Allow-Origin"] == "https://web.whatsapp.com"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://web.whatsapp.com", "chrome-extension://ABC/../x"])
def test_other_origins_get_no_cors_headers(anon_client, origin):
    response = anon_client.options(ME, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "Access-Control-Allow-Origin" not in response


# --- health -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/health", "/api/health"])
def test_liveness_is_json_without_auth(anon_client, path, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anon_client.get(path, HTTP_AUTHORIZATION="Bearer garbage", HTTP_ORIGIN="chrome-extension://abc")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Access-Control-Allow-Origin"] == "chrome-extension://abc"


def test_readiness_checks_database_cache_and_channel_layer(anon_client):
    response = anon_client.get("/api/health/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_readiness_reports_a_broken_dependency_as_503(anon_client, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "no.such.Layer"}}
    response = anon_client.get("/api/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["channel_layer"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


# --- rate limits --------------------------------------------------------------------------------
@override_settings(RATELIMIT_GENERAL="3/m")
def test_general_limit_per_user_then_429_with_retry_after(api_client, user, workspace, make_member, client_for):
    for _ in range(3):
        assert api_client.get(ME).status_code == 200
    response = api_client.get(ME)
    body = assert_json_error(response, 429, "RATE_LIMITED")
    assert body["request_id"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # Per user: a colleague in the same workspace (same IP) still has a budget.
    colleague = client_for(make_member(workspace), workspace)
    assert colleague.get(ME).status_code == 200


@override_settings(RATELIMIT_GENERAL="2/m")
def test_health_is_exempt_from_rate_limits(anon_client, api_client):
    for _ in range(2):
        api_client.get(ME)
    assert api_client.get(ME).status_code == 429
    for _ in range(10):
        assert anon_client.get("/health").status_code == 200
        assert anon_client.get("/api/health").status_code == 200


@override_settings(RATELIMIT_GENERAL="2/m")
def test_general_limit_applies_per_ip_on_public_endpoints(anon_client):
    for _ in range(2):
        assert anon_client.post("/api/v1/auth/refresh", {"refreshToken": "x"}).status_code == 400
    response = anon_client.post("/api/v1/auth/refresh", {"refreshToken": "x"})
    assert_json_error(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1
    other_ip = anon_client.post("/api/v1/auth/refresh", {"refreshToken": "x"}, REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 400


@override_settings(RATELIMIT_AUTH="3/15m")
def test_failed_logins_are_limited_per_ip_and_email(anon_client, user, workspace):
    for _ in range(3):
        assert_json_error(anon_client.post("/api/v1/auth/login", {"email": user.email, "password": "bad"}), 401)
    # Even the right password is refused now: the budget counts failures for this IP + email.
    response = anon_client.post("/api/v1/auth/login", {"email": user.email.upper(), "password": "s3cret-Passw0rd"})
    body = assert_json_error(response, 429, "RATE_LIMITED")
    assert "login" in body["message"].lower()
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    # Another IP, or another email from this IP, is unaffected.
    good = {"email": user.email, "password": "s3cret-Passw0rd"}
    assert anon_client.post("/api/v1/auth/login", good, REMOTE_ADDR="10.0.0.7").status_code == 200
    assert_json_error(anon_client.post("/api/v1/auth/login", {"email": "x@example.com", "password": "bad"}), 401)


@override_settings(RATELIMIT_AUTH="3/15m")
def test_successful_logins_do_not_use_the_failure_budget(anon_client, user, workspace):
    for _ in range(6):
        assert (
            anon_client.post("/api/v1/auth/login", {"email": user.email, "password": "s3cret-Passw0rd"}).status_code
            == 200
        )


@override_settings(RATELIMIT_AUTH="2/15m")
def test_registrations_are_limited_per_ip(anon_client):
    for index in range(2):
        body = {"email": f"r{index}@example.com", "password": "s3cret-Passw0rd", "name": "R"}
        assert anon_client.post("/api/v1/auth/register", body).status_code == 201
    body = {"email": "r9@example.com", "password": "s3cret-Passw0rd", "name": "R"}
    response = anon_client.post("/api/v1/auth/register", body)
    assert_json_error(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1
    assert anon_client.post("/api/v1/auth/register", body, REMOTE_ADDR="10.0.0.8").status_code == 201


@override_settings(RATELIMIT_ENABLE=False, RATELIMIT_GENERAL="1/m")
def test_rate_limits_can_be_switched_off(api_client):
    for _ in range(5):
        assert api_client.get(ME).status_code == 200


# --- bodies the database could not store ---------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"settings": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}",
        '{"settings": {"note": "nul\\u0000byte"}}',
        '{"settings": {"nul\\u0000key": 1}}',
        '{"settings": {"half": "\\ud800"}}',
        '{"settings": {"big": 1e999}}',
        '{"name": "' + "9" * 5000 + '"}',
    ],
)
def test_unstorable_or_hostile_json_is_400_and_changes_nothing(api_client, workspace, raw):
    workspace.refresh_from_db()
    before = (workspace.name, workspace.settings)
    response = api_client.generic("PUT", SETTINGS, raw, content_type="application/json")
    assert_json_error(response, 400)
    workspace.refresh_from_db()
    assert (workspace.name, workspace.settings) == before


def test_unicode_text_is_stored_faithfully(api_client, workspace):
    name = "Loja São João 🛒 ✓"
    response = api_client.put(SETTINGS, {"name": name, "settings": {"emoji": "👍🏽", "pt": "ação"}})
    assert response.status_code == 200
    workspace.refresh_from_db()
    assert workspace.name == name and workspace.settings["emoji"] == "👍🏽"


# --- API docs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer stale-or-garbage"])
def test_schema_and_docs_are_public(anon_client, header):
    if header:
        anon_client.credentials(HTTP_AUTHORIZATION=header)
    schema = anon_client.get("/api/v1/schema?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/login" in paths and "/api/v1/settings/workspace" in paths
    assert not any(path.endswith("/") for path in paths)
    for page in ("/api/v1/docs", "/api/v1/redoc"):
        response = anon_client.get(page)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
