"""Database side of ``flux import``: restaurant lookups, batch records, loading parsed files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import columns as c
from pipelines.errors import ImportFileError, UsageError
from pipelines.io import rollups, schema, tenancy
from pipelines.io.adapters.base import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    Directory,
    ParsedFile,
    RestaurantInfo,
)
from pipelines.io.adapters.common import currency_exponent
from pipelines.io.db import DbCapabilities
from pipelines.io.keyindex import DayPairs, KeySet
from pipelines.io.loader import bulk_insert, dedupe_last, delete_moved_lines, staging_table, upsert

LINE_KEY = (c.RESTAURANT_ID, c.SOURCE, c.ORDER_ID, c.LINE_ID)
_ORDER_VALUES = (c.OPENED_AT_UTC, c.BUSINESS_DATE, c.COVERS, c.NET_AMOUNT_MINOR)
ORDER_KEY = (c.RESTAURANT_ID, c.SOURCE, c.ORDER_ID)
OBSERVATION_KEY = (c.RESTAURANT_ID, c.TARGET, c.DATE)
REGRESSOR_KEY = (c.TENANT_ID, c.RESTAURANT_ID, c.NAME, c.DATE, c.SLOT)


def load_directory(conn: Connection) -> Directory:
    """Every known restaurant."""
    t = schema.restaurants
    rows = conn.execute(
        sa.select(
            t.c[c.RESTAURANT_ID],
            t.c[c.TIMEZONE],
            t.c[c.CUTOFF_HOUR],
            t.c[c.CURRENCY],
            t.c[c.POS_PROVIDER],
            t.c[c.POS_LOCATION_ID],
        ).where(*tenancy.where(conn, t))
    ).all()
    return Directory(
        RestaurantInfo(
            id=r[0],
            timezone=r[1],
            cutoff_hour=int(r[2]),
            currency=r[3] or "USD",
            pos_provider=r[4],
            pos_location_id=r[5],
        )
        for r in rows
    )


def imported_hashes(conn: Connection, hashes: Iterable[str], scope: str) -> set[str]:
    """Hashes of files already imported completely for this scope (or for all restaurants).

    A file whose import rejected rows does not count: it is read again, since the restaurants
    its rows named (or other settings) may be known now, and its rejects are said again.
    """
    wanted = list(set(hashes))
    if not wanted:
        return set()
    t = schema.import_batches
    rows = conn.execute(
        sa.select(t.c.file_sha256).where(
            t.c.file_sha256.in_(wanted),
            t.c.status == "ok",
            t.c.rows_rejected == 0,
            t.c.restaurant_scope.in_(["", scope]),
            *tenancy.where(conn, t),
        )
    ).all()
    return {r[0] for r in rows}


def record_batch(conn: Connection, **values: object) -> None:
    """Records one imported file in ``import_batches`` (inside the import's transaction).

    ``values`` are the batch's and the file's fields by column name (``batch_id``, ``file_no``,
    ``file_path``, ``file_sha256``, ``format``, the row counts...); fields the table has no
    column for are ignored, so a file's result can be passed as it is.
    """
    t = schema.import_batches
    row = {name: value for name, value in values.items() if name in t.c}
    conn.execute(sa.insert(t).values({**row, "status": "ok"}))


def _existing_pairs(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> bool:
    """Whether any (restaurant, source) pair of ``frame`` already has rows in ``table``."""
    pairs = frame[[c.RESTAURANT_ID, c.SOURCE]].drop_duplicates()
    for rid, source in pairs.itertuples(index=False, name=None):
        found = conn.execute(
            sa.select(sa.literal(1))
            .where(table.c[c.RESTAURANT_ID] == rid, table.c[c.SOURCE] == source)
            .limit(1)
        ).first()
        if found:
            return True
    return False


class FileKeys:
    """What the chunks of one file already wrote, so a later chunk loads as if the file were one:
    the (64-bit hashed) natural keys of its orders and lines, and which (restaurant, source)
    pairs had no rows before the file began.

    A key a later chunk repeats counts as a duplicate within the file (as :func:`dedupe_last`
    counts it within a chunk), not as a second row loaded; a key no earlier chunk wrote, of a
    pair that had no rows before the file, is inserted without the upsert's conflict check.
    Memory: 8 bytes per order and per line of the file (a :class:`KeySet` per table).
    """

    def __init__(self) -> None:
        self._seen: dict[str, KeySet] = {}
        self._fresh: dict[tuple[str, tuple[object, object]], bool] = {}

    def stored_before(self, conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (a chunk not loaded yet) whose (restaurant, source) pair had
        orders before the file began: only those can move an order stored by another file.
        Rows of the other pairs were written, if at all, by this file's earlier chunks."""
        pairs = frame[[c.RESTAURANT_ID, c.SOURCE]].drop_duplicates()
        keep = [
            pair
            for pair in pairs.itertuples(index=False, name=None)
            if not self._empty_before(conn, schema.orders, pair)
        ]
        if len(keep) == len(pairs):
            return frame
        mine = pd.MultiIndex.from_frame(frame[[c.RESTAURANT_ID, c.SOURCE]])
        return frame[mine.isin(keep)]

    def _empty_before(self, conn: Connection, table: sa.Table, pair: tuple[object, ...]) -> bool:
        """Whether ``table`` had no rows of the (restaurant, source) pair before the file: read
        the first time a chunk has the pair, before that chunk is written."""
        at = (table.name, (pair[0], pair[1]))
        if at not in self._fresh:
            one = pd.DataFrame({c.RESTAURANT_ID: [pair[0]], c.SOURCE: [pair[1]]})
            self._fresh[at] = not _existing_pairs(conn, table, one)
        return self._fresh[at]

    def split(
        self, conn: Connection, table: sa.Table, frame: pd.DataFrame, key: tuple[str, ...]
    ) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
        """(rows whose key no earlier chunk wrote, rows whose key one did, whether the first
        part may be inserted directly); records the first part's keys."""
        hashes = pd.util.hash_pandas_object(frame.loc[:, list(key)], index=False).to_numpy()
        seen = self._seen.setdefault(table.name, KeySet())
        done = seen.contains(hashes)
        seen.add(hashes[~done])
        new = frame[~done]
        pairs = new[[c.RESTAURANT_ID, c.SOURCE]].drop_duplicates()
        # every pair is read now (not cut short at the first), before this chunk writes them
        empty = [self._empty_before(conn, table, p) for p in pairs.itertuples(False, None)]
        fresh = all(empty)
        return new, frame[done], fresh


@dataclass(frozen=True)
class LoadCounts:
    """Rows of a file's main table that were written, and those already stored unchanged."""

    loaded: int
    duplicate: int


def derive_orders(lines: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    """Orders implied by lines whose order record is not in ``known`` (first line's time, no
    guest count), so sources that export lines only still count orders."""
    if lines.empty:
        return pd.DataFrame(columns=list(ORDER_COLUMNS))
    demand = lines[lines[c.KIND] != c.KIND_REFUND]
    if demand.empty:
        demand = lines
    first = demand.sort_values(c.TS_UTC).drop_duplicates(list(ORDER_KEY), keep="first")
    orders = pd.DataFrame(
        {
            c.RESTAURANT_ID: first[c.RESTAURANT_ID],
            c.SOURCE: first[c.SOURCE],
            c.ORDER_ID: first[c.ORDER_ID],
            c.OPENED_AT_UTC: first[c.TS_UTC],
            c.BUSINESS_DATE: first[c.BUSINESS_DATE],
            c.COVERS: pd.array([pd.NA] * len(first), dtype="Int64"),
            c.NET_AMOUNT_MINOR: pd.array([pd.NA] * len(first), dtype="Int64"),
        }
    )
    if not known.empty:
        keys = pd.MultiIndex.from_frame(known[list(ORDER_KEY)])
        mine = pd.MultiIndex.from_frame(orders[list(ORDER_KEY)])
        orders = orders[~mine.isin(keys)]
    return orders


def check_claims(conn: Connection, path: str, restaurants: pd.DataFrame) -> None:
    """Refuses restaurants (with their ``tenant_id``) whose id, or whose POS location (provider
    and location id), another tenant holds: a restaurant id is one restaurant of one tenant for
    good, and one POS location feeds one restaurant.

    Flux's own queries find every holder they may see (on SQLite and for an all-tenant run: all);
    on PostgreSQL another tenant's rows are hidden by row-level security, so each row is also
    probed with its upsert in a savepoint (always rolled back): a hidden holder makes it fail.

    Raises:
        ImportFileError: an id or a location belongs to another tenant (naming the file, the
            field and the value).
    """
    t = schema.restaurants
    raw = restaurants.astype(object).where(restaurants.notna(), None).to_dict("records")
    rows = [{str(k): v for k, v in r.items()} for r in raw]
    ids = [str(r[c.RESTAURANT_ID]) for r in rows]
    held = dict(
        conn.execute(
            sa.select(t.c[c.RESTAURANT_ID], t.c[c.TENANT_ID]).where(t.c[c.RESTAURANT_ID].in_(ids))
        ).all()
    )
    located = [r for r in rows if r[c.POS_PROVIDER] and r[c.POS_LOCATION_ID]]
    holders = conn.execute(
        sa.select(
            t.c[c.RESTAURANT_ID], t.c[c.TENANT_ID], t.c[c.POS_PROVIDER], t.c[c.POS_LOCATION_ID]
        ).where(t.c[c.POS_LOCATION_ID].in_([str(r[c.POS_LOCATION_ID]) for r in located]))
    ).all()
    for row in rows:
        rid, tenant = str(row[c.RESTAURANT_ID]), str(row[c.TENANT_ID])
        if held.get(rid, tenant) != tenant:
            raise _claimed(
                path, c.RESTAURANT_ID, f"restaurant {rid!r}", f"tenant {held[rid]!r}", tenant
            )
        for hid, htenant, provider, location in holders:
            same = (provider, location) == (row[c.POS_PROVIDER], row[c.POS_LOCATION_ID])
            if same and hid != rid:
                what = f"pos_provider {provider} and pos_location_id {location!r}"
                whose = f"restaurant {hid!r} of tenant {htenant!r}"
                raise _claimed(path, c.POS_LOCATION_ID, what, whose, tenant)
    if conn.dialect.name == "postgresql":
        for row in rows:
            _probe(conn, path, row)


def _claimed(path: str, field: str, what: str, whose: str, tenant: str) -> ImportFileError:
    return ImportFileError(
        path,
        f"{what} belongs to {whose}; it cannot be imported into (or moved to) tenant {tenant!r}",
        field=field,
    )


def _probe(conn: Connection, path: str, row: dict[str, Any]) -> None:
    """Upserts one restaurant row in a savepoint and rolls it back: row-level security refuses
    it when another tenant holds the id, the unique POS-location index when one holds that."""
    import psycopg
    from sqlalchemy.dialects import postgresql

    t = schema.restaurants
    values = {k: (int(v) if k == c.CUTOFF_HOUR and v is not None else v) for k, v in row.items()}
    stmt = postgresql.insert(t).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.RESTAURANT_ID],
        set_={k: stmt.excluded[k] for k in values if k != c.RESTAURANT_ID},
    )
    probe = conn.begin_nested()
    try:
        conn.execute(stmt)
    except sa.exc.DBAPIError as exc:
        rid, tenant = str(row[c.RESTAURANT_ID]), str(row[c.TENANT_ID])
        if isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
            raise _claimed(
                path, c.RESTAURANT_ID, f"restaurant {rid!r}", "another tenant", tenant
            ) from None
        if isinstance(exc.orig, psycopg.errors.UniqueViolation):
            what = (
                f"pos_provider {row[c.POS_PROVIDER]} and pos_location_id {row[c.POS_LOCATION_ID]!r}"
            )
            raise _claimed(path, c.POS_LOCATION_ID, what, "another tenant", tenant) from None
        raise
    finally:
        probe.rollback()


