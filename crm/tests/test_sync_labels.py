"""The labels document's ``contactLabels`` (chat id or phone -> label ids) become the contacts'
label links, replayed as the extension sends it (crm/tests/extension.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from contacts.services import contact_create
from crm.tests.extension import Browser, contact
from crm.tests.test_sync import SYNC, events, writes

pytestmark = pytest.mark.django_db


def linked(workspace: Any, phone: str) -> set[str]:
    row = Contact.objects.get(workspace=workspace, phone=phone)
    return {label.client_key or label.name for label in row.labels.all()}


def relabel(browser: Browser, chats: dict[str, list[str]], *, later_ms: int = 1000) -> None:
    """A label edit in the browser: the mapping changes and ``lastUpdated`` moves on."""
    browser.labels["contactLabels"] = chats
    browser.labels["lastUpdated"] = max(browser.labels["lastUpdated"], int(time.time() * 1000)) + later_ms


def test_chats_of_a_first_sync_become_the_contacts_label_links(api_client, workspace):
    browser = Browser(api_client)
    browser.labels["labels"].append({"id": "hot", "name": "Quente", "color": "#ff0000", "icon": "🔥"})
    browser.contacts += [
        contact("5511999990001", "Ana", labels=["vip"]),
        contact("5511999990002", "Bruno"),
        contact("5511999990003", "Caio"),
    ]
    relabel(
        browser,
        {
            "5511999990001@c.us": ["hot"],  # a new contact takes its copy's labels and its chat's
            "5511999990002": ["vip", "nope"],  # digits; an unknown label id is left out
            "551199990003@c.us": ["hot"],  # the 8-digit form of Caio's number
            "120363000000000000@g.us": ["vip"],  # a group is nobody
        },
    )
    body = browser.sync()

    assert linked(workspace, "+5511999990001") == {"vip", "hot"}
    assert linked(workspace, "+5511999990002") == {"vip"}
    assert linked(workspace, "+5511999990003") == {"hot"}
    assert {c["phone"]: sorted(c["labels"]) for c in body["data"]["contacts"]} == {
        "5511999990001": ["hot", "vip"],
        "5511999990002": ["vip"],
        "5511999990003": ["hot"],
    }
    # The document itself comes back as sent, the group included.
    assert body["data"]["labels"]["contactLabels"] == browser.labels["contactLabels"]
    # The created events carry the links, like the REST contact.
    for name, payload in events(workspace, "contact:"):
        assert name == "contact:created"
        assert payload == api_client.get(f"/api/v1/contacts/{payload['id']}").json()["contact"]
    assert Contact.objects.filter(workspace=workspace).count() == 3


def test_a_chat_relabels_a_stored_contact_with_the_rest_event(api_client, workspace):
    ana = contact_create(workspace=workspace, phone="+55 11 99999-0001", name="Ana")
    browser = Browser(api_client)
    browser.sync()  # the labels document arrives; no chat named yet
    browser.sync()  # the pipeline settles (the browser adopted the server's stages)
    before = len(events(workspace))

    relabel(browser, {"5511999990001@c.us": ["vip"]})
    browser.sync()
    assert linked(workspace, "+5511999990001") == {"vip"}
    (name, payload), *rest = events(workspace)[before:]
    assert rest == [] and name == "contact:updated"
    assert payload == api_client.get(f"/api/v1/contacts/{ana.pk}").json()["contact"]
    assert [label["name"] for label in payload["labels"]] == ["VIP"]

    # The same document again is no change: nothing written, nothing published.
    before = len(events(workspace))
    with CaptureQueriesContext(connection) as queries:
        browser.sync()
    assert writes(queries) == [] and len(events(workspace)) == before


def test_two_browsers_converge_on_the_labels_of_a_chat(api_client, client_for, user, workspace):
    first, second = Browser(api_client), Browser(client_for(user, workspace))
    first.contacts.append(contact("5511999990001", "Ana"))
    first.sync()
    relabel(first, {"5511999990001@c.us": ["vip"]})
    first.sync()

    second.labels["lastUpdated"] = first.labels["lastUpdated"] - 60_000  # an older copy of the document
    second.sync()
    assert second.labels["contactLabels"] == {"5511999990001@c.us": ["vip"]}
    assert second.contacts[0]["labels"] == ["vip"]
    assert linked(workspace, "+5511999990001") == {"vip"}  # the older copy changed no link

    relabel(second, {})  # the label is taken off the chat in the second browser
    second.sync()
    assert linked(workspace, "+5511999990001") == set()
    first.sync()
    assert first.labels["contactLabels"] == {} and first.contacts[0]["labels"] == []
    assert first.contacts == second.contacts


def test_the_newer_of_a_contacts_copy_and_the_document_sets_its_labels(api_client, workspace):
    browser = Browser(api_client)
    browser.contacts.append(contact("5511999990001", "Ana"))
    browser.sync()
    browser.sync()
    ana = browser.contacts[0]["id"]

    # Edited in the CRM (labels=[]) after the document's last change: the copy wins.
    relabel(browser, {"5511999990001@c.us": ["vip"]}, later_ms=-60_000)
    browser.edit("contacts", ana, labels=[], name="Ana Paula")
    browser.sync()
    assert linked(workspace, "+5511999990001") == set()

    # The document changed after the copy: the document wins.
    browser.edit("contacts", ana, name="Ana P.", labels=[])
    relabel(browser, {"5511999990001@c.us": ["vip"]}, later_ms=60_000)
    browser.sync()
    assert linked(workspace, "+5511999990001") == {"vip"}
    assert Contact.objects.get(workspace=workspace).name == "Ana P."


def test_a_mapping_sent_without_its_document_sets_the_chats_it_names(api_client, workspace):
    contact_create(workspace=workspace, phone="+5511999990001", name="Ana")
    contact_create(workspace=workspace, phone="+5511999990002", name="Bruno")
    labels = [{"id": "vip", "name": "VIP", "color": "#fbbf24"}]
    reply = api_client.post(SYNC, {"labels": labels, "contactLabels": {"5511999990001": ["vip"]}}, format="json")
    assert reply.status_code == 200, reply.content
    reply = api_client.post(SYNC, {"labels": labels, "contactLabels": {"5511999990002": ["vip"]}}, format="json")
    assert reply.status_code == 200, reply.content
    assert linked(workspace, "+5511999990001") == linked(workspace, "+5511999990002") == {"vip"}
    assert reply.json()["data"]["labels"]["contactLabels"] == {"5511999990001": ["vip"], "5511999990002": ["vip"]}


def test_another_workspaces_chats_never_touch_my_contacts(api_client, other_client, workspace, other_workspace):
    contact_create(workspace=workspace, phone="+5511999990001", name="Ana")
    mine = Browser(api_client)
    mine.sync()
    published = events(workspace)
    theirs = Browser(other_client)
    theirs.contacts.append(contact("5511999990001", "Ana lá"))
    relabel(theirs, {"5511999990001@c.us": ["vip"]})
    theirs.sync()
    assert linked(workspace, "+5511999990001") == set()
    assert linked(other_workspace, "+5511999990001") == {"vip"}
    (label,) = Contact.objects.get(workspace=other_workspace).labels.all()
    assert label.workspace_id == other_workspace.pk
    assert events(workspace) == published


def test_statements_do_not_grow_with_the_chats_relabelled(client_for, make_member, workspace):
    def statements(count: int, offset: int) -> int:
        for i in range(count):
            contact_create(workspace=workspace, phone=f"55319{offset + i:08d}", name=f"C{i}")
        browser = Browser(client_for(make_member(workspace), workspace))
        browser.sync()
        browser.sync()
        relabel(browser, {f"55319{offset + i:08d}@c.us": ["vip"] for i in range(count)})
        with CaptureQueriesContext(connection) as queries:
            browser.sync()
        assert Contact.objects.filter(workspace=workspace, labels__client_key="vip").count() >= count
        # The request's own authentication queries vary (a session touch now and then).
        return len([q for q in queries.captured_queries if '"accounts_' not in q["sql"].split("WHERE")[0]])

    assert statements(10, 0) == statements(240, 1000)


def test_labels_echoed_back_without_icons_are_not_edits(api_client, workspace):
    browser = Browser(api_client)
    browser.sync()
    browser.labels = api_client.post(SYNC, browser.body(), format="json").json()["data"]["labels"]
    assert any(label["icon"] == "" for label in browser.labels["labels"])  # the workspace's defaults
    published = events(workspace, "label:")
    relabel(browser, {})  # a newer document whose label definitions are the server's own
    browser.sync()
    assert events(workspace, "label:") == published
