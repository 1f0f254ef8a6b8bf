"""``GET /api/v1/events``: the changes feed."""

from __future__ import annotations

import pytest

from whatshybrid.api.testing import assert_json_error, list_query_count
from whatshybrid.realtime.publisher import publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def publish_n(workspace, n: int, name: str = "contact:created") -> list[int]:
    return [publish(workspace, name, {"n": i}).seq for i in range(n)]


def test_anonymous_and_bad_tokens_get_401(anon_client):
    assert_json_error(anon_client.get(URL), 401)
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert_json_error(anon_client.get(URL), 401)


def test_feed_pages_after_a_seq_with_the_frame_shape(api_client, workspace):
    seqs = publish_n(workspace, 5)
    body = api_client.get(f"{URL}?after=1&limit=2").json()
    assert [e["seq"] for e in body["events"]] == [2, 3]
    assert body["has_more"] is True and body["next_cursor"] == "3" and body["last_seq"] == 3 and body["limit"] == 2
    assert set(body["events"][0]) == {"seq", "event", "data", "ts"}
    assert body["events"][0]["event"] == "contact:created" and body["events"][0]["data"] == {"n": 1}
    rest = api_client.get(f"{URL}?cursor={body['next_cursor']}&limit=10").json()
    assert [e["seq"] for e in rest["events"]] == seqs[3:]
    assert rest["has_more"] is False and rest["next_cursor"] is None and rest["last_seq"] == 5
    caught_up = api_client.get(f"{URL}?after=5").json()
    assert caught_up["events"] == [] and caught_up["last_seq"] == 5


def test_feed_is_workspace_scoped(api_client, other_client, workspace, other_workspace):
    publish_n(workspace, 2)
    publish_n(other_workspace, 3, "deal:created")
    mine = api_client.get(URL).json()["events"]
    theirs = other_client.get(URL).json()["events"]
    assert [e["event"] for e in mine] == ["contact:created"] * 2
    assert [e["event"] for e in theirs] == ["deal:created"] * 3


@pytest.mark.parametrize("query", ["after=-1", "after=abc", "cursor=x", "limit=zero"])
def test_bad_parameters_are_400(api_client, query):
    body = assert_json_error(api_client.get(f"{URL}?{query}"), 400)
    assert body["message"]


def test_large_limits_are_clamped_and_queries_do_not_grow(api_client, workspace, settings):
    publish_n(workspace, 40)
    assert len(api_client.get(f"{URL}?limit=100000").json()["events"]) == 40
    assert list_query_count(api_client, URL, 3) == list_query_count(api_client, URL, 30)
