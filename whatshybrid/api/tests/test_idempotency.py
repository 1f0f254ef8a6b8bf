"""``Idempotency-Key`` on POST: replay, conflict, in-flight, scoping, expiry, release."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from crm.models import Label
from whatshybrid.api.idempotency import idempotency_prune
from whatshybrid.api.models import IdempotencyRecord
from whatshybrid.api.testing import assert_json_error
from whatshybrid.api.tests import urls as probe_urls

LABELS = "/api/v1/probe/labels"
pytestmark = pytest.mark.urls("whatshybrid.api.tests.urls")


def post(client, body, key, url=LABELS):
    return client.post(url, body, HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_same_key_and_body_replays_without_a_second_side_effect(api_client, workspace):
    first = post(api_client, {"name": "VIP"}, "key-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    second = post(api_client, {"name": "VIP"}, "key-1")
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Label.objects.filter(workspace=workspace).count() == 1


@pytest.mark.django_db
def test_key_order_in_the_body_does_not_matter(api_client, workspace):
    first = api_client.generic(
        "POST", LABELS, '{"name": "A", "color": "#000000"}', "application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    again = api_client.generic(
        "POST", LABELS, '{"color":"#000000","name":"A"}', "application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert Label.objects.count() == 1


@pytest.mark.django_db
def test_same_key_different_body_is_422_and_changes_nothing(api_client, workspace):
    post(api_client, {"name": "VIP"}, "key-1")
    response = post(api_client, {"name": "Other"}, "key-1")
    assert_json_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert list(Label.objects.values_list("name", flat=True)) == ["VIP"]


@pytest.mark.django_db
def test_same_key_on_another_endpoint_is_422(api_client, workspace):
    assert post(api_client, {"name": "A"}, "key-1").status_code == 201
    assert_json_error(
        post(api_client, {"name": "A"}, "key-1", url="/api/v1/auth/logout"), 422, "IDEMPOTENCY_KEY_REUSED"
    )
    assert api_client.get("/api/v1/auth/me").status_code == 200  # the logout never ran


@pytest.mark.django_db
def test_keys_are_scoped_per_workspace(api_client, other_client, workspace, other_workspace):
    assert post(api_client, {"name": "VIP"}, "shared-key").status_code == 201
    theirs = post(other_client, {"name": "VIP"}, "shared-key")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert Label.objects.filter(workspace=other_workspace).count() == 1
    assert theirs.json()["label"]["id"] != Label.objects.get(workspace=workspace).pk


@pytest.mark.django_db
def test_without_a_key_every_post_runs(api_client, workspace):
    assert api_client.post(LABELS, {"name": "A"}).status_code == 201
    assert api_client.post(LABELS, {"name": "B"}).status_code == 201
    assert Label.objects.count() == 2 and IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_a_client_error_is_replayed_too(api_client):
    first = post(api_client, {"name": ""}, "bad-1")
    assert first.status_code == 400
    second = post(api_client, {"name": ""}, "bad-1")
    assert second.status_code == 400 and second["Idempotent-Replayed"] == "true"
    assert second.json()["errors"] == first.json()["errors"]


@pytest.mark.django_db
def test_a_409_from_the_view_is_not_stored(api_client, workspace):
    Label.objects.create(workspace=workspace, name="VIP")
    assert_json_error(post(api_client, {"name": "VIP"}, "k409"), 409, "LABEL_EXISTS")
    Label.objects.all().delete()
    assert post(api_client, {"name": "VIP"}, "k409").status_code == 201


@pytest.mark.django_db
def test_a_crash_releases_the_key_so_the_retry_runs(api_client):
    api_client.raise_request_exception = False
    assert_json_error(post(api_client, {}, "crash-key", url=f"{LABELS}/crash"), 500)
    assert not IdempotencyRecord.objects.exists()
    # The retry runs for real (another 500), not "in progress" 409.
    assert_json_error(post(api_client, {}, "crash-key", url=f"{LABELS}/crash"), 500)


@pytest.mark.django_db
def test_expired_key_runs_again(api_client, workspace, settings):
    post(api_client, {"name": "A"}, "old-key")
    IdempotencyRecord.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_TTL - timedelta(seconds=1))
    response = post(api_client, {"name": "B"}, "old-key")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Label.objects.count() == 2


@pytest.mark.django_db
def test_abandoned_in_flight_claim_is_reclaimed(api_client, workspace, settings):
    assert post(api_client, {"name": "A"}, "orphan").status_code == 201
    # As if that request's process had died before recording its response.
    Label.objects.all().delete()
    IdempotencyRecord.objects.update(status_code=None, response_body=None)
    # Fresh: still "in progress".
    assert_json_error(post(api_client, {"name": "A"}, "orphan"), 409, "IDEMPOTENCY_IN_PROGRESS")
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - settings.IDEMPOTENCY_LOCK_TIMEOUT - timedelta(seconds=1)
    )
    response = post(api_client, {"name": "A"}, "orphan")
    assert response.status_code == 201 and Label.objects.count() == 1


@pytest.mark.django_db
def test_replay_of_uuids_decimals_and_datetimes(api_client, workspace):
    first = post(api_client, {}, "rich", url=f"{LABELS}/rich")
    assert first.status_code == 201, first.content
    again = post(api_client, {}, "rich", url=f"{LABELS}/rich")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Label.objects.count() == 1


@pytest.mark.django_db
def test_get_and_put_ignore_the_header(api_client, workspace):
    label = Label.objects.create(workspace=workspace, name="A")
    assert api_client.get(LABELS, HTTP_IDEMPOTENCY_KEY="g").status_code == 200
    assert api_client.put(f"{LABELS}/{label.pk}", {"name": "B"}, HTTP_IDEMPOTENCY_KEY="g").status_code == 200
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_overlong_key_is_400(api_client):
    assert_json_error(post(api_client, {"name": "A"}, "k" * 256), 400, "IDEMPOTENCY_KEY_INVALID")
    assert not Label.objects.exists()


@pytest.mark.django_db
def test_unauthenticated_post_with_key_is_plain_401(anon_client):
    assert_json_error(post(anon_client, {"name": "A"}, "k"), 401)
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_prune_deletes_only_expired_records(api_client, settings):
    post(api_client, {"name": "A"}, "fresh")
    post(api_client, {"name": "B"}, "stale")
    IdempotencyRecord.objects.filter(key="stale").update(created_at=timezone.now() - timedelta(days=2))
    assert idempotency_prune() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    call_command("prune", "idempotency_keys", verbosity=0)
    assert not IdempotencyRecord.objects.exists()


def _threaded_post(client, url, body, key, results, index):
    try:
        results[index] = client.post(url, body, HTTP_IDEMPOTENCY_KEY=key)
    finally:
        connection.close()  # each thread has its own connection; do not leak it past the test


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_is_409_while_the_first_runs(user, workspace, client_for):
    probe_urls.slow_started.clear()
    probe_urls.slow_release.clear()
    first_client, second_client = client_for(user, workspace), client_for(user, workspace)
    results: list = [None]
    worker = threading.Thread(target=_threaded_post, args=(first_client, f"{LABELS}/slow", {}, "dup", results, 0))
    worker.start()
    try:
        assert probe_urls.slow_started.wait(timeout=20)
        # The first request holds the key and is still running: the duplicate is told so.
        assert_json_error(
            second_client.post(f"{LABELS}/slow", {}, HTTP_IDEMPOTENCY_KEY="dup"), 409, "IDEMPOTENCY_IN_PROGRESS"
        )
    finally:
        probe_urls.slow_release.set()
        worker.join(timeout=30)
    assert results[0].status_code == 201
    replay = second_client.post(f"{LABELS}/slow", {}, HTTP_IDEMPOTENCY_KEY="dup")
    assert replay.status_code == 201 and replay.json() == results[0].json()
    assert Label.objects.filter(workspace=workspace).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_duplicates_create_exactly_one_row(user, workspace, client_for):
    clients = [client_for(user, workspace) for _ in range(6)]
    results: list = [None] * len(clients)
    barrier = threading.Barrier(len(clients))

    def run(index):
        barrier.wait(timeout=20)
        _threaded_post(clients[index], LABELS, {"name": "Race"}, "race-key", results, index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    created = {r.json()["label"]["id"] for r in results if r.status_code == 201}
    assert len(created) == 1  # every 201 is the same label (original or replay)
    assert Label.objects.filter(workspace=workspace).count() == 1
