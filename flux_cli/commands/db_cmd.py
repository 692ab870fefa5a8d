"""``flux db``: schema status and upgrades."""

from __future__ import annotations

from flux_cli import console
from pipelines.io.db import Database
from pipelines.settings import Settings


def upgrade(settings: Settings) -> None:
    """Migrates the schema and says what changed."""
    db = Database(settings)
    before, after = db.upgrade()
    if before == after:
        console.out.print(f"{db.display_url}: schema already at revision {after}")
    else:
        console.out.print(f"{db.display_url}: schema upgraded {before or 'empty'} -> {after}")


def status(settings: Settings, *, as_json: bool) -> None:
    """Prints the database, its revision and TimescaleDB use."""
    db = Database(settings)
    current = db.current_revision()
    head = db.head_revision()
    with db.connect() as conn:
        caps = db.capabilities(conn)
    info = {
        "database": db.display_url,
        "dialect": caps.dialect,
        "revision": current,
        "head": head,
        "up_to_date": current == head,
        "newer_than_flux": db.is_newer(current),
        "timescaledb": caps.timescale,
    }
    if as_json:
        console.print_json(info)
        return
    if current == head:
        state = "up to date"
    elif info["newer_than_flux"]:
        state = f"newer than this Flux ({head}): upgrade Flux; do not run `flux db upgrade`"
    else:
        state = f"behind: run `flux db upgrade` to reach {head}"
    console.out.print(f"database   {info['database']} ({caps.dialect})")
    console.out.print(f"revision   {current or 'none'} ({state})")
    console.out.print(
        f"timescale  {'yes: order_lines is a hypertable' if caps.timescale else 'no'}"
    )
