"""Query pieces shared by the apps' selectors, including hot-path SQL written once per vendor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connection
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
