"""Accuracy and calibration on kinds of restaurant the Recruit benchmark does not show.

Three synthetic kinds, each written with a fixed seed (nothing here is read from disk), run
through ``flux backtest``'s code (:func:`pipelines.evaluation.run_backtest`) with the ensemble
and its members side by side:

- ``small``: 12 takeaways, each backtested alone (as ``flux backtest --restaurant`` would), 3
  years of daily orders, 5-15 a day (Poisson counts around a weekly and yearly pattern): few
  residuals per horizon step, integer noise that dominates the level. (One restaurant's 28 rows
  a fold cannot show coverage to better than about +-8 points; twelve pooled can.)
- ``chain``: 54 stores with 4.5 years of daily traffic, a stable weekly and yearly pattern and a
  slowly wandering level (an AR(1) in log space): a long, quiet history whose latest validation
  window understates how far the level moves over a horizon.
- ``new``: 30 established restaurants (1 year) and 10 opened 7 days before each origin: the
  cold-start path (peers and the global model).

Printed per kind and fold: RMSLE, WAPE, 80% and 95% coverage and the 10/50/90% pinball loss of
each model, then the ensemble's margin over its best member. Goals (issue 12): 80% intervals
cover 75-85% and 95% ones 92-97% in every fold; the ensemble's RMSLE at or below its best
member's.

Usage (from the repository root)::

    .venv/bin/python benchmarks/calibration.py [--kinds small,chain,new] [--folds 3]
        [--horizon 28] [--jobs 1] [--markdown out.md]
"""

# ruff: noqa: E402
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd

from models import columns as c
from models import metrics
from models.base import Calendar
from models.cold_start import COLD_START
from models.frames import SeriesFrame, interval_columns
from models.spec import ModelSpec
from pipelines import evaluation

MODELS = ("ensemble", "prophet", "xgboost")
LEVELS = (80, 95)
WEEKLY = np.array([0.85, 0.9, 0.95, 1.0, 1.25, 1.45, 1.1])
SEED = 12


def _yearly(ds: pd.DatetimeIndex, amplitude: float, phase: float) -> np.ndarray:
    day = ds.day_of_year.to_numpy()
    return 1.0 + amplitude * np.sin(2 * np.pi * (day / 365.25 + phase))


def small(seed: int = SEED, restaurants: int = 12) -> list[tuple[SeriesFrame, Calendar]]:
    """Takeaways, each backtested alone: 3 years of Poisson orders around 5-15 a day."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-03", periods=3 * 365, freq="D")
    runs = []
    for i in range(restaurants):
        level = rng.uniform(6.0, 11.0)
        mean = level * WEEKLY[ds.day_of_week.to_numpy()] * _yearly(ds, 0.15, rng.uniform(0, 1))
        y = rng.poisson(mean).astype(float)
        rid = f"takeaway{i:02d}"
        frame = pd.DataFrame({c.RESTAURANT_ID: rid, c.DS: ds, c.Y: y})
        runs.append((SeriesFrame.from_frame(frame), _calendar([rid])))
    return runs


def chain(seed: int = SEED, stores: int = 54) -> list[tuple[SeriesFrame, Calendar]]:
    """54 stores, 4.5 years, a stable pattern and a slowly wandering level."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2021-07-01", periods=int(4.5 * 365), freq="D")
    weekly = WEEKLY[ds.day_of_week.to_numpy()]
    parts = []
    for i in range(stores):
        level = rng.uniform(80.0, 400.0)
        drift = np.zeros(len(ds))
        shocks = rng.normal(0.0, 0.02, len(ds))
        for t in range(1, len(ds)):  # AR(1) in log space: phi 0.98, sd 0.02 (about 0.1 wide)
            drift[t] = 0.98 * drift[t - 1] + shocks[t]
        mean = level * weekly * _yearly(ds, 0.12, rng.uniform(0, 1)) * np.exp(drift)
        y = np.round(mean * rng.lognormal(0.0, 0.08, len(ds)))
        parts.append(pd.DataFrame({c.RESTAURANT_ID: f"s{i:02d}", c.DS: ds, c.Y: y}))
    frame = pd.concat(parts, ignore_index=True)
    return [(SeriesFrame.from_frame(frame), _calendar(sorted(frame[c.RESTAURANT_ID].unique())))]


