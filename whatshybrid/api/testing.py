"""The standard checks every workspace endpoint gets (after NetBox's ``APITestCase`` helpers).

Usage in an app's tests (the clients and workspaces are the root conftest's fixtures)::

    def test_standard_checks(api_client, other_client, anon_client, workspace, other_workspace):
        check_standard_endpoint(
            api_client=api_client, other_client=other_client, anon_client=anon_client,
            workspace=workspace, other_workspace=other_workspace,
            list_url="/api/v1/contacts", detail_url=lambda c: f"/api/v1/contacts/{c.pk}",
            resource_name="contacts", make=lambda ws: contact_factory(workspace=ws),
        )

It asserts: anonymous → 401 JSON everywhere; another workspace's object → 404 on every detail
method and absent from the list; the owner sees it; the list's query count does not grow with
page size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def assert_json_error(response: Any, status_code: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status_code, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("message"), str) and body["message"]
    assert isinstance(body.get("code"), str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


def list_query_count(client: Any, url: str, limit: int) -> int:
    separator = "&" if "?" in url else "?"
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"{url}{separator}limit={limit}")
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def check_standard_endpoint(
    *,
    api_client: Any,
    other_client: Any,
    anon_client: Any,
    workspace: Any,
    other_workspace: Any,
    list_url: str | None,
    detail_url: Callable[[Any], str] | None,
    resource_name: str | None,
    make: Callable[[Any], Any],
    detail_methods: Iterable[str] = ("get", "put", "delete"),
    page_growth: tuple[int, int] = (3, 30),
) -> None:
    mine = make(workspace)
    theirs = make(other_workspace)

    urls = ([list_url] if list_url else []) + ([detail_url(mine)] if detail_url else [])
    for url in urls:
        assert_json_error(anon_client.get(url), 401)

    if detail_url is not None:
        assert api_client.get(detail_url(mine)).status_code == 200
        for method in detail_methods:
            response = getattr(api_client, method)(detail_url(theirs), {}, format="json")
            assert_json_error(response, 404)
        # The other workspace's row is untouched by those attempts.
        assert other_client.get(detail_url(theirs)).status_code == 200

    if list_url is not None and resource_name is not None:
        body = api_client.get(f"{list_url}{'&' if '?' in list_url else '?'}limit=1000").json()
        ids = {str(row["id"]) for row in body[resource_name]}
        assert str(mine.pk) in ids
        assert str(theirs.pk) not in ids
        small, large = page_growth
        for _ in range(large):
            make(workspace)
        assert list_query_count(api_client, list_url, small) == list_query_count(api_client, list_url, large)


def check_single_object_endpoint(
    *,
    api_client: Any,
    other_client: Any,
    anon_client: Any,
    workspace: Any,
    other_workspace: Any,
    url: str,
    object_name: str,
    update: dict[str, Any] | None = None,
    max_queries: int = 10,
) -> None:
    """The standard checks for a workspace's singleton resource (``/settings/workspace``):
    anonymous → 401 on every method; each workspace sees only its own object at the same URL;
    a write through one workspace leaves the other's untouched; reads cost a bounded number of
    queries."""
    assert_json_error(anon_client.get(url), 401)
    if update is not None:
        assert_json_error(anon_client.put(url, update, format="json"), 401)

    mine = api_client.get(url)
    theirs = other_client.get(url)
    assert mine.status_code == 200 and theirs.status_code == 200
    assert str(mine.json()[object_name]["id"]) == str(workspace.pk)
    assert str(theirs.json()[object_name]["id"]) == str(other_workspace.pk)

    if update is not None:
        response = api_client.put(url, update, format="json")
        assert response.status_code == 200, response.content[:500]
        for key, value in update.items():
            assert response.json()[object_name][key] == value
        assert other_client.get(url).json() == theirs.json()

    with CaptureQueriesContext(connection) as ctx:
        assert api_client.get(url).status_code == 200
    assert len(ctx.captured_queries) <= max_queries, [q["sql"] for q in ctx.captured_queries]
