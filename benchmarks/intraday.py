"""Intraday accuracy on the sample data's 15-minute series: Flux's shape against the baseline.

Writes a slice of the sample data with ``sample_data/generate.py`` (seed 7 as the shipped set;
a restaurant's data does not depend on which others are generated, so the slice is the shipped
data's restaurants and days), imports it through ``flux import``'s code into a fresh SQLite
database in a temporary folder, and runs ``flux backtest --freq 15min``'s code
(:func:`pipelines.backtest.run`): the daily model's forecasts at each origin are split into
15-minute slots by Flux's learned shape (:class:`models.intraday.IntradayShape`) and by the
weekday-slot-share baseline (each weekday-slot's mean share of the last 8 weeks times the same
daily forecast), and both are scored against the 15-minute actuals (empty slots of open days are
zeros), by slot and by hour.

Usage (from the repository root)::

    .venv/bin/python benchmarks/intraday.py [--data sample_data] [--restaurants r01,r02,r04]
        [--start 2025-03-01] [--days 240] [--folds 4] [--horizon 14] [--target orders]
        [--models seasonal_naive,weekday_median]

``--data`` is the sample-data folder whose ``generate.py`` writes the slice. The daily model is
the ensemble when ``--models`` has it, else the best of them by RMSLE.
"""

# ruff: noqa: E402
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime as dt
import importlib.util
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.spec import ModelSpec
from pipelines import backtest, evaluation, ingest
from pipelines.settings import load_settings


def _generator(folder: Path) -> object:
    path = folder / "generate.py"
    if not path.is_file():
        raise SystemExit(f"error: {path} not found; pass --data PATH to Flux's sample_data folder")
    spec = importlib.util.spec_from_file_location("flux_sample_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=ROOT / "sample_data")
    parser.add_argument("--restaurants", default="r01,r02,r04", help="comma list of ids")
    parser.add_argument("--start", default="2025-03-01", help="first business date")
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--target", default="orders")
    parser.add_argument("--models", default="seasonal_naive,weekday_median")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark and prints the table."""
    args = parse_args(argv)
    gen = _generator(args.data)
    restaurants = [r.strip() for r in args.restaurants.split(",") if r.strip()]
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    with tempfile.TemporaryDirectory(prefix="flux-intraday-") as tmp:
        home = Path(tmp)
        data = home / "sample"
        started = time.perf_counter()
        gen.generate(  # type: ignore[attr-defined]
            data,
            start=dt.date.fromisoformat(args.start),
            days=args.days,
            restaurants=restaurants,
            readme=False,
        )
        settings = load_settings(
            environ={},
            home=home,
            database_url=f"sqlite:///{(home / 'flux.db').as_posix()}",
            timescale="off",
        )
        ingest.run(ingest.IngestRequest(paths=(data,)), settings)
        prepared = time.perf_counter() - started
        started = time.perf_counter()
        spec = evaluation.BacktestSpec(
            models=models, folds=args.folds, model=ModelSpec(horizon=args.horizon, seed=0)
        )
        result = backtest.run(
            backtest.BacktestRequest(target=args.target, freq="15min", spec=spec), settings
        )
        seconds = time.perf_counter() - started
    assert result.intraday is not None
    table = result.intraday.table
    base = table.set_index("method").loc["slot_share_baseline"]
    lines = [
        f"Intraday benchmark: {args.target}, restaurants {', '.join(restaurants)}, "
        f"{args.days} days from {args.start}; {len(result.cutoffs)} origins "
        f"({', '.join(str(c.date()) for c in result.cutoffs)}), horizon {args.horizon} days; "
        f"daily forecast: {result.intraday.model}.",
        "",
        "| method | slots | WAPE 15min | WAPE hourly | 15min vs baseline | hourly vs baseline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.method} | {row.rows:,} | {row.wape_slot:.4f} | {row.wape_hourly:.4f} | "
            f"{row.wape_slot / base['wape_slot']:.3f} | "
            f"{row.wape_hourly / base['wape_hourly']:.3f} |"
        )
    lines += [
        "",
        f"Data generated and imported in {prepared:.0f} s; backtest and scoring {seconds:.0f} s.",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