def new(seed: int = SEED) -> list[tuple[SeriesFrame, Calendar]]:
    """30 restaurants with a year of history and 10 whose first day is 7 days before the last
    origin (the backtest's other origins see them with more days, or not at all)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=365, freq="D")
    weekly = WEEKLY[ds.day_of_week.to_numpy()]
    parts = []
    for i in range(40):
        level = rng.uniform(20.0, 120.0)
        y = np.round(level * weekly * rng.lognormal(0.0, 0.15, len(ds)))
        frame = pd.DataFrame({c.RESTAURANT_ID: f"r{i:02d}", c.DS: ds, c.Y: y})
        if i >= 30:  # opens 7 days before the last origin (horizon 28 before the last day)
            frame = frame[frame[c.DS] > ds[-1] - pd.Timedelta(days=28 + 7)]
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True)
    return [(SeriesFrame.from_frame(frame), _calendar(sorted(frame[c.RESTAURANT_ID].unique())))]


def _calendar(ids: Sequence[str]) -> Calendar:
    restaurants = pd.DataFrame({c.RESTAURANT_ID: list(ids), c.COUNTRY: "US", c.SUBDIVISION: None})
    return Calendar(restaurants=restaurants)


KINDS: dict[str, Callable[[], list[tuple[SeriesFrame, Calendar]]]] = {
    "small": small,
    "chain": chain,
    "new": new,
}


def score(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and fold: RMSLE, WAPE, coverage and pinball loss."""
    rows = []
    for (model, fold), part in frame.groupby([c.MODEL, "fold"]):
        y, yhat = part[c.Y].to_numpy(float), part[c.YHAT].to_numpy(float)
        row: dict[str, object] = {
            "model": model,
            "fold": int(fold),
            "rows": len(part),
            "rmsle": metrics.rmsle(y, yhat),
            "wape": metrics.wape(y, yhat),
        }
        for level in LEVELS:
            lo, hi = interval_columns(level)
            row[f"cov{level}"] = metrics.coverage(y, part[lo], part[hi])
        lo80, hi80 = interval_columns(80)
        # The 10% and 90% quantiles are the 80% interval's bounds (``flux predict --quantiles``).
        row["pinball10"] = metrics.pinball(y, part[lo80], 0.1)
        row["pinball50"] = metrics.pinball(y, yhat, 0.5)
        row["pinball90"] = metrics.pinball(y, part[hi80], 0.9)
        rows.append(row)
    return pd.DataFrame(rows)


def table(kind: str, scores: pd.DataFrame, cold: pd.DataFrame | None) -> str:
    """The kind's markdown table, fold by fold, then the ensemble's margin."""
    out = [
        f"### {kind}",
        "",
        "| model | fold | rows | RMSLE | WAPE | cov 80 | cov 95 | pinball 10/50/90 |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in scores.sort_values(["fold", "model"]).itertuples():
        out.append(
            f"| {r.model} | {r.fold} | {r.rows:,} | {r.rmsle:.4f} | {r.wape:.4f} | "
            f"{r.cov80:.1%} | {r.cov95:.1%} | "
            f"{r.pinball10:.3f} / {r.pinball50:.3f} / {r.pinball90:.3f} |"
        )
    mean = scores.groupby("model")[["rmsle", "wape", "cov80", "cov95"]].mean()
    out.append("")
    out.append(
        "Mean over folds: "
        + "; ".join(
            f"{m} RMSLE {r.rmsle:.4f}, WAPE {r.wape:.4f}, cov80 {r.cov80:.1%}, cov95 {r.cov95:.1%}"
            for m, r in mean.iterrows()
        )
    )
    members = mean.drop(index="ensemble", errors="ignore")
    if "ensemble" in mean.index and not members.empty:
        best = members["rmsle"].idxmin()
        margin = mean.loc["ensemble", "rmsle"] - members.loc[best, "rmsle"]
        out.append(f"Ensemble minus best member ({best}) mean RMSLE: {margin:+.4f}")
    inside = scores[(scores["cov80"] < 0.75) | (scores["cov80"] > 0.85)]
    out.append(
        "80% coverage outside 75-85% in: "
        + (", ".join(f"{r.model} fold {r.fold}" for r in inside.itertuples()) or "none")
    )
    inside95 = scores[(scores["cov95"] < 0.92) | (scores["cov95"] > 0.97)]
    out.append(
        "95% coverage outside 92-97% in: "
        + (", ".join(f"{r.model} fold {r.fold}" for r in inside95.itertuples()) or "none")
    )
    if cold is not None and not cold.empty:
        out.append("")
        out.append("Cold-start rows only (served_by cold_start):")
        for r in score(cold).sort_values(["fold", "model"]).itertuples():
            out.append(
                f"- {r.model} fold {r.fold}: {r.rows} rows, RMSLE {r.rmsle:.4f}, "
                f"WAPE {r.wape:.4f}, cov80 {r.cov80:.1%}, cov95 {r.cov95:.1%}"
            )
    return "\n".join(out) + "\n"


def run(kind: str, folds: int, horizon: int, jobs: int) -> str:
    """Backtests each of the kind's data sets (a takeaway alone, or a fleet together)."""
    spec = evaluation.BacktestSpec(
        models=MODELS,
        model=ModelSpec(horizon=horizon, levels=LEVELS, seed=SEED),
        folds=folds,
        jobs=jobs,
    )
    started = time.perf_counter()
    runs = KINDS[kind]()
    frame = pd.concat(
        [evaluation.run_backtest(series, calendar, spec) for series, calendar in runs],
        ignore_index=True,
    )
    seconds = time.perf_counter() - started
    flagged = frame[COLD_START].astype(bool) if COLD_START in frame else None
    cold = None if flagged is None else frame[flagged]
    established = frame if flagged is None else frame[~flagged]
    text = table(kind, score(established), cold)
    n = sum(len(series.restaurants) for series, _ in runs)
    days = sum(len(series.data) for series, _ in runs)
    how = "each alone" if len(runs) > 1 else "together"
    return text + f"\n({n} restaurant(s) {how}, {days:,} days, {seconds:.1f} s)\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma list of kinds")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--markdown", type=Path, help="markdown file to write")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    warnings.filterwarnings("ignore", category=FutureWarning)
    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.ERROR)
    parts = []
    for kind in kinds:
        text = run(kind, args.folds, args.horizon, args.jobs)
        print(text, flush=True)
        parts.append(text)
    if args.markdown:
        args.markdown.write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
