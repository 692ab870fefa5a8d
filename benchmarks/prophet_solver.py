"""Prophet's MAP fit in-process (``solver="map"``) against cmdstan, on the Recruit restaurants.

Fits every restaurant of a Recruit fold (cutoff 2016-12-14 by default, rows on or before it;
restaurants with at least 14) with Flux's Prophet (:class:`models.prophet_model.ProphetForecaster`:
log1p, weekly and yearly seasonality, Japan's holidays) twice, side by side in one run: with
``solver="cmdstan"`` (Prophet's own Stan optimiser) and ``solver="map"``
(:mod:`models.prophet_map`). For each restaurant it compares:

- the objective both optima reach (:func:`models.prophet_map.objective`, Prophet's negative log
  posterior): how many the in-process optimum is lower on, equal on (within 1e-9 relative), or
  higher on, and the largest amount it is higher by;
- the forecasts of the 39 days after the cutoff, on the log1p scale Prophet fits: the largest and
  the 99th percentile of ``|yhat_map - yhat_cmdstan|`` over all restaurant-days, and the RMSLE of
  each against the actual visits;
- the seconds of each whole fit (``--jobs`` workers) and their ratio.

Usage (from the repository root)::

    .venv/bin/python benchmarks/prophet_solver.py [--data ../shared/data/recruit]
        [--restaurants 200] [--fold 1] [--jobs 2]
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd

from benchmarks.recruit import DEFAULT_DATA, HORIZON, load_data, make_folds
from models import columns as c
from models import prophet_map
from models.frames import SeriesFrame
from models.prophet_model import ProphetForecaster, prophet_yhat

EQUAL_RTOL = 1e-9


def _stan_data(model: object) -> dict[str, object]:
    """The Stan data a fitted model was fitted on (a copy of it, preprocessed again)."""
    from prophet.serialize import model_from_json, model_to_json

    fresh = model_from_json(model_to_json(model))
    history = fresh.history[[c.DS, c.Y]]
    fresh.history = None
    return dataclasses.asdict(fresh.preprocess(history))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the Recruit folder")
    parser.add_argument("--restaurants", type=int, help="a deterministic sample of N")
    parser.add_argument("--fold", type=int, default=1, choices=(1, 2, 3))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory(prefix="flux-solver-") as tmp:
        data = load_data(args.data, Path(tmp), args.restaurants)
    fold = make_folds(data.series)[args.fold - 1]
    train = SeriesFrame(fold.train, data.series.target)
    fitted: dict[str, ProphetForecaster] = {}
    seconds: dict[str, float] = {}
    for solver in ("cmdstan", "map", "cmdstan", "map"):  # twice each, interleaved: keep the second
        model = ProphetForecaster(solver=solver, n_jobs=args.jobs, horizon=HORIZON)  # type: ignore[arg-type]
        started = time.perf_counter()
        model.fit(train, data.calendar)
        seconds[solver] = time.perf_counter() - started
        fitted[solver] = model
        print(f"{solver}: {seconds[solver]:.1f} s", file=sys.stderr, flush=True)
    ref, ours = fitted["cmdstan"], fitted["map"]
    ids = sorted(set(ref.models_) & set(ours.models_))
    lower = equal = higher = 0
    worst = 0.0
    diffs: list[np.ndarray] = []
    sq = {"cmdstan": 0.0, "map": 0.0}
    count = 0
    for rid in ids:
        data_r = _stan_data(ref.models_[rid])
        f_ref = prophet_map.objective(data_r, ref.models_[rid].params)
        f_ours = prophet_map.objective(data_r, ours.models_[rid].params)
        if f_ours < f_ref - EQUAL_RTOL * abs(f_ref):
            lower += 1
        elif f_ours <= f_ref + EQUAL_RTOL * abs(f_ref):
            equal += 1
        else:
            higher += 1
            worst = max(worst, f_ours - f_ref)
        ds = pd.Series(fold.future)
        y_ref = prophet_yhat(ref.models_[rid], ds, flat_trend=True)
        y_ours = prophet_yhat(ours.models_[rid], ds, flat_trend=True)
        diffs.append(np.abs(y_ours - y_ref))
        rows = fold.keys[fold.keys[c.RESTAURANT_ID] == rid]
        where = np.searchsorted(fold.future.to_numpy(), rows[c.DS].to_numpy())
        truth = np.log1p(rows[c.Y].to_numpy(dtype=float))
        for name, yhat in (("cmdstan", y_ref), ("map", y_ours)):
            sq[name] += float(np.sum((np.maximum(yhat[where], 0) - truth) ** 2))
        count += len(rows)
    d = np.concatenate(diffs)
    print(f"| Recruit fold {args.fold} ({len(ids)} restaurants, {args.jobs} jobs) | value |")
    print("|---|---|")
    print(f"| fit seconds, cmdstan | {seconds['cmdstan']:.1f} |")
    print(f"| fit seconds, map | {seconds['map']:.1f} |")
    print(f"| ratio map / cmdstan | {seconds['map'] / seconds['cmdstan']:.2f} |")
    print(f"| objective: map lower / equal / higher | {lower} / {equal} / {higher} |")
    print(f"| objective: largest excess of map | {worst:.3g} |")
    print(f"| forecast max abs diff (log1p) | {d.max():.4f} |")
    print(f"| forecast p99 abs diff (log1p) | {np.quantile(d, 0.99):.4f} |")
    print(f"| RMSLE (raw Prophet, no guard), cmdstan | {np.sqrt(sq['cmdstan'] / count):.4f} |")
    print(f"| RMSLE (raw Prophet, no guard), map | {np.sqrt(sq['map'] / count):.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
