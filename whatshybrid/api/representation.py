"""One declaration per resource object: a read-only serializer whose fields are both the OpenAPI
component and the recipe ``representation`` turns into the plain function that builds the object.

DRF's own ``to_representation`` walks every field of every object through several generic calls
(attribute lookup, ``get_attribute``, skip checks, ``to_representation``); on lists of up to 1000
rows that walk was most of the request. The derived builder makes the same decisions once, when
it is created, and then only reads and converts. Its rules, read from the declaration:

- a field reads one column from the row: the key of a ``.values()`` dict or the attribute of an
  object, named by ``Meta.columns[name]`` if given, else by its ``source`` (one name, no dots);
- a nested serializer with ``source="*"`` is built from the same row by its own declaration
  (whose ``Meta.columns`` name the row's columns, e.g. ``{"name": "contact__name"}``), and is
  ``null`` when it allows null and its ``id`` is null (``assignee`` of an unassigned task);
- a ``many=True`` field takes the row's value as it is: the selectors read those lists (labels)
  ready to serve, in one query for a whole page;
- a ``SerializerMethodField`` calls the declaration's ``get_<name>(row)``, with the builder's
  context as keyword arguments when the method declares keyword-only parameters;
- UUIDs become text, date-times DRF's UTC text (``instant_text``), dates ISO text and decimals
  text with the field's decimal places, as the fields themselves would render them; other
  values (text, numbers, booleans, JSON) go out as read.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from whatshybrid.api.serializers import instant_text

Builder = Callable[..., dict[str, Any]]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _day(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _converter(field: serializers.Field) -> Callable[[Any], Any] | None:
    if isinstance(field, serializers.UUIDField):
        return _text
    if isinstance(field, serializers.DateTimeField):
        return instant_text
    if isinstance(field, serializers.DateField):
        return _day
    if isinstance(field, serializers.DecimalField):
        places = field.decimal_places
        return lambda value: None if value is None else f"{value:.{places}f}"
    return None


def _column(field: serializers.Field, declaration: Any) -> str:
    column = getattr(declaration.Meta, "columns", {}).get(field.field_name, field.source)
    if "." in column:
        raise ImproperlyConfigured(f"{field.field_name}: a representation reads one column, not {column!r}.")
    return column


def _getter(field: serializers.Field, read: Callable[[Any, str], Any], declaration: Any) -> Callable[..., Any]:
    if isinstance(field, serializers.SerializerMethodField):
        method = getattr(declaration, field.method_name)
        kinds = {parameter.kind for parameter in inspect.signature(method).parameters.values()}
        if inspect.Parameter.KEYWORD_ONLY in kinds:
            return lambda row, context: method(row, **context)
        return lambda row, context: method(row)
    if field.source == "*":
        if not isinstance(field, serializers.Serializer):
            raise ImproperlyConfigured(f"{field.field_name}: only a nested serializer may read the whole row.")
        build = _builder(type(field), read)
        if not field.allow_null:
            return lambda row, context: build(row)
        id_column = _column(field.fields["id"], field)
        return lambda row, context: None if read(row, id_column) is None else build(row)
    source, convert = (
        _column(field, declaration),
        None if isinstance(field, serializers.ListSerializer) else _converter(field),
    )
    if convert is None:
        return lambda row, context: read(row, source)
    return lambda row, context: convert(read(row, source))


def representation(declaration: type[serializers.Serializer]) -> Builder:
    """The builder of ``declaration``'s object: ``build(row, **context)`` (``context`` goes to the
    method fields that ask for it). Rows are ``.values()`` dicts when ``declaration.Meta.rows ==
    "mapping"``, otherwise objects (model instances, named tuples); nested declarations read the
    same row."""
    return _builder(declaration, operator.getitem if getattr(declaration.Meta, "rows", "") == "mapping" else getattr)


@cache
def _builder(declaration: type[serializers.Serializer], read: Callable[[Any, str], Any]) -> Builder:
    instance = declaration()
    getters = [(name, _getter(field, read, instance)) for name, field in instance.fields.items()]

    def build(row: Any, **context: Any) -> dict[str, Any]:
        return {name: get(row, context) for name, get in getters}

    build.__qualname__ = f"representation({declaration.__name__})"
    return build
