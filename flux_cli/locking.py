"""Run locks at the edge: each command takes its locks once, for its whole run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import structlog

from pipelines.io import locks
from pipelines.settings import Settings

DEFAULT_WAIT_TIMEOUT = 6 * 3600.0


@contextmanager
def locked(
    settings: Settings,
    namespaces: list[str],
    restaurants: list[str] | frozenset[str] | None,
    *,
    wait: bool,
    timeout: float | None,
    command: str,
) -> Iterator[None]:
    """Holds the locks of ``namespaces`` (targets, or ``data``) for ``restaurants``.

    Without ``wait`` a busy lock fails at once (exit 1, naming who holds it); with it the command
    waits up to ``timeout`` seconds (default 6 h).
    """
    scope = frozenset(restaurants) if restaurants else None
    seconds = (timeout if timeout is not None else DEFAULT_WAIT_TIMEOUT) if wait else 0.0
    with ExitStack() as stack:
        for namespace in sorted(set(namespaces)):  # one order everywhere: no deadlocks
            stack.enter_context(
                locks.hold(settings, namespace, scope, wait=seconds, command=command)
            )
        structlog.get_logger("flux.lock").debug(
            "locks held", namespaces=namespaces, restaurant=sorted(scope or ["*"])
        )
        yield
