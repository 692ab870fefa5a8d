"""Reading ahead: the next item of an iterator is produced in a worker thread while the caller
works on the current one.

An import parses a chunk (Python and pandas work) and then waits on the database while it loads
it; with the next chunk parsed during that wait, the two overlap. The worker holds at most
``depth`` items ahead, so memory stays bounded; it runs in a copy of the caller's context (the
import's limits are a context variable); an exception it raises is raised to the caller at the
item where it happened, and when the caller stops early (an error, a kill) the worker stops too.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterator

_DONE = object()
_POLL_S = 0.1


def read_ahead[T](items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yields what ``items`` yields, in order, producing up to ``depth`` items ahead in a thread.

    Raises:
        Whatever ``items`` raises, where it raises it.
    """
    ahead: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # raised to the caller below
            put(_Raised(exc))
            return
        put(_DONE)

    worker = threading.Thread(
        target=contextvars.copy_context().run, args=(work,), name="flux-read-ahead", daemon=True
    )
    worker.start()
    try:
        while True:
            item = ahead.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
        close = getattr(items, "close", None)
        if close is not None:
            close()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
