"""Bulk upserts of normalised frames, inside the caller's transaction.

Rows go into a temporary staging table (PostgreSQL: ``COPY``; elsewhere batched inserts) and are
upserted from there on the table's natural key, updating only rows whose values changed, so the
returned count is the number of rows really inserted or changed. When the caller knows no
conflicting row can exist (a first import of a restaurant and source), rows are copied straight
into the target.
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from models.columns import TENANT_ID
from pipelines.io import tenancy
from pipelines.io.db import DbCapabilities

_BATCH = 20_000
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"


def _column_values(frame: pd.DataFrame, table: sa.Table, dialect: str) -> list[Any]:
    """Column arrays ready for the driver: None for missing, native Python scalars."""
    out: list[Any] = []
    for col in table.columns:
        series = frame[col.name]
        if isinstance(col.type, sa.DateTime):
            ts = pd.to_datetime(series, utc=True)
            if dialect == "sqlite":
                values = ts.dt.tz_localize(None).dt.strftime(_SQLITE_TS)
                out.append(values.astype(object).where(ts.notna(), None).tolist())
            else:
                out.append([None if pd.isna(v) else v.to_pydatetime() for v in ts])
        elif isinstance(col.type, sa.Date):
            d = pd.to_datetime(series)
            values = d.dt.strftime("%Y-%m-%d")
            out.append(values.astype(object).where(d.notna(), None).tolist())
        elif isinstance(col.type, sa.Integer):  # BigInteger is a subclass
            num = series.astype("Int64").astype(object)
            out.append(num.where(num.notna(), None).tolist())
        elif isinstance(col.type, sa.Float):
            out.append(pd.to_numeric(series).astype(float).tolist())
        else:
            s = series.astype(object)
            out.append(s.where(pd.notna(s), None).tolist())
    return out


def _rows(frame: pd.DataFrame, table: sa.Table, dialect: str) -> Iterable[tuple[Any, ...]]:
    return zip(*_column_values(frame, table, dialect), strict=True)


def _copy_csv(frame: pd.DataFrame, table: sa.Table) -> bytes:
    """The frame as CSV for ``COPY ... (FORMAT csv)``: unquoted empty means NULL."""
    parts: dict[str, Any] = {}
    for col in table.columns:
        series = frame[col.name]
        if isinstance(col.type, sa.DateTime):
            ts = pd.to_datetime(series, utc=True)
            parts[col.name] = ts.dt.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        elif isinstance(col.type, sa.Date):
            parts[col.name] = pd.to_datetime(series).dt.strftime("%Y-%m-%d")
        elif isinstance(col.type, sa.Integer):
            parts[col.name] = series.astype("Int64")
        else:
            parts[col.name] = series
    buf = io.StringIO()
    pd.DataFrame(parts).to_csv(buf, index=False, header=False, na_rep="")
    return buf.getvalue().encode("utf-8")


def bulk_insert(
    conn: Connection, caps: DbCapabilities, table: sa.Table, frame: pd.DataFrame
) -> int:
    """Inserts every row of ``frame`` into ``table`` as fast as the database allows."""
    if frame.empty:
        return 0
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    copy_ok = caps.dialect == "postgresql" and caps.copy and conn.info.get("flux_copy", True)
    if copy_ok and _try_copy(conn, table, frame, cols):
        return len(frame)
    marks = ", ".join(["?" if caps.dialect == "sqlite" else "%s"] * len(table.columns))
    sql = f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})'
    raw = conn.connection.driver_connection
    assert raw is not None
    rows = _rows(frame, table, caps.dialect)
    cur = raw.cursor()
    try:
        while batch := list(itertools.islice(rows, _BATCH)):
            cur.executemany(sql, batch)
    finally:
        cur.close()
    return len(frame)


def _copy_works(conn: Connection) -> bool:
    return bool(conn.info.get("flux_copy", True))


def _try_copy(conn: Connection, table: sa.Table, frame: pd.DataFrame, cols: str) -> bool:
    """COPY inside a savepoint. False (and no more COPY on this connection) where the server,
    or a proxy in between, does not support it."""
    import psycopg

    raw = conn.connection.driver_connection
    assert raw is not None
    savepoint = conn.begin_nested()
    try:
        with (
            raw.cursor() as cur,
            cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN (FORMAT csv)') as copy,
        ):
            data = _copy_csv(frame, table)
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
    except psycopg.errors.FeatureNotSupported:
        savepoint.rollback()
        conn.info["flux_copy"] = False
        return False
    savepoint.commit()
    return True


def _staging_table(conn: Connection, table: sa.Table) -> sa.Table:
    return staging_table(conn, list(table.columns), table.name)


def staging_table(
    conn: Connection, columns: Sequence[sa.Column[Any]], name: str = "keys"
) -> sa.Table:
    """A temporary table with the names and types of ``columns`` (drop it when done)."""
    staged = sa.Table(
        f"stage_{name}_{uuid.uuid4().hex[:8]}",
        sa.MetaData(),
        *(sa.Column(col.name, col.type, nullable=True) for col in columns),
        prefixes=["TEMPORARY"],
    )
    staged.create(conn)
    return staged


def upsert(
    conn: Connection,
    caps: DbCapabilities,
    table: sa.Table,
    frame: pd.DataFrame,
    key: Sequence[str],
    *,
    coalesce: Sequence[str] = (),
    keep_stored: Sequence[str] = (),
    do_nothing: bool = False,
    fresh: bool = False,
) -> int:
    """Inserts or updates rows on ``key``; returns how many rows were inserted or changed.

    Args:
        conn: A connection inside the caller's transaction.
        caps: The database's capabilities.
        table: The target table.
        frame: Rows with the table's columns; no duplicate keys.
        key: The conflict key (the table's primary key or a unique index).
        coalesce: Columns where a NULL in the new row keeps the stored value.
        keep_stored: Columns where a stored value wins over the new one (the new one only fills
            a NULL).
        do_nothing: Keep existing rows as they are (insert only the new ones).
        fresh: The caller knows no row with these keys exists: insert directly.
    """
    if frame.empty:
        return 0
    if TENANT_ID in table.c and TENANT_ID not in frame.columns:
        frame = frame.assign(**{TENANT_ID: tenancy.require_tenant(conn, f"writing {table.name}")})
    frame = frame.loc[:, [c.name for c in table.columns]]
    if fresh:
        return bulk_insert(conn, caps, table, frame)
    staged = _staging_table(conn, table)
    try:
        bulk_insert(conn, caps, staged, frame)
        return _merge(
            conn,
            table,
            staged,
            key,
            coalesce=coalesce,
            keep_stored=keep_stored,
            do_nothing=do_nothing,
        )
    finally:
        staged.drop(conn)


def _merge(
    conn: Connection,
    table: sa.Table,
    staged: sa.Table,
    key: Sequence[str],
    *,
    coalesce: Sequence[str],
    keep_stored: Sequence[str] = (),
    do_nothing: bool,
) -> int:
    insert_fn: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    names = [c.name for c in table.columns]
    source = sa.select(*(staged.c[n] for n in names)).where(sa.true())
    stmt = insert_fn(table).from_select(names, source)
    if do_nothing:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    else:
        excluded = stmt.excluded
        updates: dict[str, Any] = {}
        changed = []
        for name in names:
            if name in key:
                continue
            if name in keep_stored:
                new = sa.func.coalesce(table.c[name], excluded[name])
            elif name in coalesce:
                new = sa.func.coalesce(excluded[name], table.c[name])
            else:
                new = excluded[name]
            updates[name] = new
            changed.append(table.c[name].is_distinct_from(new))
        if not updates:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        else:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(key), set_=updates, where=sa.or_(*changed)
            )
    result = conn.execute(stmt.execution_options(preserve_rowcount=True))
    return max(int(result.rowcount), 0)


def delete_moved_lines(
    conn: Connection,
    caps: DbCapabilities,
    table: sa.Table,
    frame: pd.DataFrame,
    *,
    natural_key: Sequence[str],
    time_col: str,
) -> int:
    """Deletes stored rows with a staged row's natural key but another time (TimescaleDB keys
    hold the time column, so a line whose timestamp changed would otherwise be stored twice)."""
    if frame.empty:
        return 0
    staged = _staging_table(
        conn,
        sa.Table(
            table.name,
            sa.MetaData(),
            *(sa.Column(k, table.c[k].type) for k in (*natural_key, time_col)),
        ),
    )
    try:
        bulk_insert(conn, caps, staged, frame.loc[:, [*natural_key, time_col]])
        cond = sa.and_(
            *(table.c[k] == staged.c[k] for k in natural_key),
            table.c[time_col] != staged.c[time_col],
        )
        result = conn.execute(sa.delete(table).where(sa.exists().where(cond)))
        return int(result.rowcount or 0)
    finally:
        staged.drop(conn)


def dedupe_last(frame: pd.DataFrame, key: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Keeps the last row of each key. Returns (frame, rows dropped)."""
    if frame.empty:
        return frame, 0
    dup = frame.duplicated(subset=list(key), keep="last").to_numpy()
    return frame.loc[~dup], int(np.count_nonzero(dup))
