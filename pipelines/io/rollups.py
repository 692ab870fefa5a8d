"""Demand rollups (daily, 15-minute, and daily item quantities) from orders and order lines.

The rules are those of docs/formats.md ("Demand"). Rollups are refreshed inside the import's
transaction for just the restaurant-days it touched, so readers never see them half-built. On
TimescaleDB the 15-minute buckets come from ``time_bucket``; elsewhere portable SQL gives the same
slots. (A continuous aggregate was considered and rejected: its refresh cannot run inside the
import's transaction, which would let readers see new lines with stale rollups.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import columns as c
from pipelines.io import schema, tenancy
from pipelines.io.db import DbCapabilities

DateRange = tuple[dt.date, dt.date]

_DEMAND_KINDS = "('sale', 'comp')"
# Rollup rows belong to their restaurant's tenant.
_TENANT = "CAST(:tenant AS VARCHAR(64))"


def _bucket(caps: DbCapabilities, col: str) -> str:
    """SQL for the start of the 15-minute slot (UTC) holding ``col``."""
    if caps.timescale:
        return f"time_bucket(INTERVAL '15 minutes', {col})"
    if caps.dialect == "postgresql":
        return f"to_timestamp(floor(extract(epoch FROM {col}) / 900) * 900)"
    return f"datetime((CAST(strftime('%s', {col}) AS INTEGER) / 900) * 900, 'unixepoch')"


# An order is demand when it has a top-level sale or comp line, or, for sources that give order
# totals only, when it has no item lines (refunds aside) and its total is set.
_ITEM_LINES_OF_O = """
        SELECT 1 FROM order_lines l
        WHERE l.restaurant_id = o.restaurant_id AND l.source = o.source
          AND l.order_id = o.order_id"""

_DEMAND_ORDERS = f"""
    SELECT o.restaurant_id, o.business_date, o.opened_at_utc, o.covers
    FROM orders o
    WHERE o.restaurant_id = :rid AND o.business_date BETWEEN :start AND :end
      AND (
        EXISTS ({_ITEM_LINES_OF_O} AND l.kind IN {_DEMAND_KINDS} AND l.parent_line_id IS NULL)
        OR (o.net_amount_minor IS NOT NULL
            AND NOT EXISTS ({_ITEM_LINES_OF_O} AND l.kind <> 'refund')))
"""

# A line's sales count on its order's business date (as the vendors' reports put a whole check on
# one day), and in the 15-minute slot of the line's own time.
_DEMAND_LINES = f"""
    SELECT l.restaurant_id, o.business_date, l.ts_utc, l.net_amount_minor, l.quantity,
           l.parent_line_id, l.item, l.category
    FROM order_lines l
    JOIN orders o ON o.restaurant_id = l.restaurant_id AND o.source = l.source
                 AND o.order_id = l.order_id
    WHERE l.restaurant_id = :rid AND o.business_date BETWEEN :start AND :end
      AND l.kind IN {_DEMAND_KINDS}
"""

# Order totals stand in for lines where an order has none: its net sales, at its opening time.
_ORDER_TOTALS = f"""
    SELECT o.restaurant_id, o.business_date, o.opened_at_utc, o.net_amount_minor
    FROM orders o
    WHERE o.restaurant_id = :rid AND o.business_date BETWEEN :start AND :end
      AND o.net_amount_minor IS NOT NULL
      AND NOT EXISTS ({_ITEM_LINES_OF_O} AND l.kind <> 'refund')
