"""How far each (restaurant, provider) was pulled: the ``pos_watermarks`` table.

A watermark is written only after the import of that restaurant's pages committed, so a crash
at any point leaves it where the last committed pull put it, and a rerun pulls the rest again
(the overlap lands on the same natural keys: nothing is duplicated).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from models import columns as c
from pipelines.io import schema, tenancy
from pipelines.io.db import Connection

T = schema.pos_watermarks


def get(conn: Connection, restaurant_id: str, provider: str) -> dt.datetime | None:
    """The instant the restaurant's orders were pulled through (UTC), or None: never pulled."""
    value = conn.execute(
        sa.select(T.c.pulled_through_utc).where(
            T.c[c.RESTAURANT_ID] == restaurant_id,
            T.c.provider == provider,
            *tenancy.where(conn, T),
        )
    ).scalar_one_or_none()
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def all_marks(conn: Connection) -> dict[tuple[str, str], dt.datetime]:
    """Every watermark, by (restaurant, provider)."""
    rows = conn.execute(
        sa.select(T.c[c.RESTAURANT_ID], T.c.provider, T.c.pulled_through_utc).where(
            *tenancy.where(conn, T)
        )
    )
    return {
        (r[0], r[1]): (r[2] if r[2].tzinfo else r[2].replace(tzinfo=dt.UTC)) for r in rows.all()
    }


def advance(
    conn: Connection,
    restaurant_id: str,
    provider: str,
    through: dt.datetime,
    batch_id: str | None,
) -> dt.datetime:
    """Moves the watermark forward to ``through`` (never back: a backfill of older days leaves
    it); returns the watermark now stored."""
    current = get(conn, restaurant_id, provider)
    now = dt.datetime.now(dt.UTC)
    if current is None:
        r = schema.restaurants
        # The watermark is its restaurant's data: it carries the restaurant's tenant.
        owner = sa.select(r.c[c.TENANT_ID]).where(r.c[c.RESTAURANT_ID] == restaurant_id)
        conn.execute(
            T.insert().values(
                {
                    c.RESTAURANT_ID: restaurant_id,
                    "provider": provider,
                    "pulled_through_utc": through,
                    "updated_at": now,
                    "batch_id": batch_id,
                    c.TENANT_ID: owner.scalar_subquery(),
                }
            )
        )
        return through
    if through <= current:
        return current
    conn.execute(
        T.update()
        .where(
            T.c[c.RESTAURANT_ID] == restaurant_id,
            T.c.provider == provider,
            *tenancy.where(conn, T),
        )
        .values(pulled_through_utc=through, updated_at=now, batch_id=batch_id)
    )
    return through
