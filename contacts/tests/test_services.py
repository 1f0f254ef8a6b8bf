from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from contacts.models import Contact
from contacts.services import contact_get_or_create_by_phone
from whatshybrid.realtime.models import Event


@pytest.mark.django_db
def test_get_or_create_by_phone_is_one_identity(workspace, other_workspace):
    contact, created = contact_get_or_create_by_phone(workspace=workspace, phone="5511999990001@c.us", name="Ana")
    assert created and (contact.phone, contact.phone_raw, contact.name, contact.source) == (
        "+5511999990001",
        "5511999990001@c.us",
        "Ana",
        "whatsapp",
    )
    for spelling in ("+55 11 9999-0001", "(11) 99999-0001", "+5511999990001"):
        again, created = contact_get_or_create_by_phone(workspace=workspace, phone=spelling, name="Other")
        assert (again.pk, created, again.name) == (contact.pk, False, "Ana")
    theirs, created = contact_get_or_create_by_phone(workspace=other_workspace, phone="+5511999990001")
    assert created and theirs.pk != contact.pk
    created_events = Event.objects.filter(workspace=workspace, name="contact:created")
    assert [e.payload["id"] for e in created_events] == [str(contact.pk)]


@pytest.mark.django_db
def test_get_or_create_by_phone_rejects_bad_phones(workspace):
    with pytest.raises(ValueError, match="not a valid phone"):
        contact_get_or_create_by_phone(workspace=workspace, phone="hello")
    assert not Contact.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_get_or_create_yields_one_contact(workspace):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("threads need a shared database file")
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(spelling: str) -> None:
        try:
            barrier.wait(timeout=10)
            contact, _ = contact_get_or_create_by_phone(workspace=workspace, phone=spelling)
            results.append(str(contact.pk))
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)
        finally:
            close_old_connections()

    spellings = ["+5511999990001", "5511999990001@c.us", "(11) 9999-0001", "11 99999-0001"]
    threads = [threading.Thread(target=worker, args=(s,)) for s in spellings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(set(results)) == 1 and len(results) == 4
    assert Contact.objects.filter(workspace=workspace).count() == 1