"""


def _daily_sql() -> str:
    return f"""
    INSERT INTO demand_daily
        (tenant_id, restaurant_id, business_date, covers, orders, net_sales_minor, item_quantity)
    SELECT {_TENANT}, restaurant_id, business_date,
           SUM(covers), SUM(n_orders), SUM(net), SUM(qty)
    FROM (
        SELECT restaurant_id, business_date, covers, 1 AS n_orders, 0 AS net, 0.0 AS qty
        FROM ({_DEMAND_ORDERS}) d
        UNION ALL
        SELECT restaurant_id, business_date, NULL, 0, net_amount_minor,
               CASE WHEN parent_line_id IS NULL THEN quantity ELSE 0.0 END
        FROM ({_DEMAND_LINES}) x
        UNION ALL
        SELECT restaurant_id, business_date, NULL, 0, net_amount_minor, 0.0
        FROM ({_ORDER_TOTALS}) t
    ) u
    GROUP BY restaurant_id, business_date
    HAVING SUM(n_orders) > 0
    """


def _slots_sql(caps: DbCapabilities) -> str:
    return f"""
    INSERT INTO demand_15min
        (tenant_id, restaurant_id, slot_start_utc, business_date, covers, orders, net_sales_minor)
    SELECT {_TENANT}, restaurant_id, slot, business_date, SUM(covers), SUM(n_orders), SUM(net)
    FROM (
        SELECT restaurant_id, {_bucket(caps, "opened_at_utc")} AS slot, business_date, covers,
               1 AS n_orders, 0 AS net
        FROM ({_DEMAND_ORDERS}) d
        UNION ALL
        SELECT restaurant_id, {_bucket(caps, "ts_utc")} AS slot, business_date, NULL, 0,
               net_amount_minor
        FROM ({_DEMAND_LINES}) x
        UNION ALL
        SELECT restaurant_id, {_bucket(caps, "opened_at_utc")} AS slot, business_date, NULL, 0,
               net_amount_minor
        FROM ({_ORDER_TOTALS}) t
    ) u
    GROUP BY restaurant_id, slot, business_date
    """


def _items_sql() -> str:
    return f"""
    INSERT INTO demand_items_daily
        (tenant_id, restaurant_id, business_date, item, category, quantity)
    SELECT {_TENANT}, restaurant_id, business_date, COALESCE(item, ''), COALESCE(category, ''),
           SUM(quantity)
    FROM ({_DEMAND_LINES}) x
    WHERE parent_line_id IS NULL
    GROUP BY restaurant_id, business_date, COALESCE(item, ''), COALESCE(category, '')
    """


def refresh(conn: Connection, caps: DbCapabilities, scopes: Mapping[str, DateRange]) -> None:
    """Rebuilds the rollups of each restaurant over its business-date range."""
    statements = [
        ("demand_daily", _daily_sql()),
        ("demand_15min", _slots_sql(caps)),
        ("demand_items_daily", _items_sql()),
    ]
    r = schema.restaurants
    owners = dict(
        conn.execute(
            sa.select(r.c[c.RESTAURANT_ID], r.c[c.TENANT_ID]).where(
                r.c[c.RESTAURANT_ID].in_(sorted(scopes)), *tenancy.where(conn, r)
            )
        ).all()
    )
    for rid, (start, end) in sorted(scopes.items()):
        tenant = owners.get(rid) or tenancy.require_tenant(conn, "refreshing demand rollups")
        params = {"rid": rid, "start": start, "end": end, "tenant": tenant}
        for table, insert_sql in statements:
            delete_sql = (
                f"DELETE FROM {table} WHERE restaurant_id = :rid "
                "AND business_date BETWEEN :start AND :end"
            )
            conn.execute(_typed(delete_sql), params)
            conn.execute(_typed(insert_sql), params)


def _typed(sql: str) -> sa.TextClause:
    return sa.text(sql).bindparams(
        sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date)
    )


def read_daily(conn: Connection, scopes: Mapping[str, DateRange]) -> pd.DataFrame:
    """The daily rollup of each restaurant over its business-date range: restaurant_id,
    business_date (a date), covers (NA where unknown), orders, net_sales_minor, item_quantity."""
    t = schema.demand_daily
    parts = []
    for rid, (start, end) in sorted(scopes.items()):
        stmt = sa.select(*(col for col in t.columns if col.name != c.TENANT_ID)).where(
            t.c[c.RESTAURANT_ID] == rid,
            t.c[c.BUSINESS_DATE].between(start, end),
            *tenancy.where(conn, t),
        )
        parts.append(pd.read_sql(stmt, conn))
    columns = [col.name for col in t.columns if col.name != c.TENANT_ID]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    frame[c.BUSINESS_DATE] = pd.to_datetime(frame[c.BUSINESS_DATE]).dt.date
    frame[c.COVERS] = frame[c.COVERS].astype("Int64")
    return frame
