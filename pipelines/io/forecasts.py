"""Forecasts in the database: forecast runs and their rows (``flux predict``), and the published
forecasts the web app reads (``flux publish``, read back by ``flux monitor``).

A forecast run is one artefact's forecast as of one date, for one target and frequency; storing
the same run again replaces its rows (for the restaurants it covers), so a rerun is idempotent.
Publishing upserts ``published_forecasts`` by (restaurant, target, frequency, ds).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from models import columns as c
from pipelines.io import runs, schema, tenancy

__all__ = [
    "FORECAST_RUN",
    "PUBLISHED_VALUES",
    "latest_forecast_run",
    "publish",
    "read_forecast_run",
    "read_forecasts",
    "read_published",
    "store_forecast_run",
]

FORECAST_RUN = "forecast_run_id"
"""The column naming a forecast run (in forecast_runs, forecasts and published_forecasts)."""
PUBLISHED_VALUES = (c.YHAT, "lower", "upper", FORECAST_RUN, "published_at")
"""What a new publication replaces in a published row."""
_BATCH = 5000


def _records(frame: pd.DataFrame, columns: Collection[str]) -> list[dict[str, Any]]:
    """Rows as dicts for an insert: NaN and NA become None."""
    cols = list(columns)
    raw = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in raw]


def store_forecast_run(
    conn: Connection,
    run: Mapping[str, Any],
    rows: pd.DataFrame,
    restaurants: frozenset[str] | None,
) -> str:
    """Stores a forecast run and its rows; returns the run's id.

    A run of the same artefact, as-of date, target and frequency is reused (its id kept), and its
    rows for ``restaurants`` (None: all) are replaced.

    Args:
        conn: A connection inside the caller's transaction.
        run: The ``forecast_runs`` values, with a new ``forecast_run_id``.
        rows: The forecasts (columns of ``forecasts``; ``closed`` as a bool).
        restaurants: The restaurants the run covers (None: every one).
    """
    table, fc = schema.forecast_runs, schema.forecasts
    existing = conn.execute(
        sa.select(table.c[FORECAST_RUN]).where(
            table.c.artifact_id == run["artifact_id"],
            table.c.as_of == run["as_of"],
            table.c[c.TARGET] == run[c.TARGET],
            table.c.freq == run["freq"],
            *tenancy.where(conn, table),
        )
    ).scalar()
    run_id = str(existing or run[FORECAST_RUN])
    if existing is None:
        values = {k: v for k, v in run.items() if k != FORECAST_RUN}
        runs.insert(conn, runs.FORECAST, run_id, **values)
    delete = sa.delete(fc).where(fc.c[FORECAST_RUN] == run_id, *tenancy.where(conn, fc))
    if restaurants is not None:
        delete = delete.where(fc.c[c.RESTAURANT_ID].in_(sorted(restaurants)))
    conn.execute(delete)
    records = rows.assign(forecast_run_id=run_id, closed=rows["closed"].astype(int))
    records[c.DS] = pd.to_datetime(records[c.DS]).dt.to_pydatetime()
    payload = _records(records, _columns(fc))
    if payload:
        conn.execute(sa.insert(fc), payload)
    return run_id


def _columns(table: sa.Table) -> list[str]:
    """The table's columns but ``tenant_id`` (the connection's tenant: the column's default)."""
    return [col.name for col in table.columns if col.name != c.TENANT_ID]


def _select(table: sa.Table) -> sa.Select[Any]:
    return sa.select(*(table.c[name] for name in _columns(table)))


def read_forecast_run(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """The ``forecast_runs`` row of ``run_id`` (None: no such run)."""
    table = schema.forecast_runs
    stmt = _select(table).where(table.c[FORECAST_RUN] == run_id, *tenancy.where(conn, table))
    row = conn.execute(stmt).mappings().first()
    return None if row is None else dict(row)


def latest_forecast_run(conn: Connection) -> dict[str, Any] | None:
    """The newest ``forecast_runs`` row (None: no run yet)."""
    table = schema.forecast_runs
    stmt = (
        _select(table)
        .where(*tenancy.where(conn, table))
        .order_by(table.c.created_at.desc())
        .limit(1)
    )
    row = conn.execute(stmt).mappings().first()
    return None if row is None else dict(row)


def read_forecasts(
    conn: Connection, run_id: str, restaurants: Collection[str] | None = None
) -> pd.DataFrame:
    """A forecast run's rows (only ``restaurants``' when given)."""
    fc = schema.forecasts
    stmt = _select(fc).where(fc.c[FORECAST_RUN] == run_id, *tenancy.where(conn, fc))
    if restaurants:
        stmt = stmt.where(fc.c[c.RESTAURANT_ID].in_(sorted(restaurants)))
    return pd.read_sql(stmt, conn)


def publish(conn: Connection, frame: pd.DataFrame) -> None:
    """Upserts ``published_forecasts`` (columns of the table) by restaurant, target, freq, ds."""
    table = schema.published_forecasts
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    payload = _records(frame, frame.columns)
    for start in range(0, len(payload), _BATCH):
        stmt = insert(table).values(payload[start : start + _BATCH])
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.RESTAURANT_ID, c.TARGET, "freq", c.DS],
            set_={k: stmt.excluded[k] for k in PUBLISHED_VALUES},
        )
        conn.execute(stmt)


def read_published(
    conn: Connection, target: str, freq: str, restaurants: Collection[str] | None = None
) -> pd.DataFrame:
    """Published forecasts of a target and frequency: restaurant, ds, yhat, the forecast run and
    the artefact behind it (None when the run is gone)."""
    pub, table = schema.published_forecasts, schema.forecast_runs
    stmt = (
        sa.select(
            pub.c[c.RESTAURANT_ID],
            pub.c[c.DS],
            pub.c[c.YHAT],
            pub.c[FORECAST_RUN],
            table.c.artifact_id,
        )
        .select_from(pub.outerjoin(table, pub.c[FORECAST_RUN] == table.c[FORECAST_RUN]))
        .where(pub.c[c.TARGET] == target, pub.c.freq == freq, *tenancy.where(conn, pub))
    )
    if restaurants:
        stmt = stmt.where(pub.c[c.RESTAURANT_ID].in_(sorted(restaurants)))
    frame = pd.read_sql(stmt, conn)
    frame[c.DS] = pd.to_datetime(frame[c.DS])
    return frame
