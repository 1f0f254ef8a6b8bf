from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from crm import services
from crm.models import DealActivity, Label, PipelineStage
from crm.tests.factories import deal_factory, stage_named
from whatshybrid.api.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(jobs: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("threads need a shared database file")
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def worker(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(job())
        except BaseException as exc:  # reported in the test thread
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_concurrent_stage_writes_keep_positions_contiguous(workspace):
    lead = stage_named(workspace, "Lead")
    jobs = [
        *(lambda i=i: services.stage_create(workspace=workspace, name=f"New {i}", position=i % 2) for i in range(4)),
        lambda: services.stage_update(stage=lead, data={"position": 5}),
        lambda: services.stage_reorder(workspace=workspace, stage_ids=[stage_named(workspace, "Perdido").pk]),
    ]
    _, errors = run_together(jobs)
    assert not errors, errors
    positions = sorted(PipelineStage.objects.filter(workspace=workspace).values_list("position", flat=True))
    assert positions == list(range(10))


def test_concurrent_same_label_name_is_one_label_and_conflicts(workspace):
    jobs = [
        lambda spelling=spelling: services.label_create(workspace=workspace, name=spelling)
        for spelling in ("Quente", "QUENTE", "quente")
    ]
    results, errors = run_together(jobs)
    assert len(results) == 1
    assert len(errors) == 2 and all(isinstance(error, Conflict) for error in errors), errors
    assert Label.objects.filter(workspace=workspace, name__iexact="quente").count() == 1


def test_concurrent_moves_leave_a_consistent_timeline(workspace):
    deal = deal_factory(workspace=workspace)
    targets = ["Qualificado", "Proposta", "Negociação", "Fechado"]
    stages = {name: stage_named(workspace, name) for name in targets}
    jobs = [lambda name=name: services.deal_update(deal=deal, data={"stage": stages[name]}) for name in targets]
    _, errors = run_together(jobs)
    assert not errors, errors
    moves = DealActivity.objects.filter(deal=deal, kind="stage_changed")
    step = {move.data["from_stage_name"]: move.data["to_stage_name"] for move in moves}
    # Serialized by the row lock: every move starts where the previous one ended, so the moves
    # form one path from Lead (two moves read from the same stage would collapse in ``step``).
    assert len(step) == 4
    path = ["Lead"]
    while path[-1] in step:
        path.append(step[path[-1]])
    assert sorted(path[1:]) == sorted(targets)
    deal.refresh_from_db()
    assert deal.stage.name == path[-1]


def test_stage_delete_racing_deal_writes_orphans_nothing(workspace):
    from whatshybrid.api.errors import ApplicationError

    qualificado, proposta = stage_named(workspace, "Qualificado"), stage_named(workspace, "Proposta")
    in_qualificado = [deal_factory(workspace=workspace, stage=qualificado) for _ in range(3)]
    movers = [deal_factory(workspace=workspace) for _ in range(3)]
    jobs = [
        lambda: services.stage_delete(stage=qualificado, move_to=proposta),
        *(lambda d=d: services.deal_update(deal=d, data={"stage": qualificado}) for d in movers),
        *(lambda d=d: services.deal_update(deal=d, data={"title": "renamed"}) for d in in_qualificado),
        lambda: deal_factory(workspace=workspace, stage=qualificado),
    ]
    _, errors = run_together(jobs)
    # A write that lost the race to the delete is a clear 400, never a crash.
    assert all(isinstance(error, ApplicationError) and error.code == "VALIDATION_ERROR" for error in errors), errors
    assert not PipelineStage.objects.filter(pk=qualificado.pk).exists()
    stage_ids = set(PipelineStage.objects.filter(workspace=workspace).values_list("pk", flat=True))
    from crm.models import Deal

    assert set(Deal.objects.filter(workspace=workspace).values_list("stage_id", flat=True)) <= stage_ids
    positions = sorted(PipelineStage.objects.filter(workspace=workspace).values_list("position", flat=True))
    assert positions == list(range(5))
