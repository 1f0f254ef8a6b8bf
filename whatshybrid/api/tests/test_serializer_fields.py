"""The per-class field copies of StrictSerializer and StrictModelSerializer: each instance still
validates with its own fields and its own context."""

from __future__ import annotations

import threading

import pytest

from contacts.api.serializers import ContactInputSerializer
from crm.models import Label
from messaging.api.serializers import ConversationUpdateInputSerializer, MessageCreateInputSerializer


def test_each_instance_binds_its_own_fields_and_the_class_copy_stays_unbound():
    first, second = MessageCreateInputSerializer(data={}), MessageCreateInputSerializer(data={})
    for name in ("content", "direction", "sent_at"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    prototypes = MessageCreateInputSerializer.__dict__["_field_prototypes"]
    assert all(field.parent is None and field.field_name is None for field in prototypes.values())
    assert set(prototypes) == set(MessageCreateInputSerializer._declared_fields)


@pytest.mark.django_db
def test_a_list_of_workspace_ids_checks_each_instances_own_workspace(workspace, other_workspace):
    label = Label.objects.create(workspace=workspace, name="Só daqui")
    body = {"label_ids": [str(label.pk)]}
    # Both instances exist before either validates: a child field shared between them would look
    # the id up in whichever workspace bound it last.
    own = ConversationUpdateInputSerializer(data=body, context={"workspace": workspace})
    foreign = ConversationUpdateInputSerializer(data=body, context={"workspace": other_workspace})
    assert foreign.fields["label_ids"].child is not own.fields["label_ids"].child
    assert own.is_valid(), own.errors
    assert own.validated_data["labels"] == [label]
    assert not foreign.is_valid()
    assert "label_ids" in foreign.errors


@pytest.mark.django_db
def test_a_model_serializers_fields_are_built_once_and_checked_per_instance(workspace, other_workspace):
    label = Label.objects.create(workspace=workspace, name="Só daqui")
    body = {"phone": "+5511987654321", "labels": [str(label.pk)]}
    own = ContactInputSerializer(data=body, context={"workspace": workspace})
    foreign = ContactInputSerializer(data=body, context={"workspace": other_workspace})
    assert own.fields["opted_out"] is not foreign.fields["opted_out"]
    # The fields derived from the model (opted_out) come from the class copy too.
    assert set(ContactInputSerializer.__dict__["_field_prototypes"]) == set(own.fields)
    assert foreign.fields["labels"].child is not own.fields["labels"].child
    assert own.is_valid(), own.errors
    assert [row.pk for row in own.validated_data["labels"]] == [label.pk]
    assert not foreign.is_valid()
    assert "labels" in foreign.errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_validations_keep_their_own_errors():
    results: dict[int, object] = {}

    def validate(index: int) -> None:
        for _ in range(200):
            serializer = MessageCreateInputSerializer(
                data={"content": f"n{index}", "direction": ["x", "in"][index % 2]}
            )
            results[index] = serializer.is_valid() and serializer.validated_data["content"]

    threads = [threading.Thread(target=validate, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {index: (f"n{index}" if index % 2 else False) for index in range(6)}
