"""One lock order for writes that reference other rows, and for deletes of those rows.

On PostgreSQL a foreign key is checked at COMMIT (Django makes them ``DEFERRABLE INITIALLY
DEFERRED``), after ``publish()`` has locked the workspace's event counter. A write that inserts a
row pointing at a contact, deal, stage or label, beside a delete of that row, then waited for the
row while holding the counter, and the delete waited for the counter while holding the row: a
deadlock. So every write takes its locks in one order:

1. the rows it references (``hold_references``), sorted by primary key;
2. the row it deletes (``lock_for_delete``) or changes (``lock_to_change``);
3. the event counter, last (``publish()``).

A referenced row that is gone once its lock is granted is a 409 ``REFERENCE_DELETED`` naming the
field, never a 500 at COMMIT; a changed row that is gone is a 404. On SQLite the IMMEDIATE transaction already serializes writers; the
same reads there see the vanished row inside the write's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.db.models import QuerySet

from whatshybrid.api.errors import Conflict, NotFoundError


def lock_keys(model: type[models.Model], pks: Iterable[Any]) -> set[Any]:
    """Locks the ``model`` rows of ``pks`` as a foreign key check does (PostgreSQL ``FOR KEY
    SHARE``, in primary key order) and returns the primary keys that still exist.

    That lock waits only for a delete (``FOR UPDATE``) of the row: writers referencing the same
    row, and plain updates of it, never wait for one another. Django offers ``FOR UPDATE`` and
    ``FOR NO KEY UPDATE`` only, which would make every writer referencing a popular label take
    turns, so the clause is appended to the ORM's own query here.
    """
    wanted = {pk for pk in pks if pk is not None}
    if not wanted:
        return set()
    queryset = model.objects.filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)
    if connection.vendor != "postgresql":
        return set(queryset)  # SQLite: the IMMEDIATE transaction already excludes other writers
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR KEY SHARE", params)
        return {model._meta.pk.to_python(row[0]) for row in cursor.fetchall()}


def hold_references(model: type[models.Model], refs: Iterable[Any], *, field: str) -> None:
    """Locks the ``model`` rows (instances or primary keys) a write is about to reference, before
    it touches anything else; a 409 naming ``field`` when one is gone."""
    wanted = {getattr(ref, "pk", ref) for ref in refs if ref is not None}
    if len(lock_keys(model, wanted)) < len(wanted):
        name = model._meta.verbose_name
        raise Conflict(
            f"The {name} was deleted while this request ran.",
            code="REFERENCE_DELETED",
            errors={field: [f"The {name} no longer exists."]},
        )


def lock_to_change[Row: models.Model](queryset: QuerySet[Row], pk: Any) -> Row:
    """The row a write is about to change, fetched and locked by ``queryset`` (a
    ``select_for_update``); a 404 when a concurrent delete removed it meanwhile."""
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise NotFoundError(f"The {queryset.model._meta.verbose_name} was deleted.")
    return row


def lock_for_delete(instance: models.Model) -> bool:
    """Locks the row about to be deleted; False when a concurrent delete already removed it, so
    the caller publishes its ``*:deleted`` event once, whichever delete commits first."""
    return type(instance).objects.select_for_update().filter(pk=instance.pk).exists()