def _stamp(conn: Connection, frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` with each row's ``tenant_id``: the connection's tenant, or (a run for all
    tenants) the tenant of the row's restaurant."""
    if frame.empty or c.TENANT_ID in frame.columns:
        return frame
    tenant = tenancy.tenant_of(conn)
    if tenant is not None:
        return frame.assign(**{c.TENANT_ID: tenant})
    t = schema.restaurants
    owners = dict(conn.execute(sa.select(t.c[c.RESTAURANT_ID], t.c[c.TENANT_ID])).all())
    stamped = frame[c.RESTAURANT_ID].map(owners)
    if stamped.isna().any():
        raise UsageError(
            f"{what} without a restaurant of a known tenant cannot be imported with "
            "--all-tenants; import them with --tenant"
        )
    return frame.assign(**{c.TENANT_ID: stamped.astype(str)})


def load_parsed(
    conn: Connection, caps: DbCapabilities, parsed: ParsedFile, keys: FileKeys | None = None
) -> LoadCounts:
    """Upserts everything one parsed file (or one chunk of it) yielded. Returns counts for its
    main table.

    Every row is stamped with its tenant (see :func:`_stamp`); restaurants another tenant
    holds are refused (:func:`check_claims`). ``keys``: what the file's earlier chunks wrote
    (one :class:`FileKeys` for all the chunks of a file).
    """
    loaded = duplicate = 0

    def add(table: sa.Table, frame: pd.DataFrame, key: tuple[str, ...], **kw: object) -> None:
        nonlocal loaded, duplicate
        frame, dropped = dedupe_last(frame, key)
        changed = upsert(conn, caps, table, frame, key, **kw)  # type: ignore[arg-type]
        loaded += changed
        duplicate += dropped + len(frame) - changed

    if not parsed.restaurants.empty:
        restaurants = _stamp(conn, parsed.restaurants, "restaurants")
        check_claims(conn, parsed.path, restaurants)
        add(schema.restaurants, restaurants, (c.RESTAURANT_ID,))
    if not parsed.events.empty:
        add(
            schema.calendar_events,
            with_event_key(_stamp(conn, parsed.events, "events")),
            ("event_key",),
        )
    if not parsed.regressors.empty:
        add(schema.regressors, _stamp(conn, parsed.regressors, "regressors"), REGRESSOR_KEY)
    if not parsed.observations.empty:
        add(schema.observations, _stamp(conn, parsed.observations, "series"), OBSERVATION_KEY)
    lines = parsed.lines.loc[:, list(LINE_COLUMNS)] if not parsed.lines.empty else parsed.lines
    orders = parsed.orders.loc[:, list(ORDER_COLUMNS)] if not parsed.orders.empty else None
    lines = _stamp(conn, lines, "order lines")
    orders = None if orders is None else _stamp(conn, orders, "orders")
    if orders is not None:
        orders, _ = dedupe_last(orders, ORDER_KEY)
        new, again, fresh = _split(conn, keys, schema.orders, orders, ORDER_KEY)
        changed = 0
        for part, part_fresh in ((new, fresh), (again, False)):
            n = upsert(
                conn,
                caps,
                schema.orders,
                part,
                ORDER_KEY,
                coalesce=(c.COVERS, c.NET_AMOUNT_MINOR),
                keep_stored=_ORDER_VALUES if parsed.orders_fill_in else (),
                fresh=part_fresh,
            )
            changed += n if part is new else 0
        if lines.empty:  # an orders-only file: orders are its main table
            loaded += changed
            duplicate += len(parsed.orders) - changed
    if not lines.empty:
        lines, dropped = dedupe_last(lines, LINE_KEY)
        derived = derive_orders(lines, orders if orders is not None else pd.DataFrame())
        derived = _stamp(conn, derived, "orders")
        # split before writing (a later chunk must not insert them again), so that whether a
        # pair had orders is read before this chunk adds any
        new, again, fresh = _split(conn, keys, schema.orders, derived, ORDER_KEY)
        upsert(conn, caps, schema.orders, new, ORDER_KEY, do_nothing=True, fresh=fresh)
        upsert(conn, caps, schema.orders, again, ORDER_KEY, do_nothing=True)
        new, again, fresh = _split(conn, keys, schema.order_lines, lines, LINE_KEY)
        key: tuple[str, ...] = LINE_KEY
        if caps.timescale:
            key = (*LINE_KEY, c.TS_UTC)
            if not fresh or not again.empty:
                delete_moved_lines(
                    conn, caps, schema.order_lines, lines, natural_key=LINE_KEY, time_col=c.TS_UTC
                )
        changed = upsert(conn, caps, schema.order_lines, new, key, fresh=fresh)
        upsert(conn, caps, schema.order_lines, again, key)  # a duplicate within the file
        loaded += changed
        duplicate += dropped + len(lines) - changed
    return LoadCounts(loaded=loaded, duplicate=duplicate)


def _split(
    conn: Connection,
    keys: FileKeys | None,
    table: sa.Table,
    frame: pd.DataFrame,
    key: tuple[str, ...],
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """:meth:`FileKeys.split`, or for a whole file (no ``keys``) all rows new, inserted
    directly where no (restaurant, source) pair of theirs has rows yet."""
    if keys is not None:
        return keys.split(conn, table, frame, key)
    return frame, frame.iloc[:0], not _existing_pairs(conn, table, frame)


def with_event_key(events: pd.DataFrame) -> pd.DataFrame:
    """Adds the events' natural key: tenant, restaurant (or *), kind, name and start date
    (``events`` stamped with their tenant: :func:`_stamp`)."""
    out = events.copy()
    rid = out[c.RESTAURANT_ID].astype(object).where(out[c.RESTAURANT_ID].notna(), "*")
    start = pd.to_datetime(out[c.START_DATE]).dt.strftime("%Y-%m-%d")
    out["event_key"] = (
        out[c.TENANT_ID].astype(str)
        + "|"
        + rid.astype(str)
        + "|"
        + out[c.EVENT_KIND].astype(str)
        + "|"
        + out[c.NAME].astype(str)
        + "|"
        + start
    )
    return out


def touched_ranges(parsed: ParsedFile) -> dict[str, tuple[dt.date, dt.date]]:
    """Per restaurant, the business dates a file's orders and lines cover."""
    frames = [f for f in (parsed.orders, parsed.lines) if not f.empty]
    if not frames:
        return {}
    both = pd.concat([f[[c.RESTAURANT_ID, c.BUSINESS_DATE]] for f in frames])
    dates = pd.to_datetime(both[c.BUSINESS_DATE])
    grouped = dates.groupby(both[c.RESTAURANT_ID]).agg(["min", "max"])
    # zipped columns, not iterrows: a chunk of a fleet's file touches every restaurant
    return {
        str(rid): (lo, hi)
        for rid, lo, hi in zip(
            grouped.index, grouped["min"].dt.date, grouped["max"].dt.date, strict=True
        )
    }


def stored_ranges(
    conn: Connection, caps: DbCapabilities, parsed: ParsedFile, file_keys: FileKeys | None = None
) -> dict[str, tuple[dt.date, dt.date]]:
    """Per restaurant, the business dates the file's orders have in the database now (before
    it is loaded): an order the file moves to another day must have its old day rebuilt too.

    ``file_keys``: what the file's earlier chunks wrote; orders of pairs that had none before the
    file are left out (their days are the file's own, rebuilt anyway).
    """
    frames = [f[list(ORDER_KEY)] for f in (parsed.orders, parsed.lines) if not f.empty]
    if not frames:
        return {}
    keys = pd.concat(frames).drop_duplicates()
    if file_keys is not None:  # the pairs kept had orders before the file: no need to ask
        keys = file_keys.stored_before(conn, keys)
        if keys.empty:
            return {}
    elif not _existing_pairs(conn, schema.orders, keys):
        return {}
    o = schema.orders
    staged = staging_table(conn, [o.c[k] for k in ORDER_KEY], "order_keys")
    try:
        bulk_insert(conn, caps, staged, keys)
        match = sa.and_(*(o.c[k] == staged.c[k] for k in ORDER_KEY))
        rows = conn.execute(
            sa.select(
                o.c[c.RESTAURANT_ID],
                sa.func.min(o.c[c.BUSINESS_DATE]),
                sa.func.max(o.c[c.BUSINESS_DATE]),
            )
            # A join (not EXISTS): the planner walks the staged keys and looks each one up in
            # the orders' primary key, instead of scanning the staged keys for every order.
            .select_from(staged.join(o, match))
            .group_by(o.c[c.RESTAURANT_ID])
        ).all()
    finally:
        staged.drop(conn)
    return {str(r[0]): (_as_date(r[1]), _as_date(r[2])) for r in rows}


def _as_date(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value[:10])


def days_with_demand(conn: Connection, days: DayPairs) -> int:
    """How many of the (restaurant, business day) pairs a sales file's orders and lines touch
    have a demand order in the (refreshed) daily rollup."""
    ranges = sorted(days.ranges().items())
    found = 0
    for start in range(0, len(ranges), _RESTAURANTS_AT_ONCE):  # memory: a batch's days at most
        stored = rollups.read_daily(conn, dict(ranges[start : start + _RESTAURANTS_AT_ONCE]))
        have = stored[stored[c.ORDERS] > 0]
        found += days.count_in(have[c.RESTAURANT_ID], have[c.BUSINESS_DATE])
    return found


_RESTAURANTS_AT_ONCE = 500


def currency_scales(conn: Connection) -> dict[str, int]:
    """Per restaurant, the number of minor units in one unit of its currency (USD 100, JPY 1)."""
    t = schema.restaurants
    rows = conn.execute(
        sa.select(t.c[c.RESTAURANT_ID], t.c[c.CURRENCY]).where(*tenancy.where(conn, t))
    ).all()
    return {r[0]: 10 ** currency_exponent(r[1] or "USD") for r in rows}


@dataclass(frozen=True)
class Removed:
    """What a replacing import removed (or, in a dry run, would remove)."""

    orders: int
    lines: int
    dates: tuple[dt.date, ...]


def remove_absent(
    conn: Connection,
    caps: DbCapabilities,
    restaurant: str,
    span: tuple[dt.date, dt.date],
    parsed: list[ParsedFile],
) -> Removed:
    """Makes a restaurant's orders in a business-day span equal what ``parsed`` holds.

    Orders of the files' sources whose business date is in ``span`` and that no file holds are
    deleted with their lines; an order a file holds with its lines loses the stored lines the
    file no longer has (a corrected export that dropped an item). Orders of other sources, and
    of other restaurants, are never touched.

    Args:
        conn: A connection inside the import's transaction (after the files were loaded).
        caps: The database's capabilities.
        restaurant: The restaurant being replaced.
        span: First and last business day replaced (inclusive).
        parsed: The files of the import, scoped to the restaurant.
    """
    orders = [p.orders for p in parsed if not p.orders.empty]
    lines = [p.lines for p in parsed if not p.lines.empty]
    kept_orders = pd.concat(
        [f[[c.SOURCE, c.ORDER_ID]] for f in orders + lines]
        or [pd.DataFrame(columns=[c.SOURCE, c.ORDER_ID])]
    ).drop_duplicates()
    sources = sorted(set(kept_orders[c.SOURCE]))
    if not sources:
        return Removed(0, 0, ())
    o, x = schema.orders, schema.order_lines
    start, end = span
    stored = pd.read_sql(
        sa.select(o.c[c.SOURCE], o.c[c.ORDER_ID], o.c[c.BUSINESS_DATE]).where(
            o.c[c.RESTAURANT_ID] == restaurant,
            o.c[c.SOURCE].in_(sources),
            o.c[c.BUSINESS_DATE].between(start, end),
        ),
        conn,
    )
    kept = set(zip(kept_orders[c.SOURCE], kept_orders[c.ORDER_ID], strict=True))
    doomed = stored[[k not in kept for k in zip(stored[c.SOURCE], stored[c.ORDER_ID], strict=True)]]
    line_keys = [c.SOURCE, c.ORDER_ID, c.LINE_ID]
    file_lines = (
        pd.concat([f[line_keys] for f in lines]) if lines else pd.DataFrame(columns=line_keys)
    )
    with_lines = file_lines[[c.SOURCE, c.ORDER_ID]].drop_duplicates()
    stored_lines = _lines_of(conn, caps, restaurant, with_lines)
    present = set(zip(*(file_lines[k] for k in line_keys), strict=True))
    dropped = stored_lines[
        [k not in present for k in zip(*(stored_lines[k] for k in line_keys), strict=True)]
    ]
    n_lines = _delete_keys(conn, caps, x, restaurant, doomed[[c.SOURCE, c.ORDER_ID]])
    n_lines += _delete_keys(conn, caps, x, restaurant, dropped[line_keys])
    _delete_keys(conn, caps, o, restaurant, doomed[[c.SOURCE, c.ORDER_ID]])
    dates = sorted(
        set(pd.to_datetime(doomed[c.BUSINESS_DATE]).dt.date)
        | set(pd.to_datetime(dropped[c.BUSINESS_DATE]).dt.date)
    )
    return Removed(orders=len(doomed), lines=n_lines, dates=tuple(dates))


def _lines_of(
    conn: Connection, caps: DbCapabilities, restaurant: str, orders: pd.DataFrame
) -> pd.DataFrame:
    """The stored lines (source, order id, line id, business date) of the given orders."""
    x = schema.order_lines
    columns = [c.SOURCE, c.ORDER_ID, c.LINE_ID, c.BUSINESS_DATE]
    if orders.empty:
        return pd.DataFrame(columns=columns)
    staged = staging_table(conn, [x.c[c.SOURCE], x.c[c.ORDER_ID]])
    try:
        bulk_insert(conn, caps, staged, orders)
        stmt = sa.select(*(x.c[k] for k in columns)).where(
            x.c[c.RESTAURANT_ID] == restaurant,
            sa.exists().where(
                staged.c[c.SOURCE] == x.c[c.SOURCE], staged.c[c.ORDER_ID] == x.c[c.ORDER_ID]
            ),
        )
        return pd.read_sql(stmt, conn)
    finally:
        staged.drop(conn)


def _delete_keys(
    conn: Connection, caps: DbCapabilities, table: sa.Table, restaurant: str, keys: pd.DataFrame
) -> int:
    """Deletes a restaurant's rows of ``table`` matching the key columns of ``keys``."""
    if keys.empty:
        return 0
    staged = staging_table(conn, [table.c[k] for k in keys.columns])
    try:
        bulk_insert(conn, caps, staged, keys)
        match = sa.and_(*(table.c[k] == staged.c[k] for k in keys.columns))
        result = conn.execute(
            sa.delete(table).where(table.c[c.RESTAURANT_ID] == restaurant, sa.exists().where(match))
        )
        return int(result.rowcount or 0)
    finally:
        staged.drop(conn)
