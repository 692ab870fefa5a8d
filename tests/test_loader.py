"""The database layer on every lane: upserts count what changed, rollups follow the demand rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from models import columns as c
from pipelines.io import imports, rollups, schema
from pipelines.io.adapters.base import ParsedFile
from pipelines.io.db import Database
from pipelines.settings import Settings


def _restaurants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.RESTAURANT_ID: ["r1", "r2"],
            c.NAME: ["One", "Two"],
            c.TIMEZONE: ["America/New_York", "Europe/Berlin"],
            c.COUNTRY: ["US", "DE"],
            c.SUBDIVISION: ["NY", None],
            c.CUTOFF_HOUR: [4, 4],
            c.POS_PROVIDER: ["square", "square"],
            c.POS_LOCATION_ID: ["L1", "L2"],
            c.CURRENCY: ["USD", "EUR"],
        }
    )


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _lines(rows: list[tuple[str, str, str, str | None, str, str, float, int, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=[
            c.RESTAURANT_ID,
            c.ORDER_ID,
            c.LINE_ID,
            c.PARENT_LINE_ID,
            c.TS_UTC,
            c.BUSINESS_DATE,
            c.QUANTITY,
            c.NET_AMOUNT_MINOR,
            c.KIND,
        ],
    )
    frame[c.SOURCE] = "square"
    frame[c.TS_UTC] = pd.to_datetime(frame[c.TS_UTC], utc=True)
    frame[c.BUSINESS_DATE] = pd.to_datetime(frame[c.BUSINESS_DATE])
    frame[c.ITEM] = "Burger"
    frame[c.CATEGORY] = "Mains"
    frame[c.CURRENCY] = "USD"
    return frame


LINES = [
    # order o1: a sale with a modifier, and a comp
    ("r1", "o1", "1", None, "2025-03-08 23:00", "2025-03-08", 1.0, 1500, "sale"),
    ("r1", "o1", "1m", "1", "2025-03-08 23:00", "2025-03-08", 1.0, 200, "sale"),
    ("r1", "o1", "2", None, "2025-03-08 23:00", "2025-03-08", 2.0, 0, "comp"),
    # order o2: voided entirely -> not an order
    ("r1", "o2", "1", None, "2025-03-08 23:20", "2025-03-08", 1.0, 900, "void"),
    # order o3: a sale, then refunded two days later
    ("r1", "o3", "1", None, "2025-03-09 02:10", "2025-03-08", 1.0, 1000, "sale"),
    ("r1", "o3", "R1", None, "2025-03-11 15:00", "2025-03-11", -1.0, -1000, "refund"),
    # another restaurant
    ("r2", "x1", "1", None, "2025-03-08 12:00", "2025-03-08", 3.0, 3000, "sale"),
]


def _load(settings: Settings, lines: pd.DataFrame) -> imports.LoadCounts:
    db = Database(settings)
    db.ensure_schema()
    with db.begin() as conn:
        caps = db.capabilities(conn)
        imports.load_parsed(
            conn, caps, ParsedFile("r.csv", "restaurants", 2, restaurants=_restaurants())
        )
        parsed = ParsedFile("x.csv", "square", len(lines), lines=lines)
        counts = imports.load_parsed(conn, caps, parsed)
        rollups.refresh(conn, caps, imports.touched_ranges(parsed))
    db.dispose()
    return counts


def _daily(settings: Settings) -> list[tuple[object, ...]]:
    db = Database(settings)
    with db.connect() as conn:
        t = schema.demand_daily
        rows = conn.execute(
            sa.select(
                t.c[c.RESTAURANT_ID],
                t.c[c.BUSINESS_DATE],
                t.c[c.COVERS],
                t.c[c.ORDERS],
                t.c[c.NET_SALES_MINOR],
                t.c.item_quantity,
            ).order_by(t.c[c.RESTAURANT_ID], t.c[c.BUSINESS_DATE])
        ).all()
    db.dispose()
    return [tuple(r) for r in rows]


def test_rollups_follow_demand_rules(settings: Settings) -> None:
    counts = _load(settings, _lines(LINES))
    assert counts.loaded == len(LINES)
    assert _daily(settings) == [
        ("r1", dt.date(2025, 3, 8), None, 2, 1500 + 200 + 0 + 1000, 1.0 + 2.0 + 1.0),
        ("r2", dt.date(2025, 3, 8), None, 1, 3000, 3.0),
    ]


def test_reload_is_idempotent_and_counts_changes(settings: Settings) -> None:
    _load(settings, _lines(LINES))
    again = _load(settings, _lines(LINES))
    assert (again.loaded, again.duplicate) == (0, len(LINES))
    changed = [list(r) for r in LINES]
    changed[0][7] = 1600  # one price corrected upstream
    third = _load(settings, _lines([tuple(r) for r in changed]))  # type: ignore[misc]
    assert (third.loaded, third.duplicate) == (1, len(LINES) - 1)
    assert _daily(settings)[0][4] == 1600 + 200 + 1000


def test_chunks_of_one_file_share_their_keys(settings: Settings) -> None:
    """Two chunks of one file (one FileKeys): the first holds order o3's row and order o1's
    three lines without o1's row (so o1 is derived and written), the second o1's order row
    (covers 4) and line 1 again with quantity 2. The order row updates the derived one rather
    than being inserted as new (which would break the primary key), and line 1 counts as a
    duplicate within the file, as in one chunk, while its new quantity is stored."""
    db = Database(settings)
    db.ensure_schema()
    lines = _lines(LINES[:3])
    order = pd.DataFrame(
        {
            c.RESTAURANT_ID: ["r1"],
            c.SOURCE: ["square"],
            c.ORDER_ID: ["o1"],
            c.OPENED_AT_UTC: [_ts("2025-03-08 23:00")],
            c.BUSINESS_DATE: [pd.Timestamp("2025-03-08")],
            c.COVERS: pd.array([4], dtype="Int64"),
            c.NET_AMOUNT_MINOR: pd.array([pd.NA], dtype="Int64"),
        }
    )
    again = lines.iloc[[0]].assign(**{c.QUANTITY: 2.0})
    with db.begin() as conn:
        caps = db.capabilities(conn)
        imports.load_parsed(
            conn, caps, ParsedFile("r.csv", "restaurants", 2, restaurants=_restaurants())
        )
        keys = imports.FileKeys()
        o3 = order.assign(**{c.ORDER_ID: "o3", c.COVERS: pd.array([2], dtype="Int64")})
        chunk = ParsedFile("x.csv", "square", 3, orders=o3, lines=lines)
        first = imports.load_parsed(conn, caps, chunk, keys)
        chunk = ParsedFile("x.csv", "square", 2, orders=order, lines=again)
        second = imports.load_parsed(conn, caps, chunk, keys)
    with db.connect() as conn:
        orders = schema.orders
        covers = (
            conn.execute(sa.select(orders.c[c.COVERS]).where(orders.c[c.ORDER_ID] == "o1"))
            .scalars()
            .all()
        )
        quantity = conn.execute(
            sa.select(schema.order_lines.c[c.QUANTITY]).where(
                schema.order_lines.c[c.LINE_ID] == "1"
            )
        ).scalar_one()
    db.dispose()
    assert (first.loaded, first.duplicate) == (3, 0)
    assert (second.loaded, second.duplicate) == (0, 1)
    assert covers == [4] and quantity == 2.0


def test_fifteen_minute_slots_sum_to_daily(settings: Settings) -> None:
    _load(settings, _lines(LINES))
    db = Database(settings)
    with db.connect() as conn:
        t = schema.demand_15min
        rows = conn.execute(
            sa.select(
                t.c[c.RESTAURANT_ID], t.c[c.SLOT_START_UTC], t.c[c.ORDERS], t.c[c.NET_SALES_MINOR]
            ).order_by(t.c[c.RESTAURANT_ID], t.c[c.SLOT_START_UTC])
        ).all()
    db.dispose()
    slots = {
        (
            r[0],
            pd.Timestamp(r[1]).tz_localize(None)
            if pd.Timestamp(r[1]).tzinfo is None
            else pd.Timestamp(r[1]).tz_convert(None),
        ): (r[2], r[3])
        for r in rows
    }
    assert slots[("r1", pd.Timestamp("2025-03-08 23:00"))] == (1, 1700)
    assert slots[("r1", pd.Timestamp("2025-03-09 02:00"))] == (1, 1000)
    assert sum(v[0] for k, v in slots.items() if k[0] == "r1") == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_schema_is_current_after_first_use(settings: Settings) -> None:
    db = Database(settings)
    db.ensure_schema()
    assert db.current_revision() == db.head_revision()


@pytest.mark.parametrize(("query", "copy"), (("", True), ("?flux_copy=off", False)))
def test_flux_copy_off_turns_copy_off_and_never_reaches_the_driver(
    pg_url: str, tmp_path: Path, query: str, copy: bool
) -> None:
    from pipelines.settings import load_settings

    # libpq refuses unknown URI parameters, so Flux's own must be taken out before connecting
    db = Database(load_settings(home=tmp_path, database_url=pg_url + query))
    with db.connect() as conn:
        assert db.capabilities(conn).copy is copy
    db.dispose()
