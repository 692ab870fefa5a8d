"""Test helpers: run the CLI, read demand back, checksum a restaurant's rows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from typer.testing import CliRunner

from flux_cli.main import app
from pipelines.io import schema
from pipelines.io.db import Database
from pipelines.settings import Settings

TABLES = (
    schema.restaurants,
    schema.orders,
    schema.order_lines,
    schema.observations,
    schema.calendar_events,
    schema.demand_daily,
    schema.demand_15min,
    schema.demand_items_daily,
)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def env_for(settings: Settings) -> dict[str, str]:
    """FLUX_* variables pointing the CLI at the test's database and home."""
    env = {
        "FLUX_HOME": str(settings.home),
        "FLUX_DATABASE_URL": settings.resolved_database_url,
        "FLUX_ARTIFACTS_URI": settings.resolved_artifacts_uri,
    }
    if settings.s3_endpoint_url:
        env["FLUX_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    if settings.locks != "auto":
        env["FLUX_LOCKS"] = settings.locks
    return env


def run_cli(settings: Settings, args: Sequence[str]) -> CliResult:
    """Runs ``flux ARGS`` in-process against the test's settings; returns exit code and output."""
    runner = CliRunner()
    result = runner.invoke(app, list(args), env=env_for(settings), catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def demand_daily(settings: Settings) -> pd.DataFrame:
    """The daily rollup as a frame sorted by restaurant and date."""
    db = Database(settings)
    with db.connect() as conn:
        frame = pd.read_sql(
            sa.select(schema.demand_daily).order_by("restaurant_id", "business_date"), conn
        )
    db.dispose()
    frame["business_date"] = pd.to_datetime(frame["business_date"])
    return frame


def checksums(settings: Settings, exclude: str | None = None) -> dict[str, str]:
    """A checksum of every table's rows (only other restaurants' rows when ``exclude``)."""
    db = Database(settings)
    out: dict[str, str] = {}
    with db.connect() as conn:
        for table in TABLES:
            stmt = sa.select(table)
            if exclude is not None and "restaurant_id" in table.c:
                stmt = stmt.where(
                    sa.or_(table.c.restaurant_id != exclude, table.c.restaurant_id.is_(None))
                )
            rows = sorted(repr(tuple(r)) for r in conn.execute(stmt).all())
            out[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    db.dispose()
    return out


def row_counts(settings: Settings) -> dict[str, int]:
    """Rows per table."""
    db = Database(settings)
    with db.connect() as conn:
        counts = {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in TABLES
        }
    db.dispose()
    return counts


def copy_tree(src: Path, dst: Path) -> Path:
    """Copies a folder (sample data into a test's tmp folder)."""
    import shutil

    shutil.copytree(src, dst)
    return dst
