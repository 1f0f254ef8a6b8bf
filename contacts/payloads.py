"""The contact as every endpoint, event and export shows it (below the API layer: services,
selectors and the API serializers all build it here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from contacts.models import Contact
from crm.models import Label
from crm.selectors import attach_label_rows
from whatshybrid.api.representation import representation


def attach_labels(contacts: Iterable[Contact]) -> None:
    """Sets ``_label_rows`` on each contact, in one query for all of them."""
    attach_label_rows(contacts, Contact.labels.through, "contact")


class ContactLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ("id", "name", "color")


class ContactListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        return contact_payloads(data.all() if hasattr(data, "all") else data)


class ContactSerializer(serializers.ModelSerializer):
    """The contact as every endpoint, event and export shows it: the response and its schema
    (``whatshybrid.api.representation`` builds the object from these fields)."""

    labels = ContactLabelSerializer(source="_label_rows", many=True, read_only=True)

    class Meta:
        model = Contact
        fields = (
            "id",
            "phone",
            "phone_raw",
            "name",
            "email",
            "company",
            "notes",
            "tags",
            "labels",
            "custom_fields",
            "source",
            "opted_out",
            "last_interaction_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        list_serializer_class = ContactListSerializer

    def to_representation(self, contact: Contact) -> dict[str, Any]:
        if not hasattr(contact, "_label_rows"):
            attach_labels([contact])
        return contact_representation(contact)


def contact_representation(contact: Contact) -> dict[str, Any]:
    """The contact's object; its labels must be attached (``attach_labels``)."""
    return representation(ContactSerializer)(contact)


def contact_payloads(contacts: Iterable[Contact]) -> list[dict[str, Any]]:
    """The objects of these contacts, in order; labels read in one query for all."""
    contacts = list(contacts)
    attach_labels(contacts)
    return [contact_representation(contact) for contact in contacts]


def contact_payload(contact: Contact) -> dict[str, Any]:
    """The contact's object with its labels read afresh (a write may just have changed them)."""
    (payload,) = contact_payloads([contact])
    return payload
