"""Run records: one row per run in ``train_runs``, ``forecast_runs``, ``job_runs`` and
``backtest_runs``, all written by the one :func:`insert` and :func:`update` here.

A run that can fail half-way (train, the nightly job) is recorded when it starts
(:func:`start`, status ``running``, in its own transaction, so the record outlives a failure) and
updated when it ends (:meth:`RunRecord.finish`). A run recorded once it is done (a backtest, a
forecast run) is inserted inside the transaction that stores its results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.io import schema
from pipelines.io.db import Database

__all__ = [
    "BACKTEST",
    "FORECAST",
    "JOB",
    "TRAIN",
    "RunKind",
    "RunRecord",
    "abandon_stale",
    "failure_message",
    "insert",
    "start",
    "update",
]

MESSAGE_CHARS = 2000
"""The longest failure message a record keeps."""


@dataclass(frozen=True)
class RunKind:
    """One table of run records.

    Attributes:
        table: The table.
        key: Its primary-key column (the run's id).
        started: The column that says when the run started (filled in when not given).
    """

    table: sa.Table
    key: str
    started: str


TRAIN = RunKind(schema.train_runs, "run_id", "created_at")
FORECAST = RunKind(schema.forecast_runs, "forecast_run_id", "created_at")
JOB = RunKind(schema.job_runs, "run_id", "started_at")
BACKTEST = RunKind(schema.backtest_runs, "run_id", "created_at")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def insert(conn: Connection, kind: RunKind, run_id: str, **values: Any) -> None:
    """Records a run (its start time is now unless ``values`` give it)."""
    row = {kind.started: _now(), **values, kind.key: run_id}
    conn.execute(sa.insert(kind.table).values(**row))


def update(conn: Connection, kind: RunKind, run_id: str, **values: Any) -> None:
    """Changes a recorded run."""
    table = kind.table
    conn.execute(sa.update(table).where(table.c[kind.key] == run_id).values(**values))


def failure_message(exc: BaseException) -> str:
    """What a record keeps of the error that ended a run."""
    return f"{type(exc).__name__}: {exc}"[:MESSAGE_CHARS]


@dataclass(frozen=True)
class RunRecord:
    """A run recorded as it started; each change is its own transaction."""

    db: Database
    kind: RunKind
    run_id: str

    def update(self, **values: Any) -> None:
        """Changes the record."""
        with self.db.begin() as conn:
            update(conn, self.kind, self.run_id, **values)

    def finish(self, status: str, **values: Any) -> None:
        """Records how the run ended (and when: now)."""
        self.update(status=status, finished_at=_now(), **values)


def start(db: Database, kind: RunKind, run_id: str, **values: Any) -> RunRecord:
    """Records a run as ``running`` (committed at once) and returns its record."""
    with db.begin() as conn:
        insert(conn, kind, run_id, status="running", **values)
    return RunRecord(db, kind, run_id)


ABANDONED = "abandoned"
"""The status of a run found ``running`` by a later run holding its locks: its process was
killed (SIGKILL, a crash, a lost machine) before it could record how it ended."""


def abandon_stale(
    db: Database, kind: RunKind, target: str, scope: frozenset[str] | None
) -> list[str]:
    """Marks ``abandoned`` every run of ``target`` still recorded as ``running`` that overlaps
    ``scope`` (None: all restaurants). Call it only while holding that scope's run locks: a live
    run of an overlapping scope would hold one of them, so these records are leftovers.

    Returns:
        The ids of the runs marked.
    """
    table = kind.table
    key = table.c[kind.key]
    with db.begin() as conn:
        rows = conn.execute(
            sa.select(key, table.c.restaurant_scope).where(
                table.c.status == "running", table.c.target == target
            )
        ).all()
        stale = [
            str(run_id)
            for run_id, theirs in rows
            if scope is None or not theirs or set(str(theirs).split(",")) & scope
        ]
        if stale:
            conn.execute(
                sa.update(table)
                .where(key.in_(stale), table.c.status == "running")
                .values(
                    status=ABANDONED,
                    finished_at=_now(),
                    message="abandoned: its process ended without recording how (killed?); "
                    "found by a later run holding its locks",
                )
            )
    return stale
