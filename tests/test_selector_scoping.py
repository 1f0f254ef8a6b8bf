"""Tenancy below the views: every selector that reads rows by id takes the workspace as a
required keyword argument, so it cannot be called unscoped by a job, a command or a consumer.
A deliberate cross-workspace read is named ``..._unscoped`` and says why in its docstring."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import uuid

import pytest

from messaging.selectors import conversation_rows
from tests.seed import Seeder, django_transport

SELECTOR_MODULES = [
    name
    for name in (
        "accounts.selectors",
        "contacts.selectors",
        "crm.selectors",
        "messaging.selectors",
        "tasks.selectors",
        "templates_app.selectors",
        "whatshybrid.realtime.selectors",
    )
    if importlib.util.find_spec(name) is not None
]
SCOPES = ("workspace", "workspace_id")


def _reads_by_id(parameter: str) -> bool:
    return parameter not in SCOPES and (parameter in ("id", "ids", "pk") or parameter.endswith(("_id", "_ids")))


def selectors_by_id() -> list[tuple[str, str, inspect.Signature]]:
    found = []
    for module_name in SELECTOR_MODULES:
        module = importlib.import_module(module_name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module_name:
                continue
            signature = inspect.signature(function)
            if any(_reads_by_id(parameter) for parameter in signature.parameters):
                found.append((module_name, name, signature))
    return found


def test_there_are_selectors_by_id_to_check():
    assert {name for _module, name, _signature in selectors_by_id()} >= {"conversation_rows", "messages_for_export"}


@pytest.mark.parametrize(("module", "name", "signature"), selectors_by_id())
def test_a_selector_by_id_requires_the_workspace(module, name, signature):
    if name.endswith("_unscoped"):
        function = getattr(importlib.import_module(module), name)
        assert function.__doc__, f"{module}.{name} reads across workspaces: its docstring must say why"
        return
    scope = [signature.parameters[p] for p in SCOPES if p in signature.parameters]
    assert scope, f"{module}.{name}{signature} reads by id but takes no workspace"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty for p in scope), (
        f"{module}.{name}{signature}: the workspace must be a required keyword argument"
    )


@pytest.mark.django_db
def test_conversation_rows_of_another_workspace_are_not_found(api_client, other_workspace, workspace):
    conversation = uuid.UUID(Seeder(django_transport(api_client)).id("conversation"))
    assert [row["id"] for row in conversation_rows(workspace=workspace.pk, ids=[conversation])] == [conversation]
    assert conversation_rows(workspace=other_workspace.pk, ids=[conversation]) == []
    with pytest.raises(TypeError):
        conversation_rows(ids=[conversation])
