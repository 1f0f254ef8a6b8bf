"""The few queries whose SQL is worth keeping compiled or written out, each measured by a
benchmark in ``bench/`` (the bar: at least 25% on its endpoint). Everything else goes through
the ORM as usual."""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    CharField,
    DateTimeField,
    EmailField,
    Field,
    ForeignKey,
    JSONField,
    Model,
    QuerySet,
    TextField,
    UUIDField,
)

if TYPE_CHECKING:
    from accounts.models import Membership

ColumnConverters = list[tuple[int, Any, list[Callable[..., Any]]]]
_UUID = UUIDField()
_compiled: dict[tuple[Callable[..., QuerySet], str, int], tuple[str, ColumnConverters]] = {}


def _column_converters(columns: Sequence[Any]) -> ColumnConverters:
    # The ORM's own conversions of each selected column (``Col`` expressions): the backend's,
    # then the field's. Rows read with a plain cursor need them (SQLite hands back text for UUIDs
    # and times); each converter is given the connection it runs on, so they can be shared.
    converters = []
    for position, column in enumerate(columns):
        functions = [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
        if functions:
            converters.append((position, column, functions))
    return converters


def _convert_rows(rows: list[list[Any]], converters: ColumnConverters) -> None:
    for position, column, functions in converters:
        for row in rows:
            for convert in functions:
                row[position] = convert(row[position], column, connection)


def _compile(build: Callable[..., QuerySet], count: int) -> tuple[str, ColumnConverters]:
    scope, placeholders = uuid.UUID(int=0), [uuid.UUID(int=n + 1) for n in range(count)]
    compiler = build(scope, placeholders).query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    if list(params) != [_UUID.get_db_prep_value(pk, connection) for pk in [scope, *placeholders]]:
        raise ImproperlyConfigured("A compiled query may take no parameters besides its workspace and ids.")
    return sql, _column_converters([column for column, _sql, _alias in compiler.select])


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
    _convert_rows(rows, converters)
    return rows


class _MembershipLookup:
    """``SELECT`` membership + user + workspace for a live session, with the ORM's converters."""

    def __init__(self) -> None:
        from accounts.models import AuthSession, Membership, User, Workspace

        quote = connection.ops.quote_name
        tables = [(Membership, "m"), (User, "u"), (Workspace, "w")]
        columns = [field.get_col(alias) for model, alias in tables for field in model._meta.concrete_fields]
        self.converters = _column_converters(columns)
        self.models = [(model, [field.attname for field in model._meta.concrete_fields]) for model, _ in tables]
        session = AuthSession._meta
        self.sql = (
            f"SELECT {', '.join(f'{column.alias}.{quote(column.target.column)}' for column in columns)}"
            f" FROM {quote(Membership._meta.db_table)} m"
            f" JOIN {quote(User._meta.db_table)} u ON u.{quote('id')} = m.{quote('user_id')}"
            f" JOIN {quote(Workspace._meta.db_table)} w ON w.{quote('id')} = m.{quote('workspace_id')}"
            f" WHERE m.{quote('user_id')} = %s AND m.{quote('workspace_id')} = %s AND u.{quote('is_active')} = %s"
            f" AND EXISTS (SELECT 1 FROM {quote(session.db_table)} s WHERE s.{quote('id')} = %s"
            f" AND s.{quote('user_id')} = m.{quote('user_id')} AND s.{quote('workspace_id')} = m.{quote('workspace_id')}"
            f" AND s.{quote('revoked_at')} IS NULL)"
        )

    def fetch(self, user_id: uuid.UUID, workspace_id: uuid.UUID, session_id: uuid.UUID) -> Membership | None:
        params = [_UUID.get_db_prep_value(user_id, connection), _UUID.get_db_prep_value(workspace_id, connection)]
        params += [True, _UUID.get_db_prep_value(session_id, connection)]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = [list(row)]
        _convert_rows(values, self.converters)
        instances, offset = [], 0
        for model, attnames in self.models:
            instances.append(model.from_db(connection.alias, attnames, values[0][offset : offset + len(attnames)]))
            offset += len(attnames)
        membership, user, workspace = instances
        membership.user, membership.workspace = user, workspace
        return membership


@functools.cache
def _membership_lookup(vendor: str) -> _MembershipLookup:
    # Keyed by vendor: quoting and converters differ between SQLite and PostgreSQL.
    return _MembershipLookup()


def live_membership(*, user_id: uuid.UUID, workspace_id: uuid.UUID, session_id: uuid.UUID) -> Membership | None:
    """The membership (with its user and workspace loaded) of an active user in ``workspace_id``
    whose session ``session_id`` is live, else None: the check every authenticated request makes.

    Written out as SQL once per database vendor: building and compiling the same ORM query
    (``select_related`` + ``Exists``) cost more than running it. Measured against that ORM query
    with ``wrk -t1 -c8``, 5 alternating 3-second pairs in one run (issue 13), the ORM version
    served ``GET /auth/me`` at 0.63x (SQLite) and 0.50x (PostgreSQL + Redis) of this one, and
    ``GET /contacts?limit=50`` at 0.72x on both. (Letting psycopg prepare this text on the
    server, measured the same way on PostgreSQL, made no difference: 1.05x, pairs 0.77-1.19.)
    """
    return _membership_lookup(connection.vendor).fetch(user_id, workspace_id, session_id)


def ratelimit_cache_key(*, group: str, key: str, rate: str) -> str:
    """django-ratelimit's cache key for ``key``'s hits in ``group`` in the current window (every
    method), so a counter can be forgotten (``throttling.reset`` after a successful login).

    The library has no public reset; its key comes from two private functions, ``_get_window``
    and ``_make_cache_key``. ``whatshybrid/api/tests/test_throttling.py`` compares their
    installed source with the text they had when this was written, so an upgrade that changes
    them fails there.
    """
    from django_ratelimit.core import ALL, _get_window, _make_cache_key, _split_rate

    _limit, period = _split_rate(rate)
    return _make_cache_key(group, _get_window(key, period), rate, key, ALL)


def _adapter(field: Field, db: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    """``field.get_db_prep_save`` for one column, with shortcuts for the value types whose
    adaptation Django's own field classes do in one step (a subclass may differ, so it keeps
    the full path, as does every other type). ``db`` is the thread's connection itself: the
    ``connection`` proxy costs a context-local lookup per value."""
    full = functools.partial(field.get_db_prep_save, connection=db)
    # Exact classes only: a subclass (an encrypted text field, say) adapts its own way.
    target = field.target_field if type(field) is ForeignKey else field
    if type(target) in (CharField, TextField, EmailField):
        return lambda value: value if value is None or type(value) is str else full(value)
    if type(target) is UUIDField:
        if db.features.has_native_uuid_field:
            return lambda value: value if value is None or type(value) is uuid.UUID else full(value)
        return lambda value: None if value is None else value.hex if type(value) is uuid.UUID else full(value)
    if type(target) is DateTimeField:
        adapt = db.ops.adapt_datetimefield_value
        return lambda value: (
            adapt(value) if type(value) is datetime.datetime and value.tzinfo is not None else full(value)
        )
    if type(target) is JSONField:
        adapt, encoder = db.ops.adapt_json_value, target.encoder
        return lambda value: (
            None if value is None else adapt(value, encoder) if type(value) in (dict, list) else full(value)
        )
    return full


def _unnestable(field: Field) -> bool:
    """Whether PostgreSQL can take the column as one typed array, by ``bulk_create``'s own rule
    for its ``UNNEST`` inserts: a built-in column type and no placeholder of its own."""
    target = field.target_field if field.is_relation else field
    return not hasattr(field, "get_placeholder_sql") and target.get_internal_type() in connection.data_types


@functools.lru_cache(maxsize=64)  # one entry per model and statement size seen
def _insert_plan(model: type[Model], vendor: str, rows: int) -> tuple[str, list[Field], list[Field], bool]:
    """The statement for ``rows`` rows, its columns, the columns it reads back, and whether its
    parameters are one array per column (PostgreSQL's ``UNNEST``) rather than one per value."""
    # An auto-incremented key is the database's to fill; it comes back through RETURNING.
    fields = [field for field in model._meta.local_concrete_fields if not (field.generated or field.db_returning)]
    if any(field.has_db_default() for field in fields):
        raise ImproperlyConfigured(f"bulk_insert cannot fill {model.__name__}'s database defaults.")
    returning = list(model._meta.db_returning_fields)
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        raise ImproperlyConfigured(f"bulk_insert cannot read back {model.__name__}'s keys on {vendor}.")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    by_column = vendor == "postgresql" and rows > 1 and all(map(_unnestable, fields))
    if by_column:
        # The type without its size (varchar[], not varchar(200)[]): the column checks lengths.
        arrays = ", ".join(f"%s::{field.db_type(connection).split('(')[0]}[]" for field in fields)
        values = f"SELECT * FROM UNNEST({arrays})"
    else:
        values = connection.ops.bulk_insert_sql(fields, [["%s"] * len(fields)] * rows)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {values}"
    if returning:
        sql += f" RETURNING {', '.join(quote(field.column) for field in returning)}"
    return sql, fields, returning, by_column


def bulk_insert(objs: Sequence[Model], *, batch_size: int = 500) -> None:
    """Inserts new instances of one model like ``QuerySet.bulk_create`` (every field's
    ``pre_save``, so ``auto_now_add`` stamps the instances; no signals; primary keys made by
    their defaults; an auto-incremented key read back into each instance, in row order, as
    ``bulk_create`` does), ``batch_size`` rows per statement (fewer when the database's parameter
    limit says so), each statement's SQL built once per (model, vendor, row count).

    ``bulk_create`` compiles every value of every row through the query compiler. In the first
    extension sync of ``bench/bench_sync.py`` (5,000 contacts, 5,000 deals, 5,000 timeline rows,
    in process on SQLite, one session on the loaded 2-core machine) their inserts took 6.7 s
    through ``bulk_create`` and 3.7 s here; 5,000 contacts alone 1.45 s against 0.43 s. The
    event log's rows (``publish_many``, keys read back): 10,000 ``contact:created`` rows in 500-row
    statements took 0.69 s of CPU through ``bulk_create`` and 0.39 s here (median of 4 alternating
    rounds, SQLite, load 9), and the server's CPU for the whole first sync fell from 3.05 s to 2.8 s.
    On PostgreSQL the rows go in as one array per column (``UNNEST``, as ``bulk_create`` does
    there): the 5,000 contacts, deals and timeline rows took 5.0 s (wall, database included)
    as one parameter per value and 2.0 s as arrays (median of 5 alternating rounds, load 7).
    """
    if not objs:
        return
    model = type(objs[0])
    db = connections[connection.alias]
    adapters = [_adapter(field, db) for field in _insert_plan(model, db.vendor, 1)[1]]
    columns = len(adapters)
    limit = connection.features.max_query_params
    rows = batch_size if limit is None else max(1, min(batch_size, limit // columns))
    with db.cursor() as cursor:
        for start in range(0, len(objs), rows):
            part = objs[start : start + rows]
            sql, fields, returning, by_column = _insert_plan(model, db.vendor, len(part))
            steps = list(zip(fields, adapters, strict=True))
            if by_column:
                params = [[adapt(field.pre_save(obj, True)) for obj in part] for field, adapt in steps]
            else:
                params = [adapt(field.pre_save(obj, True)) for obj in part for field, adapt in steps]
            cursor.execute(sql, params)
            if returning:
                for obj, values in zip(part, cursor.fetchall(), strict=True):
                    for field, value in zip(returning, values, strict=True):
                        setattr(obj, field.attname, value)
    for obj in objs:
        obj._state.adding, obj._state.db = False, db.alias
