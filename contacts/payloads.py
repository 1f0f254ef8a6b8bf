"""The contact as every endpoint, event and export shows it (below the API layer: services,
selectors and the API serializers all build it here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contacts.models import Contact
from crm.selectors import attach_label_rows
from whatshybrid.api.serializers import instant_text


def attach_labels(contacts: Iterable[Contact]) -> None:
    """Sets ``_label_rows`` on each contact, in one query for all of them."""
    attach_label_rows(contacts, Contact.labels.through, "contact")


def contact_representation(contact: Contact) -> dict[str, Any]:
    """The contact's object; its labels must be attached (``attach_labels``).

    Written out by hand: the list endpoint serves up to 1000 contacts and DRF's generic field
    walk was most of its time.
    """
    return {
        "id": str(contact.pk),
        "phone": contact.phone,
        "phone_raw": contact.phone_raw,
        "name": contact.name,
        "email": contact.email,
        "company": contact.company,
        "notes": contact.notes,
        "tags": contact.tags,
        "labels": contact._label_rows,
        "custom_fields": contact.custom_fields,
        "source": contact.source,
        "opted_out": contact.opted_out,
        "last_interaction_at": instant_text(contact.last_interaction_at),
        "created_at": instant_text(contact.created_at),
        "updated_at": instant_text(contact.updated_at),
    }


def contact_payloads(contacts: Iterable[Contact]) -> list[dict[str, Any]]:
    """The objects of these contacts, in order; labels read in one query for all."""
    contacts = list(contacts)
    attach_labels(contacts)
    return [contact_representation(contact) for contact in contacts]


def contact_payload(contact: Contact) -> dict[str, Any]:
    """The contact's object with its labels read afresh (a write may just have changed them)."""
    (payload,) = contact_payloads([contact])
    return payload
