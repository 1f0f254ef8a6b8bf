"""Housekeeping registry: each app registers how to delete its expired rows; ``manage.py prune``
(or the ``prune_expired`` job) runs them all.

Register from an ``AppConfig.ready``::

    from whatshybrid.api.pruning import register_pruner
    register_pruner("auth_sessions", session_prune)

A pruner returns how many rows it deleted and must be safe to run at any time, repeatedly.
"""

from __future__ import annotations

from collections.abc import Callable

Pruner = Callable[[], int]
_PRUNERS: dict[str, Pruner] = {}


def register_pruner(name: str, pruner: Pruner) -> None:
    if _PRUNERS.get(name, pruner) is not pruner:
        raise ValueError(f"A different pruner is already registered as {name!r}.")
    _PRUNERS[name] = pruner


def registered_pruners() -> dict[str, Pruner]:
    return dict(sorted(_PRUNERS.items()))


def prune_all(*, only: list[str] | None = None) -> dict[str, int]:
    """Runs the pruners (all, or those named in ``only``); returns rows deleted per pruner."""
    pruners = registered_pruners()
    unknown = sorted(set(only or []) - set(pruners))
    if unknown:
        raise KeyError(f"Unknown pruner(s): {', '.join(unknown)}. Known: {', '.join(pruners)}.")
    return {name: pruner() for name, pruner in pruners.items() if not only or name in only}
