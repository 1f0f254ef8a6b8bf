"""GET/PUT /api/v1/settings/workspace."""

from __future__ import annotations

import pytest

from accounts.models import Workspace
from whatshybrid.api.testing import assert_json_error, check_single_object_endpoint

URL = "/api/v1/settings/workspace"
pytestmark = pytest.mark.django_db


def snapshot(workspace: Workspace) -> dict:
    workspace.refresh_from_db()
    return {
        f: getattr(workspace, f)
        for f in ("name", "plan", "credits", "timezone", "default_country", "currency", "settings")
    }


def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
    check_single_object_endpoint(
        api_client=api_client,
        other_client=other_client,
        anon_client=anon_client,
        workspace=workspace,
        other_workspace=other_workspace,
        url=URL,
        object_name="workspace",
        update={"name": "Loja Nova", "timezone": "Europe/Lisbon"},
        max_queries=3,
    )


def test_get_shape(api_client, workspace):
    body = api_client.get(URL).json()["workspace"]
    assert body["id"] == str(workspace.pk)
    assert body["plan"] == "free" and isinstance(body["credits"], int)
    assert {"name", "timezone", "default_country", "currency", "settings", "created_at"} <= set(body)


def test_put_is_partial_and_merges_settings(api_client, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(settings={"keep": 1, "replace": "old"})
    response = api_client.put(URL, {"settings": {"replace": "new", "added": [1, 2]}})
    assert response.status_code == 200
    after = snapshot(workspace)
    assert after["settings"] == {"keep": 1, "replace": "new", "added": [1, 2]}
    assert after["name"] == "Loja da Ana"


def test_country_is_upper_cased(api_client, workspace):
    assert api_client.put(URL, {"default_country": "pt", "currency": "EUR"}).status_code == 200
    assert snapshot(workspace)["default_country"] == "PT"


def test_put_empty_body_changes_nothing(api_client, workspace):
    before = snapshot(workspace)
    response = api_client.generic("PUT", URL, "", content_type="application/json")
    assert response.status_code == 200
    assert snapshot(workspace) == before


def test_plan_and_credits_echoed_back_are_ignored(api_client, workspace):
    before = snapshot(workspace)
    body = api_client.get(URL).json()["workspace"]
    body.update(plan="enterprise", credits=10**6, name="Renamed")
    response = api_client.put(URL, body)
    assert response.status_code == 200, response.content
    after = snapshot(workspace)
    assert after["plan"] == before["plan"] == "free"
    assert after["credits"] == before["credits"]
    assert after["name"] == "Renamed"


@pytest.mark.parametrize("role, allowed", [("owner", True), ("admin", True), ("agent", False), ("viewer", False)])
def test_only_owner_and_admin_may_update(workspace, make_member, client_for, role, allowed):
    client = client_for(make_member(workspace, role=role), workspace)
    assert client.get(URL).status_code == 200  # every role may read
    response = client.put(URL, {"name": f"by {role}"})
    if allowed:
        assert response.status_code == 200
        assert snapshot(workspace)["name"] == f"by {role}"
    else:
        assert_json_error(response, 403, "PERMISSION_DENIED")
        assert snapshot(workspace)["name"] == "Loja da Ana"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"name": "x" * 100_000}, "name"),
        ({"name": None}, "name"),
        ({"name": ["a"]}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": 3}, "timezone"),
        ({"default_country": "ZZ"}, "default_country"),
        ({"default_country": "BRA"}, "default_country"),
        ({"currency": "real"}, "currency"),
        ({"settings": "not an object"}, "settings"),
        ({"settings": [1, 2]}, "settings"),
        ({"settings": {"big": "x" * 40_000}}, "settings"),
        ({"owner": "me"}, "owner"),
        ({"workspace_name": "typo"}, "workspace_name"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(api_client, workspace, body, field):
    before = snapshot(workspace)
    error = assert_json_error(api_client.put(URL, body), 400, "VALIDATION_ERROR")
    assert field in error["errors"], error
    assert snapshot(workspace) == before


@pytest.mark.parametrize("raw", ["[]", '"x"', "null", "7", "{not json", "\x00"])
def test_non_object_or_malformed_body_is_400(api_client, workspace, raw):
    before = snapshot(workspace)
    response = api_client.generic("PUT", URL, raw, content_type="application/json")
    assert_json_error(response, 400)
    assert snapshot(workspace) == before


def test_other_methods_are_405_json(api_client):
    body = assert_json_error(api_client.delete(URL), 405)
    assert "DELETE" in body["message"]
    assert_json_error(api_client.post(URL, {}), 405)


def test_stored_settings_are_capped_not_only_each_update(api_client, workspace, settings):
    """Each PUT is small, but merged they would grow without bound: the stored object is capped."""
    settings.WORKSPACE_SETTINGS_MAX_BYTES = 32 * 1024
    accepted = 0
    for n in range(30):
        response = api_client.put(URL, {"settings": {f"key-{n}": "x" * 10_000}})
        if response.status_code != 200:
            break
        accepted += 1
    assert accepted == 3  # 3 x 10 KB fit in 32 KB; the fourth would not
    before = snapshot(workspace)
    error = assert_json_error(response, 400, "VALIDATION_ERROR")
    assert "Stored settings may not exceed 32768 bytes" in error["message"] and "settings" in error["errors"]
    assert snapshot(workspace) == before
    # Overwriting a key with less makes room again.
    assert api_client.put(URL, {"settings": {"key-0": None, "key-3": "y" * 9_000}}).status_code == 200
