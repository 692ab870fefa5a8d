"""Progress of a long step: bars on a terminal, milestones in the log everywhere else.

A :class:`Reporter` is handed to a pipeline as its ``progress(label, done, total)`` callback, and
its :meth:`Reporter.fitted` receives the models' fit reports (restaurants fitted out of N, per
member; see :mod:`models.progress`). On a terminal (and not ``--quiet``) both show as rich bars
on stderr with counts, elapsed time and an ETA, cleared when the step ends. Otherwise nothing is
drawn; the same milestones go to the log (``event: progress`` with ``step``, ``label``, ``done``,
``total`` and ``eta_s``) at most every few seconds, whenever the label changes, and at the end.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Self

from flux_cli import console

LOG_EVERY_S = 10.0
"""Without a terminal, a milestone is logged at most this often (label changes and the end of a
stage are always logged)."""


class _Milestones:
    """Throttled ``progress`` log lines for one bar."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.label: str | None = None
        self.started = time.monotonic()
        self.logged = 0.0
        self.total = -1
        self.base = 0  # ``done`` when this count (this total) started
        self.done = 0

    def update(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        changed = label != self.label
        self.label = label
        if self.total < 0:  # the first count starts with the bar
            self.total = total
        elif total != self.total or done < self.done:  # a new count starts (a new label alone,
            self.total, self.base, self.started = total, done, now  # a file's name, does not)
        self.done = done
        finished = total > 0 and done >= total
        if not (changed or finished or now - self.logged >= LOG_EVERY_S):
            return
        self.logged = now
        elapsed, counted = now - self.started, done - self.base
        eta = elapsed / counted * (total - done) if counted > 0 and done < total else None
        import structlog

        structlog.get_logger("flux.progress").info(
            "progress",
            step=self.step,
            label=label,
            done=done,
            total=total,
            eta_s=round(eta, 1) if eta is not None else None,
        )


class Reporter:
    """The progress of one command's long step (``with Reporter("train") as progress:``)."""

    def __init__(self, step: str, *, enabled: bool = True) -> None:
        self.step = step
        self.enabled = enabled
        self._stack = ExitStack()
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._milestones = {"main": _Milestones(step), "fit": _Milestones(step)}

    def __enter__(self) -> Self:
        if self.enabled and console.show_progress():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = self._stack.enter_context(
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TextColumn("eta"),
                    TimeRemainingColumn(),
                    console=console.err,
                    transient=True,
                )
            )
        from models import progress as fit_progress

        self._stack.enter_context(fit_progress.reporting(self.fitted))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.__exit__(exc_type, exc, tb)

    def _update(self, which: str, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._milestones[which].update(label, done, total)
            return
        task = self._tasks.get(which)
        description = label if which == "main" else f"  {label}"
        if task is None:
            task = self._tasks[which] = self._bar.add_task(description, total=total or None)
        elif label != self._bar.tasks[task].description.strip() and which == "fit":
            self._bar.reset(task, total=total or None)
        self._bar.update(task, description=description, completed=done, total=total or None)

    def __call__(self, label: str, done: int, total: int) -> None:
        """A pipeline's progress: ``done`` of ``total`` (files, folds, steps)."""
        self._update("main", label, done, total)

    def fitted(self, label: str, done: int, total: int) -> None:
        """A model fit's progress: ``done`` of ``total`` restaurants fitted for ``label``."""
        self._update("fit", label, done, total)
