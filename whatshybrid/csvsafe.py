"""The one rule for spreadsheet formulas in CSV cells (OWASP "CSV injection").

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return, also after leading spaces; customer-controlled text (a contact's name, a message) must
never do that in a file the project writes. Writers prefix such cells with ``'``, which makes them
text; the contacts importer detects formulas with the same rule and reads that prefix back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula(value: str) -> bool:
    """True when a spreadsheet would run ``value``."""
    return value[:1] in FORMULA_STARTS or value.lstrip(" \t\r\n")[:1] in FORMULA_STARTS


def neutralize(value: Any) -> str:
    """The cell for ``value`` (``None`` is empty), prefixed with ``'`` when it would run."""
    text = "" if value is None else str(value)
    return f"'{text}" if is_formula(text) else text


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``neutralize``."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, cells: Iterable[Any]) -> None:
        self._writer.writerow([neutralize(cell) for cell in cells])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
