"""``GET /api/v1/events``: the changes feed."""

from __future__ import annotations

import tracemalloc

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
    # last_seq is the workspace's newest seq (a valid resume_from), not the page's last.
    assert body["has_more"] is True and body["next_cursor"] == "3" and body["last_seq"] == 5 and body["limit"] == 2
    assert set(body["events"][0]) == {"seq", "event", "data", "ts"}
    assert body["events"][0]["event"] == "contact:created" and body["events"][0]["data"] == {"n": 1}
    rest = api_client.get(f"{URL}?cursor={body['next_cursor']}&limit=10").json()
    assert [e["seq"] for e in rest["events"]] == seqs[3:]
    assert rest["has_more"] is False and rest["next_cursor"] is None and rest["last_seq"] == 5
    caught_up = api_client.get(f"{URL}?after=5").json()
    assert caught_up["events"] == [] and caught_up["last_seq"] == 5
    ahead = api_client.get(f"{URL}?after=999999").json()  # never echoed back
    assert ahead["events"] == [] and ahead["last_seq"] == 5 and ahead["has_more"] is False
    assert api_client.get(URL).json()["last_seq"] == 5 == api_client.get(f"{URL}?limit=1").json()["last_seq"]


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


def test_a_page_stops_at_the_budget_and_the_cursor_reaches_every_event(api_client, workspace, settings):
    settings.PAGE_MAX_CHARS = 1000
    sizes = [300, 300, 300, 5000, 300, 100]  # the 5000 stands for an event stored before the caps
    seqs = [publish(workspace, "contact:updated", {"notes": "x" * size}).seq for size in sizes]
    seen, pages, cursor = [], [], "0"
    while cursor is not None:
        body = api_client.get(f"{URL}?cursor={cursor}&limit=50").json()
        seen += [event["seq"] for event in body["events"]]
        pages.append(len(body["events"]))
        assert body["has_more"] is (seen[-1] != seqs[-1])
        cursor = body["next_cursor"]
    assert seen == seqs and pages == [3, 1, 2]


def test_a_feed_of_huge_events_is_not_loaded_whole(api_client, workspace):
    mega = 1_000_000
    for i in range(20):
        publish(workspace, "message:created", {"content": f"{i:02d}" + "x" * mega})
    tracemalloc.start()
    try:
        response = api_client.get(f"{URL}?limit=50")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    body = response.json()
    assert response.status_code == 200 and len(body["events"]) == 1 and body["has_more"] is True
    # Before the budget the 20 rows alone were 20 MB in the process, plus their rendering.
    assert peak < 12 * mega
