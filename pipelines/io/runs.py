"""Run records: one row per run in ``train_runs``, ``forecast_runs``, ``job_runs`` and
``backtest_runs``, all written by the one :func:`insert` and :func:`update` here.

A run that can fail half-way (train, the nightly job) is recorded when it starts
(:func:`start`, status ``running``, in its own transaction, so the record outlives a failure) and
updated when it ends (:meth:`RunRecord.finish`). A run recorded once it is done (a backtest, a
forecast run) is inserted inside the transaction that stores its results.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models.spec import ModelSpec
from pipelines.errors import UsageError
from pipelines.io import schema, tenancy
from pipelines.io.db import Database

__all__ = [
    "BACKTEST",
    "FORECAST",
    "JOB",
    "TRAIN",
    "BacktestRecord",
    "RunKind",
    "RunRecord",
    "abandon_stale",
    "failure_message",
    "insert",
    "list_backtests",
    "read_backtest",
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
    mine = tenancy.where(conn, table)
    conn.execute(sa.update(table).where(table.c[kind.key] == run_id, *mine).values(**values))


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


# --- reading backtest runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestRecord:
    """One recorded backtest run.

    Attributes:
        run_id: The run's id.
        created_at: When it ran.
        target: The demand target.
        freq: The series frequency.
        horizon: Periods forecast per origin.
        folds: Origins scored.
        models: The models compared.
        restaurants: Restaurants scored.
        best_model: The best model by the ranking metric.
        params: The protocol, ``spec`` and ``data`` (window, restaurants, fingerprint).
        metrics: One record per model (``overall``) and, when recorded, per model and
            restaurant (``by_restaurant``) and per model, restaurant and day (``errors``).
        output_path: Where its files went, if anywhere.
        flux_version: The Flux that ran it.
    """

    run_id: str
    created_at: dt.datetime
    target: str
    freq: str
    horizon: int
    folds: int
    models: tuple[str, ...]
    restaurants: int
    best_model: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    output_path: str | None
    flux_version: str

    @property
    def spec(self) -> ModelSpec:
        """The model spec the run scored.

        Raises:
            UsageError: the run was recorded before specs were (or its spec no longer validates).
        """
        raw = self.params.get("spec")
        if not isinstance(raw, dict):
            raise UsageError(
                f"backtest run {self.run_id} has no recorded model spec (it predates them); "
                "run the backtest again"
            )
        try:
            return ModelSpec.model_validate(raw)
        except ValueError as exc:
            first = str(exc).splitlines()
            raise UsageError(
                f"backtest run {self.run_id}: its recorded spec is no longer valid: "
                f"{first[2].strip() if len(first) > 2 else exc}"
            ) from None

    @property
    def data(self) -> dict[str, Any]:
        """The data window it ran on (start, end, restaurants, fingerprint); {} if unrecorded."""
        data = self.params.get("data")
        return data if isinstance(data, dict) else {}


def _backtest_record(row: sa.Row[Any]) -> BacktestRecord:
    metrics = json.loads(row.metrics_json)
    if isinstance(metrics, list):  # recorded before the breakdowns: the overall table only
        metrics = {"overall": metrics}
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return BacktestRecord(
        run_id=row.run_id,
        created_at=created,
        target=row.target,
        freq=row.freq,
        horizon=int(row.horizon),
        folds=int(row.folds),
        models=tuple(m for m in row.models.split(",") if m),
        restaurants=int(row.restaurants),
        best_model=row.best_model,
        params=json.loads(row.params_json),
        metrics=metrics,
        output_path=row.output_path,
        flux_version=row.flux_version,
    )


def list_backtests(conn: Connection, limit: int | None = None) -> list[BacktestRecord]:
    """Recorded backtest runs, newest first."""
    table = schema.backtest_runs
    query = sa.select(table).order_by(table.c.created_at.desc(), table.c.run_id)
    if limit is not None:
        query = query.limit(limit)
    return [_backtest_record(row) for row in conn.execute(query)]


def read_backtest(conn: Connection, ref: str) -> BacktestRecord:
    """The backtest run whose id is ``ref`` or starts with it.

    Raises:
        UsageError: no run, or more than one, matches.
    """
    table = schema.backtest_runs
    ref = ref.strip()
    if not ref:
        raise UsageError("a backtest run id is empty")
    escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = list(
        conn.execute(
            sa.select(table).where(table.c.run_id.like(f"{escaped}%", escape="\\")).limit(3)
        )
    )
    exact = [r for r in rows if r.run_id == ref]
    if exact:
        return _backtest_record(exact[0])
    if not rows:
        raise UsageError(f"no backtest run {ref!r}; `flux backtest list` shows the runs")
    if len(rows) > 1:
        raise UsageError(
            f"backtest run {ref!r} is ambiguous ({', '.join(r.run_id for r in rows)}...); "
            "give more of the id"
        )
    return _backtest_record(rows[0])


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
