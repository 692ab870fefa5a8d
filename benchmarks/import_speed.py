"""Import speed: ``flux import`` into PostgreSQL and SQLite against ``COPY`` of the same rows.

Generates a synthetic fleet (sample_data/generate.py) of at least a million order lines, then in
one run, side by side:

- ``postgres_copy``: ``COPY`` of the already-normalised order lines into a fresh ``order_lines``
  table (same schema and keys): the physical limit of the database;
- ``flux_postgres``: ``flux import`` of the export files (parse, validate, normalise, stage,
  upsert, orders, rollups, batch records) into a fresh PostgreSQL database;
- ``flux_sqlite``: the same into a fresh SQLite file.

Usage:
    python benchmarks/import_speed.py [--restaurants 300] [--days 120] [--format square]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--out FILE.csv]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import ingest  # noqa: E402
from pipelines.io import adapters, imports, schema  # noqa: E402
from pipelines.io.adapters.base import ParseContext  # noqa: E402
from pipelines.io.db import Database  # noqa: E402
from pipelines.io.loader import bulk_insert  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen", ROOT / "sample_data" / "generate.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen"] = mod
    spec.loader.exec_module(mod)
    return mod


def _pg_database(admin_url: str) -> tuple[str, sa.Engine, str]:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"flux_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, admin, name


def _drop(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def bench_copy(data_dir: Path, admin_url: str, home: Path) -> tuple[int, float]:
    """COPY of the normalised order lines (parsing is not timed)."""
    url, admin, name = _pg_database(admin_url)
    try:
        settings = load_settings(home=home, database_url=url)
        db = Database(settings)
        db.ensure_schema()
        with db.connect() as conn:
            directory = imports.load_directory(conn)
        restaurants = adapters.get("restaurants").parse(
            data_dir / "restaurants.csv", ParseContext(directory)
        )
        from pipelines.ingest import _directory_add

        _directory_add(directory, restaurants)
        ctx = ParseContext(directory)
        frames = []
        for path in ingest.collect_files((data_dir,)):
            adapter = adapters.detect(path)
            if adapter is not None and adapter.name not in ("restaurants", "events"):
                frames.append(adapter.parse(path, ctx).lines)
        import pandas as pd

        lines = pd.concat(frames, ignore_index=True)
        # rows are stamped with their tenant on the way in (pipelines.io.imports._stamp)
        lines = lines.assign(tenant_id=settings.tenant_scope or "default")
        with db.begin() as conn:
            caps = db.capabilities(conn)
            start = time.perf_counter()
            bulk_insert(conn, caps, schema.order_lines, lines)
        seconds = time.perf_counter() - start
        db.dispose()
        return len(lines), seconds
    finally:
        _drop(admin, name)


def bench_flux(data_dir: Path, url: str | None, home: Path) -> tuple[int, float]:
    """``flux import`` of the export files, end to end (schema created beforehand)."""
    settings = load_settings(home=home, database_url=url)
    Database(settings).ensure_schema()
    start = time.perf_counter()
    result = ingest.run(ingest.IngestRequest(paths=(data_dir,)), settings)
    seconds = time.perf_counter() - start
    assert result.rows_rejected == 0, "benchmark data should import cleanly"
    lines = sum(f.rows_loaded for f in result.files if f.format not in ("restaurants", "events"))
    return lines, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restaurants", type=int, default=300)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--format", default="square", choices=("square", "generic"))
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", type=Path, default=None, help="write the table as CSV")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flux-bench-") as tmp:
        tmpdir = Path(tmp)
        data_dir = tmpdir / "data"
        t0 = time.perf_counter()
        written = _generator().generate_fleet(
            data_dir, n=args.restaurants, days=args.days, fmt=args.format
        )
        print(
            f"generated {written:,} order lines for {args.restaurants} restaurants x "
            f"{args.days} days in {time.perf_counter() - t0:.1f}s ({args.format} format)"
        )
        rows: list[tuple[str, int, float]] = []
        n, s = bench_copy(data_dir, args.pg_url, tmpdir / "copy")
        rows.append(("postgres_copy", n, s))
        url, admin, name = _pg_database(args.pg_url)
        try:
            n, s = bench_flux(data_dir, url, tmpdir / "pg")
            rows.append(("flux_postgres", n, s))
        finally:
            _drop(admin, name)
        n, s = bench_flux(data_dir, None, tmpdir / "sqlite")
        rows.append(("flux_sqlite", n, s))

    copy_rate = rows[0][1] / rows[0][2]
    print(f"\n{'path':<15}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'vs COPY':>10}")
    for path, n, s in rows:
        rate = n / s
        print(f"{path:<15}{n:>12,}{s:>10.2f}{rate:>12,.0f}{rate / copy_rate:>10.2f}")
    if args.out:
        with args.out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "rows", "seconds", "rows_per_s"])
            for path, n, s in rows:
                writer.writerow([path, n, f"{s:.3f}", f"{n / s:.0f}"])
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
