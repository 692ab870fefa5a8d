"""Reading ahead (pipelines.io.prefetch): the same items in the same order, errors where they
happen, the import's context visible to the worker, and no worker left behind."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from pipelines.io.prefetch import read_ahead

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("flux_test_var", default="unset")


def _workers() -> int:
    return sum(t.name == "flux-read-ahead" for t in threading.enumerate())


def test_yields_every_item_in_order() -> None:
    assert list(read_ahead(iter(range(50)), depth=3)) == list(range(50))
    assert list(read_ahead(iter([]))) == []
    assert _workers() == 0


def test_holds_at_most_depth_items_ahead() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(10):
            produced.append(i)
            yield i

    it = read_ahead(items(), depth=2)
    assert next(it) == 0
    threading.Event().wait(0.3)  # the worker runs ahead as far as it may
    # item 0 was taken; 1 and 2 wait in the queue; 3 is made and waits to be put
    assert len(produced) <= 4
    it.close()
    assert _workers() == 0


def test_an_error_is_raised_at_its_item() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3: bad amount")

    got: list[int] = []
    with pytest.raises(ValueError, match="row 3"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]
    assert _workers() == 0


def test_stopping_early_stops_the_worker_and_closes_the_source() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    for item in read_ahead(items()):
        if item == 3:
            break
    assert closed.is_set()
    assert _workers() == 0


def test_the_worker_sees_the_callers_context() -> None:
    def items() -> Iterator[str]:
        yield _VAR.get()

    token = _VAR.set("limits of this import")
    try:
        assert list(read_ahead(items())) == ["limits of this import"]
    finally:
        _VAR.reset(token)
