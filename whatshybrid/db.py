"""The few queries whose SQL is worth keeping compiled, each measured by a benchmark in ``bench/``
(the bar: at least 25% on its endpoint). Everything else goes through the ORM as usual."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import QuerySet, UUIDField

from whatshybrid.api.expressions import ColumnConverters, column_converters, convert_rows

_UUID = UUIDField()
_compiled: dict[tuple[Callable[..., QuerySet], str, int], tuple[str, ColumnConverters]] = {}


def _compile(build: Callable[..., QuerySet], count: int) -> tuple[str, ColumnConverters]:
    scope, placeholders = uuid.UUID(int=0), [uuid.UUID(int=n + 1) for n in range(count)]
    compiler = build(scope, placeholders).query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    if list(params) != [_UUID.get_db_prep_value(pk, connection) for pk in [scope, *placeholders]]:
        raise ImproperlyConfigured("A compiled query may take no parameters besides its workspace and ids.")
    return sql, column_converters([column for column, _sql, _alias in compiler.select])


def rows_by_ids(
    build: Callable[[uuid.UUID, list[uuid.UUID]], QuerySet], *, workspace_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[list[Any]]:
    """The rows of ``build(workspace_id, ids)``, a ``.values()`` query whose only parameters are
    the workspace id and then the ids, as lists in its column order.

    Its SQL is compiled once per (``build``, database vendor, number of ids) and afterwards only
    executed; ``build`` must be a module-level function, so it is the same object on every call.
    For the conversation object (a 30-column ``.values()`` over four joined tables) building and
    compiling the query cost ten times more than running it: 3.4 ms against 0.3 ms per
    conversation payload in process on SQLite. Through the ORM, ``bench/run --quick messaging``
    (SQLite, same session) fell from 0.95x to 0.74x its bare view for the conversation list and
    from 0.79x to 0.60x for message create, whose event carries the conversation (docs/messaging.md).
    """
    key = (build, connection.vendor, len(ids))
    if key not in _compiled:
        _compiled[key] = _compile(build, len(ids))
    sql, converters = _compiled[key]
    with connection.cursor() as cursor:
        cursor.execute(sql, [_UUID.get_db_prep_value(pk, connection) for pk in [workspace_id, *ids]])
        rows = [list(row) for row in cursor.fetchall()]
    convert_rows(rows, converters)
    return rows
