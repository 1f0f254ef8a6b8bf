"""Shared behaviour of the management commands that write to standard output."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_on_closed_pipe() -> Iterator[None]:
    """``export ... | head`` closes the pipe early: stop quietly (exit status 1), no traceback.

    Standard output is pointed at /dev/null so the interpreter's final flush does not fail again
    (the recipe of Python's ``signal`` documentation).
    """
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
