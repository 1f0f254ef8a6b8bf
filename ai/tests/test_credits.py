"""The credit ledger under concurrency, the credits and usage reads, and operators' grants."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections, connection

from accounts.models import Workspace
from ai.credits import credits_grant
from ai.models import AIConversation, CreditEntry
from ai.tests.conftest import OPENAI_KEY

HELLO = [{"role": "user", "content": "oi"}]
CALLS = 50


def _ledger_is_consistent(workspace: Workspace) -> None:
    entries = list(CreditEntry.objects.filter(workspace=workspace).order_by("created_at", "balance_after"))
    running = 0
    for entry in sorted(entries, key=lambda e: (e.created_at, e.pk)):
        running += entry.amount
    assert running == Workspace.objects.get(pk=workspace.pk).credits
    assert all(entry.balance_after >= 0 for entry in entries)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_calls_with_credits_for_ten(api_client, ai_settings, workspace, client_for, user):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("threads need a shared database file")
    ai_settings.RATELIMIT_AI = ai_settings.RATELIMIT_GENERAL = "1000/m"
    api_client.put("/api/v1/settings/ai-keys", {"openai": OPENAI_KEY})
    credits_grant(workspace=workspace, amount=10 - workspace.credits, kind="adjustment")
    clients = [client_for(user, workspace) for _ in range(CALLS)]

    def call(index: int) -> int:
        try:
            return clients[index].post("/api/v1/ai/complete", {"messages": HELLO, "maxTokens": 20}).status_code
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        codes = list(pool.map(call, range(CALLS), timeout=120))
    assert sorted(codes) == [200] * 10 + [402] * 40, codes
    assert Workspace.objects.get(pk=workspace.pk).credits == 0
    assert AIConversation.objects.filter(status="succeeded").count() == 10
    assert api_client.get("/api/v1/ai/credits").json() == {"credits": 0, "balance": 0, "reserved": 0, "plan": "free"}
    _ledger_is_consistent(workspace)


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_held_while_the_provider_answers(openai_client, fake_openai, workspace):
    """The reservation has committed and the settlement not begun: another writer gets the
    workspace row at once (a held lock would make it time out, and the call fail)."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("threads need a shared database file")
    waited = []

    def grant_meanwhile() -> None:  # in the provider's thread, on a connection of its own
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "PRAGMA busy_timeout = 1000" if connection.vendor == "sqlite" else "SET lock_timeout = '1s'"
                )
            started = time.monotonic()
            credits_grant(workspace=workspace, amount=5, note="meanwhile")
            waited.append(time.monotonic() - started)
        finally:
            connection.close()

    fake_openai.during_call = grant_meanwhile
    response = openai_client.post("/api/v1/ai/complete", {"messages": HELLO, "maxTokens": 20})
    assert response.status_code == 200, response.json()
    assert len(waited) == 1 and waited[0] < 0.9
    assert response.json()["credits_remaining"] == Workspace.objects.get(pk=workspace.pk).credits
    _ledger_is_consistent(workspace)


@pytest.mark.django_db
def test_ledger_entries_carry_the_balance_after(openai_client, workspace):
    openai_client.post("/api/v1/ai/complete", {"messages": HELLO, "maxTokens": 20})
    entries = list(
        CreditEntry.objects.filter(workspace=workspace)
        .order_by("created_at")
        .values_list("kind", "amount", "balance_after", "note")
    )
    assert entries == [("grant", 100, 100, "opening balance"), ("consumption", -1, 99, "reserved")]
    openai_client.post("/api/v1/ai/complete", {"messages": HELLO})  # reserves 2, uses 1
    last = list(
        CreditEntry.objects.filter(workspace=workspace)
        .order_by("created_at")
        .values_list("kind", "amount", "balance_after")
    )[-2:]
    assert last == [("consumption", -2, 97), ("refund", 1, 98)]
    assert Workspace.objects.get(pk=workspace.pk).credits == 98
    assert openai_client.get("/api/v1/auth/me").status_code == 200


@pytest.mark.django_db
def test_price_per_model_is_a_setting(openai_client, ai_settings):
    ai_settings.AI_CREDITS_PER_1K_TOKENS = {"gpt-4o": 500, "*": 1}  # 20 tokens → 10 credits
    data = openai_client.post("/api/v1/ai/complete", {"messages": HELLO, "model": "gpt-4o", "maxTokens": 20}).json()
    assert data["credits_used"] == 10 and data["credits_remaining"] == 90


@pytest.mark.django_db
def test_usage_per_day_and_model(openai_client, fake_openai):
    openai_client.post("/api/v1/ai/complete", {"messages": HELLO, "model": "gpt-4o-mini"})
    openai_client.post("/api/v1/ai/complete", {"messages": HELLO, "model": "gpt-4o"})
    fake_openai.mode = "fail"
    openai_client.post("/api/v1/ai/complete", {"messages": HELLO, "model": "gpt-4o"})
    for query in ("?days=7", "?days=abc", "?days=-3", "?days=99999", ""):
        data = openai_client.get(f"/api/v1/ai/usage{query}").json()
        assert data["summary"]["requests"] == 3 and data["summary"]["tokens"] == 40
        assert data["summary"]["credits"] == 2
        assert data["summary"]["by_provider"]["openai"]["requests"] == 3
        assert {(row["model"], row["requests"]) for row in data["usage"]} == {("gpt-4o-mini", 1), ("gpt-4o", 2)}
    assert openai_client.get("/api/v1/ai/usage?days=abc").json()["days"] == 30


@pytest.mark.django_db
def test_credits_are_read_only_through_the_api(api_client, workspace):
    api_client.put("/api/v1/settings/workspace", {"credits": 99999, "plan": "enterprise"})
    assert api_client.get("/api/v1/ai/credits").json()["credits"] == 100
    assert Workspace.objects.get(pk=workspace.pk).plan == "free"


@pytest.mark.django_db
def test_grant_credits_command(workspace):
    out = io.StringIO()
    call_command("grant_credits", "--workspace", str(workspace.pk), "25", "--note", "promo", stdout=out)
    assert Workspace.objects.get(pk=workspace.pk).credits == 125 and "125" in out.getvalue()
    assert CreditEntry.objects.filter(kind="grant", amount=25, note="promo").exists()
    with pytest.raises(CommandError):
        call_command("grant_credits", "--workspace", str(workspace.pk), "-500", "--adjust")
    with pytest.raises(CommandError):
        call_command("grant_credits", "--workspace", "not-a-workspace", "5")
    call_command("grant_credits", "--workspace", str(workspace.pk), "-25", "--adjust", stdout=out)
    assert Workspace.objects.get(pk=workspace.pk).credits == 100


@pytest.mark.django_db
def test_admin_grants_through_the_ledger(admin_client, workspace):
    reply = admin_client.post(
        "/admin/ai/creditentry/add/", {"workspace": str(workspace.pk), "kind": "grant", "amount": 40, "note": "gift"}
    )
    assert reply.status_code == 302, reply.content.decode()[:2000]
    entry = CreditEntry.objects.get(note="gift")
    assert (entry.amount, entry.balance_after) == (40, 140)
    assert admin_client.get("/admin/ai/creditentry/").status_code == 200
    for name in ("aiconversation", "knowledgeitem", "aikeys", "aifeedback"):
        assert admin_client.get(f"/admin/ai/{name}/").status_code == 200, name
