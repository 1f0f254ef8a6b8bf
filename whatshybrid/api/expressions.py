"""Query pieces shared by the apps' selectors, including hot-path SQL written once per vendor."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import JSONField, Model
from django.db.models.expressions import RawSQL


@cache
def _json_rows_sql(vendor: str, link: type[Model], owner: str, target: str, fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    link_meta = link._meta
    owner_field, target_field = link_meta.get_field(owner), link_meta.get_field(target)
    outer_meta, target_meta = owner_field.related_model._meta, target_field.related_model._meta
    build, aggregate = ("JSONB_BUILD_OBJECT", "JSONB_AGG") if vendor == "postgresql" else ("JSON_OBJECT", "JSON_GROUP_ARRAY")
    pairs = ", ".join(f"'{name}', t.{quote(target_meta.get_field(name).column)}" for name in fields)
    return (
        f"SELECT {aggregate}({build}({pairs})) FROM {quote(link_meta.db_table)} l"
        f" JOIN {quote(target_meta.db_table)} t ON t.{quote(target_meta.pk.column)} = l.{quote(target_field.column)}"
        f" WHERE l.{quote(owner_field.column)} = {quote(outer_meta.db_table)}.{quote(outer_meta.pk.column)}"
    )


def json_rows(link: type[Model], *, owner: str, target: str, fields: tuple[str, ...]) -> RawSQL:
    """A column for a list query: the ``target`` rows linked to each ``owner`` row through the
    many-to-many table ``link``, as a JSON array of ``{field: value}`` objects (NULL for none).

    It replaces a second query per page: on a loaded machine each round trip to the database
    costs more than the subquery's index lookups. Written as SQL (once per database vendor)
    because building and compiling the same ORM subquery cost more CPU than the page itself.
    """
    return RawSQL(f"({_json_rows_sql(connection.vendor, link, owner, target, fields)})", (), output_field=JSONField())


ColumnConverters = list[tuple[int, Any, list[Callable[..., Any]]]]


def column_converters(columns: Sequence[Any]) -> ColumnConverters:
    """The ORM's own conversions of each selected column (``Col`` expressions): the backend's,
    then the field's. Rows read with a plain cursor need them (SQLite hands back text for UUIDs
    and times); each converter is given the connection it runs on, so they can be shared."""
    converters = []
    for position, column in enumerate(columns):
        functions = [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
        if functions:
            converters.append((position, column, functions))
    return converters


def convert_rows(rows: list[list[Any]], converters: ColumnConverters) -> None:
    """Applies ``column_converters`` to ``rows`` in place."""
    for position, column, functions in converters:
        for row in rows:
            for convert in functions:
                row[position] = convert(row[position], column, connection)


@contextlib.contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """A cursor for hot-path SQL whose text is built once and then only executed.

    On PostgreSQL it binds parameters on the server, so psycopg prepares each such text on the
    connection after a few runs (the ``prepare_threshold`` option): PostgreSQL stops parsing and
    planning it on every request (planning the locked conversation read cost five times its
    execution) and Python stops quoting each parameter into the text. Django's own cursors bind on
    the client and never prepare, which keeps arbitrary ORM texts from filling the connection's
    statement cache. Elsewhere, or with prepared statements off (``DB_PREPARED_STATEMENTS=0``),
    it is the ordinary cursor. Either way it is Django's cursor wrapper, so query logging,
    ``execute_wrapper`` and error translation see these statements like any other.
    """
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor != "postgresql" or raw.prepare_threshold is None:
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    # Django creates the cursor (time-zone loader, wrapper, health check) from the connection's
    # factory; swapping it for this one call is safe because a connection belongs to one thread.
    client_binding = raw.cursor_factory
    raw.cursor_factory = ServerBindingCursor
    try:
        cursor = connection.cursor()
    finally:
        raw.cursor_factory = client_binding
    with cursor:
        yield cursor
