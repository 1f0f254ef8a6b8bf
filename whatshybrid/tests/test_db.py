"""``whatshybrid.db.bulk_insert`` writes what ``bulk_create`` writes, on either backend."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from crm.models import Deal, DealActivity, Label, PipelineStage
from whatshybrid.db import bulk_insert

pytestmark = pytest.mark.django_db


def stored(model: Any, keys: list[Any], skip: tuple[str, ...] = ("id", "created_at", "updated_at")) -> list[dict]:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
    return [model.objects.filter(pk=pk).values(*fields).get() for pk in keys]


def contacts(workspace: Any, tag: str) -> list[Contact]:
    moment = datetime.datetime(2026, 12, 1, 12, 30, 15, 123456, tzinfo=datetime.UTC)
    return [
        Contact(
            workspace=workspace,
            phone=f"+55119{tag}{i:06d}",
            name=f"Cliente ção {i}",
            email="" if i % 2 else f"c{i}@example.com",
            notes="linha\nduas",
            tags=["lead", "vip"][: i % 3],
            custom_fields={"cidade": "Recife", "n": i, "ok": True, "nada": None},
            opted_out=bool(i % 2),
            last_interaction_at=moment if i % 2 else None,
            client_key=None if i % 2 else f"contact_{tag}_{i}",
            client_extra={"stage": "lead"},
        )
        for i in range(7)
    ]


def test_rows_match_bulk_create_and_instances_are_saved(workspace):
    theirs, ours = contacts(workspace, "1"), contacts(workspace, "2")
    Contact.objects.bulk_create(theirs)
    bulk_insert(ours, batch_size=3)  # 3 + 3 + 1 rows
    assert all(not row._state.adding and row.created_at is not None for row in ours)
    mine = stored(Contact, [row.pk for row in ours], skip=("id", "created_at", "updated_at", "phone", "client_key"))
    assert mine == stored(
        Contact, [row.pk for row in theirs], skip=("id", "created_at", "updated_at", "phone", "client_key")
    )
    assert [Contact.objects.get(pk=row.pk).created_at for row in ours] == [row.created_at for row in ours]

    stage = PipelineStage.objects.filter(workspace=workspace).first()
    deals = [
        Deal(
            workspace=workspace, contact=row, stage=stage, title=f"Venda {i}", value=decimal.Decimal("1234.50"), tags=[]
        )
        for i, row in enumerate(ours)
    ]
    bulk_insert(deals)
    assert [Deal.objects.get(pk=deal.pk).value for deal in deals] == [decimal.Decimal("1234.50")] * len(deals)
    activities = [DealActivity(workspace=workspace, deal=deal, kind="created", to_stage=stage) for deal in deals]
    bulk_insert(activities)
    assert DealActivity.objects.filter(deal__in=deals, to_stage=stage).count() == len(deals)

    # An auto-incremented key (the labels' link table) is the database's, read back in row order.
    label = Label.objects.filter(workspace=workspace).first()
    link = Contact.labels.through
    links = [link(contact_id=row.pk, label_id=label.pk) for row in ours]
    bulk_insert(links, batch_size=3)
    assert set(label.contacts.values_list("pk", flat=True)) == {row.pk for row in ours}
    assert all(isinstance(row.pk, int) for row in links)
    assert [link.objects.get(pk=row.pk).contact_id for row in links] == [row.pk for row in ours]


def test_one_statement_per_batch(workspace):
    rows = contacts(workspace, "3")
    with CaptureQueriesContext(connection) as queries:
        bulk_insert(rows, batch_size=5)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "INSERT"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce column lengths")
def test_postgresql_arrays_do_not_truncate_long_values(workspace):
    # The per-column arrays are cast without their size (varchar[]); the column still refuses.
    rows = contacts(workspace, "4")
    rows[3].name = "x" * 201
    with pytest.raises(DataError), transaction.atomic():
        bulk_insert(rows)
    assert not Contact.objects.filter(phone__startswith="+551194").exists()
