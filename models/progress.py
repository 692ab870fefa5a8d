"""Fit progress: how far a fit has got, reported without changing any estimator's signature.

An estimator that fits restaurant by restaurant calls :func:`report` as it goes; a caller that
wants to know (the CLI's progress bar) wraps the fit in :func:`reporting`. With no reporter
installed :func:`report` does nothing. Reports are made in the calling process (a parallel fit
reports as each worker's result comes back), so a callback needs no locking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Progress = Callable[[str, int, int], None]
"""Called as ``progress(label, done, total)``."""

_CURRENT: ContextVar[Progress | None] = ContextVar("flux_fit_progress", default=None)
_SCOPE: ContextVar[str] = ContextVar("flux_fit_scope", default="")


@contextmanager
def reporting(callback: Progress | None) -> Iterator[None]:
    """Sends every :func:`report` made inside the block to ``callback``."""
    token = _CURRENT.set(callback)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Labels the reports made inside the block (e.g. ``validation fit``)."""
    token = _SCOPE.set(name)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def report(member: str, done: int, total: int) -> None:
    """``done`` of ``total`` restaurants of ``member`` are fitted."""
    callback = _CURRENT.get()
    if callback is not None:
        prefix = _SCOPE.get()
        callback(f"{prefix}: {member}" if prefix else member, done, total)
