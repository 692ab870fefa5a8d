"""Reading demand series and calendars from the database for the models.

Targets: ``covers``, ``orders``, ``net_sales`` (currency units) from the demand rollups; any
pre-aggregated target (e.g. ``visitors``) from observations; ``item:<name>`` and
``category:<name>`` quantities from the daily item rollup. Frequencies: ``D`` (business days),
``h`` and ``15min`` (local wall-clock slot starts). Closed days are absent rows: days without
demand, and days a closure event marks, never become zeros.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import columns as c
from models.base import Calendar
from models.frames import Freq, SeriesFrame
from pipelines.errors import DataError, UsageError
from pipelines.io import schema, tenancy
from pipelines.io.adapters.common import currency_exponent

DEMAND_TARGETS = (c.COVERS, c.ORDERS, c.NET_SALES)


def _where_restaurants(
    conn: Connection, table: sa.Table, restaurants: Collection[str] | None
) -> list[sa.ColumnElement[bool]]:
    """The connection's tenant's rows (of ``restaurants`` only, when given)."""
    mine = tenancy.where(conn, table)
    return [*mine, table.c[c.RESTAURANT_ID].in_(sorted(restaurants))] if restaurants else mine


def read_restaurants(conn: Connection) -> pd.DataFrame:
    """Restaurant metadata (one row per restaurant)."""
    t = schema.restaurants
    stmt = sa.select(*(col for col in t.columns if col.name != c.TENANT_ID))
    return pd.read_sql(stmt.where(*tenancy.where(conn, t)).order_by(c.RESTAURANT_ID), conn)


def read_regressors(
    conn: Connection, names: Collection[str], restaurants: Collection[str] | None = None
) -> pd.DataFrame:
    """The daily values of regressors ``names`` (of ``restaurants`` and of every restaurant, ``*``),
    as :attr:`models.base.Calendar.regressors` holds them.

    A day's 15-minute values are added up (reservations per slot become reservations per day);
    a whole-day value of the same day wins over them.

    Raises:
        DataError: a name has no values at all.
    """
    t = schema.regressors
    cols = [t.c[n] for n in c.REGRESSOR_COLUMNS]
    stmt = sa.select(*cols).where(t.c[c.NAME].in_(sorted(names)), *tenancy.where(conn, t))
    if restaurants:
        stmt = stmt.where(t.c[c.RESTAURANT_ID].in_([*sorted(restaurants), c.ALL_RESTAURANTS]))
    frame = pd.read_sql(stmt, conn)
    missing = sorted(set(names) - set(frame[c.NAME]))
    if missing:
        raise DataError(
            f"no values for regressor(s) {', '.join(missing)}; import them first "
            "(flux import FILE, format regressors; see docs/formats.md)"
        )
    frame[c.DS] = pd.to_datetime(frame[c.DATE])
    frame[c.KNOWN_IN_ADVANCE] = frame[c.KNOWN_IN_ADVANCE].astype(bool)
    key = [c.RESTAURANT_ID, c.NAME, c.DS]
    slots = (
        frame[frame[c.SLOT] != ""]
        .groupby(key, as_index=False)
        .agg({c.VALUE: "sum", c.KNOWN_IN_ADVANCE: "first"})
    )
    days = frame[frame[c.SLOT] == ""][[*key, c.VALUE, c.KNOWN_IN_ADVANCE]]
    both = pd.concat([days, slots], ignore_index=True).drop_duplicates(key, keep="first")
    out = both[[c.RESTAURANT_ID, c.DS, c.NAME, c.VALUE, c.KNOWN_IN_ADVANCE]]
    return out.sort_values(key).reset_index(drop=True)


def read_calendar(
    conn: Connection,
    restaurants: Collection[str] | None = None,
    regressors: Collection[str] = (),
) -> Calendar:
    """Restaurants and calendar events, as the models take them, with the daily values of the
    ``regressors`` named (none by default)."""
    meta = read_restaurants(conn)
    if restaurants:
        meta = meta[meta[c.RESTAURANT_ID].isin(set(restaurants))]
    ev = schema.calendar_events
    events = pd.read_sql(
        sa.select(*(ev.c[n] for n in c.EVENT_COLUMNS)).where(*tenancy.where(conn, ev)), conn
    )
    for col in (c.START_DATE, c.END_DATE):
        events[col] = pd.to_datetime(events[col])
    events[c.RESTAURANT_ID] = (
        events[c.RESTAURANT_ID].astype(object).where(events[c.RESTAURANT_ID].notna(), None)
    )
    if not regressors:
        return Calendar(restaurants=meta.reset_index(drop=True), events=events)
    return Calendar(
        restaurants=meta.reset_index(drop=True),
        events=events,
        regressors=read_regressors(conn, regressors, restaurants),
    )


def _daily_demand(
    conn: Connection, target: str, restaurants: Collection[str] | None
) -> pd.DataFrame:
    t = schema.demand_daily
    value = t.c[c.NET_SALES_MINOR] if target == c.NET_SALES else t.c[target]
    stmt = sa.select(t.c[c.RESTAURANT_ID], t.c[c.BUSINESS_DATE].label(c.DS), value.label(c.Y))
    frame = pd.read_sql(stmt.where(*_where_restaurants(conn, t, restaurants)), conn)
    if target == c.NET_SALES:
        frame[c.Y] = frame[c.Y].astype(float) / _scales(conn, frame[c.RESTAURANT_ID])
    return frame


def _scales(conn: Connection, restaurant_ids: pd.Series) -> np.ndarray:
    meta = read_restaurants(conn).set_index(c.RESTAURANT_ID)[c.CURRENCY]
    exps = restaurant_ids.map(lambda r: currency_exponent(str(meta.get(r, "USD"))))
    scales: np.ndarray = np.power(10.0, exps.to_numpy(dtype=float))
    return scales


def _slot_demand(
    conn: Connection, target: str, freq: Freq, restaurants: Collection[str] | None
) -> pd.DataFrame:
    t = schema.demand_15min
    value = t.c[c.NET_SALES_MINOR] if target == c.NET_SALES else t.c[target]
    stmt = sa.select(t.c[c.RESTAURANT_ID], t.c[c.SLOT_START_UTC], value.label(c.Y))
    frame = pd.read_sql(stmt.where(*_where_restaurants(conn, t, restaurants)), conn)
    frame = frame.dropna(subset=[c.Y])
    meta = read_restaurants(conn).set_index(c.RESTAURANT_ID)[c.TIMEZONE]
    parts = []
    for rid, group in frame.groupby(c.RESTAURANT_ID):
        utc = pd.to_datetime(group[c.SLOT_START_UTC], utc=True)
        local = utc.dt.tz_convert(str(meta[rid])).dt.tz_localize(None)
        parts.append(
            pd.DataFrame(
                {
                    c.RESTAURANT_ID: rid,
                    c.DS: local.to_numpy(),
                    c.Y: group[c.Y].to_numpy(dtype=float),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=[c.RESTAURANT_ID, c.DS, c.Y])
    out = pd.concat(parts, ignore_index=True)
    if freq == "h":
        out[c.DS] = out[c.DS].dt.floor("h")
    # The repeated hour of a DST change folds two UTC slots onto one local slot: add them up.
    out = out.groupby([c.RESTAURANT_ID, c.DS], as_index=False).agg({c.Y: "sum"})
    if target == c.NET_SALES:
        out[c.Y] = out[c.Y] / _scales(conn, out[c.RESTAURANT_ID])
    return out


def _observations(
    conn: Connection, target: str, restaurants: Collection[str] | None
) -> pd.DataFrame:
    t = schema.observations
    stmt = sa.select(t.c[c.RESTAURANT_ID], t.c[c.DATE].label(c.DS), t.c[c.VALUE].label(c.Y))
    stmt = stmt.where(t.c[c.TARGET] == target, *_where_restaurants(conn, t, restaurants))
    return pd.read_sql(stmt, conn)


def _with_observations(rolled: pd.DataFrame, observed: pd.DataFrame) -> pd.DataFrame:
    """A demand series rolled up from order lines joined with the same target imported as a
    pre-aggregated series; on a day both have, the imported series wins."""
    if observed.empty:
        return rolled
    observed = observed.assign(**{c.DS: pd.to_datetime(observed[c.DS])})
    rolled = rolled.assign(**{c.DS: pd.to_datetime(rolled[c.DS])})
    key = [c.RESTAURANT_ID, c.DS]
    both = pd.concat([observed, rolled], ignore_index=True)
    return both.drop_duplicates(key, keep="first").reset_index(drop=True)


def _items(conn: Connection, target: str, restaurants: Collection[str] | None) -> pd.DataFrame:
    kind, _, name = target.partition(":")
    t = schema.demand_items_daily
    col = t.c[c.ITEM] if kind == "item" else t.c[c.CATEGORY]
    stmt = (
        sa.select(
            t.c[c.RESTAURANT_ID],
            t.c[c.BUSINESS_DATE].label(c.DS),
            sa.func.sum(t.c[c.QUANTITY]).label(c.Y),
        )
        .where(col == name, *_where_restaurants(conn, t, restaurants))
        .group_by(t.c[c.RESTAURANT_ID], t.c[c.BUSINESS_DATE])
    )
    return pd.read_sql(stmt, conn)


def read_series(
    conn: Connection,
    target: str,
    *,
    freq: Freq = "D",
    restaurants: Collection[str] | None = None,
    calendar: Calendar | None = None,
    end: dt.date | None = None,
) -> SeriesFrame:
    """One demand series from the database.

    Raises:
        UsageError: unknown target, or a frequency the target does not have.
        DataError: the target has no data for the chosen restaurants.
    """
    if target in DEMAND_TARGETS:
        if freq == "D":
            frame = _with_observations(
                _daily_demand(conn, target, restaurants),
                _observations(conn, target, restaurants),
            )
        else:
            frame = _slot_demand(conn, target, freq, restaurants)
    elif target.startswith(("item:", "category:")):
        if freq != "D":
            raise UsageError(f"target {target!r} is daily only; use --freq D")
        frame = _items(conn, target, restaurants)
    elif target in c.SERIES_TARGETS:
        if freq != "D":
            raise UsageError(f"target {target!r} is a daily series; use --freq D")
        frame = _observations(conn, target, restaurants)
    else:
        raise UsageError(
            f"unknown target {target!r}; choose one of: {', '.join(c.SERIES_TARGETS)}, "
            "item:NAME, category:NAME"
        )
    frame = frame.dropna(subset=[c.Y])
    if frame.empty:
        scope = f" for {', '.join(sorted(restaurants))}" if restaurants else ""
        raise DataError(
            f"no {target!r} data{scope} at frequency {freq}; import data first "
            "(covers need a source with guest counts)"
        )
    frame[c.DS] = pd.to_datetime(frame[c.DS])
    if end is not None:
        frame = frame[frame[c.DS] < pd.Timestamp(end) + pd.Timedelta(days=1)]
    if calendar is not None:
        frame = _drop_closed(frame, calendar)
    return SeriesFrame.from_frame(frame, freq=freq, target=target)


def read_open_days(
    conn: Connection,
    target: str,
    *,
    freq: Freq = "D",
    restaurants: Collection[str] | None = None,
    end: dt.date | None = None,
    regressors: Collection[str] = (),
) -> tuple[Calendar, SeriesFrame]:
    """The calendar of ``restaurants`` (with the ``regressors`` named) and their series without
    its closed days: what every model step (backtest, train, predict, monitor) reads."""
    calendar = read_calendar(conn, restaurants, regressors)
    data = read_series(conn, target, freq=freq, restaurants=restaurants, calendar=calendar, end=end)
    return calendar, data


def _drop_closed(frame: pd.DataFrame, calendar: Calendar) -> pd.DataFrame:
    """Removes rows on days a closure event marks (a closed day is never a data point)."""
    closed = calendar.closures([str(r) for r in frame[c.RESTAURANT_ID].unique()])
    if closed.empty:
        return frame
    day = frame[c.DS].dt.normalize()
    keys = pd.MultiIndex.from_arrays([frame[c.RESTAURANT_ID].astype(str), day])
    drop = keys.isin(pd.MultiIndex.from_frame(closed))
    return frame[~drop]
