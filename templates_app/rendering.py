"""Template variables and placeholder substitution.

Rendering is one regular-expression pass over the text: a placeholder is replaced by a plain
string and the result is never scanned again, so neither the template nor a value can run code
or expand further placeholders (no template engine ever sees user content).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([^\W\d]\w{0,59})\s*\}\}")
VARIABLE_NAME = re.compile(r"[^\W\d]\w{0,59}")
MAX_VARIABLES = 50
MAX_VALUE_LENGTH = 5000

# Placeholder names (lower-cased) → how to read the value from a contact. Portuguese and English
# names both work because the extension's users write templates in either.
_CONTACT_READERS: tuple[tuple[tuple[str, ...], Callable[[Any], str]], ...] = (
    (("nome", "name", "nome_completo", "full_name", "cliente", "contato", "contact"), lambda c: c.name),
    (("primeiro_nome", "first_name", "firstname"), lambda c: (c.name or "").split(" ")[0]),
    (("telefone", "phone", "celular", "whatsapp", "numero", "número", "number"), lambda c: c.phone),
    (("email", "e_mail"), lambda c: c.email),
    (("empresa", "company"), lambda c: c.company),
)
CONTACT_FIELDS: dict[str, Callable[[Any], str]] = {name: read for names, read in _CONTACT_READERS for name in names}


class VariableError(ValueError):
    """A declaration or value broke a rule; the message is shown to the user."""


def normalize_variables(raw: Any) -> list[dict[str, Any]]:
    """``[{name, default, required}]`` from that shape or a plain list of names (older clients)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise VariableError("Must be a list of names or of {name, default, required} objects.")
    if len(raw) > MAX_VARIABLES:
        raise VariableError(f"At most {MAX_VARIABLES} variables.")
    declared: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        spec = {"name": item} if isinstance(item, str) else item
        if not isinstance(spec, dict):
            raise VariableError(f"Item {index}: must be a name or a {{name, default, required}} object.")
        unknown = sorted(set(spec) - {"name", "default", "required"})
        if unknown:
            raise VariableError(f"Item {index}: unknown keys {', '.join(unknown)}.")
        name = spec.get("name")
        if isinstance(name, str):
            name = name.strip().removeprefix("{{").removesuffix("}}").strip()
        if not isinstance(name, str) or not VARIABLE_NAME.fullmatch(name):
            raise VariableError(f"Item {index}: name must be letters, digits or _ (not starting with a digit).")
        if name.lower() in seen:
            raise VariableError(f"Variable '{name}' is declared twice.")
        seen.add(name.lower())
        default = spec.get("default")
        if isinstance(default, bool) or not isinstance(default, str | int | float | None):
            raise VariableError(f"Variable '{name}': default must be a string.")
        default = "" if default is None else str(default)
        if len(default) > MAX_VALUE_LENGTH:
            raise VariableError(f"Variable '{name}': default is longer than {MAX_VALUE_LENGTH} characters.")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise VariableError(f"Variable '{name}': required must be true or false.")
        declared.append({"name": name, "default": default, "required": required})
    return declared


def normalize_values(raw: Any) -> dict[str, str]:
    """Given values: an object of name → string or number (numbers are written as typed)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise VariableError("Must be an object of name → value.")
    values: dict[str, str] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise VariableError(f"'{name}' must be a string or a number.")
        text = str(value)
        if len(text) > MAX_VALUE_LENGTH:
            raise VariableError(f"'{name}' is longer than {MAX_VALUE_LENGTH} characters.")
        values[str(name).strip().lower()] = text
    return values


def _custom_values(contact: Any) -> dict[str, str]:
    return {
        str(key).strip().lower(): str(value)
        for key, value in (contact.custom_fields or {}).items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }


@dataclass
class Rendered:
    text: str
    used: dict[str, str] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


class MissingVariables(VariableError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"Missing required variable(s): {', '.join(names)}.")
        self.names = names


def render(content: str, *, declared: list[dict[str, Any]], values: Mapping[str, str], contact: Any = None) -> Rendered:
    """Fills placeholders: given values, then the contact's fields, then declared defaults.

    A declared variable without a value takes its default (possibly empty); a required one
    that ends up empty is an error naming it. An undeclared placeholder with no value is left as
    written and reported in ``unresolved``.
    """
    defaults = {spec["name"].lower(): spec["default"] for spec in declared}
    custom = _custom_values(contact) if contact is not None else {}
    resolved: dict[str, str | None] = {}

    def resolve(key: str) -> str | None:
        """The value for a lower-cased name; None when there is none and it is undeclared."""
        if key not in resolved:
            value = values.get(key)
            if not value and contact is not None:
                reader = CONTACT_FIELDS.get(key)
                value = (reader(contact) if reader else custom.get(key)) or value
            resolved[key] = value or defaults.get(key, value)
        return resolved[key]

    missing = [spec["name"] for spec in declared if spec["required"] and not resolve(spec["name"].lower())]
    if missing:
        raise MissingVariables(missing)
    result = Rendered(text="")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = resolve(name.lower())
        if value is not None:
            result.used[name] = value
            return value
        if name not in result.unresolved:
            result.unresolved.append(name)
        return match.group(0)

    result.text = PLACEHOLDER.sub(substitute, content)
    return result
