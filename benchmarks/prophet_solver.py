"""Prophet's MAP fit in-process (``solver="map"``) against cmdstan, on the Recruit restaurants.

Fits every restaurant of a Recruit fold (cutoff 2016-12-14 by default, rows on or before it;
restaurants with at least 14) with Flux's Prophet (:class:`models.prophet_model.ProphetForecaster`:
log1p, weekly and yearly seasonality, Japan's holidays) side by side in one run: with
``solver="cmdstan"`` (Prophet's own Stan optimiser: Newton under 100 rows, else L-BFGS with
cmdstan's default tolerances, as Prophet runs it), with ``solver="map"``
(:mod:`models.prophet_map`), and, as the converged reference, cmdstan's Newton optimiser for every
restaurant run to convergence (``cmdstan_newton``: slower, not timed against the others). For each
restaurant and each cmdstan run it compares against ``map``:

- the objective both optima reach (:func:`models.prophet_map.objective`, Prophet's negative log
  posterior): how many the in-process optimum is lower on, equal on (within 1e-9 relative), or
  higher on, and the largest amount it is higher by;
- the forecasts of the evaluated days (the rows the test window has) of the 39 after the cutoff,
  on the log1p scale Prophet fits: the largest, 99th percentile and median of
  ``|yhat_map - yhat_cmdstan|``, and the RMSLE of each against the actual visits. (Days without
  rows are left out: a weekday a restaurant never opens has no data, so its weekly effect rests on
  the weak seasonality prior alone, and an optimiser stopped early, near its start of zero, and
  the exact optimum differ there by whatever the prior allows);
- the seconds of each whole fit (``--jobs`` workers) and their ratio.

Usage (from the repository root)::

    .venv/bin/python benchmarks/prophet_solver.py [--data ../shared/data/recruit]
        [--restaurants 200] [--fold 1] [--jobs 2]
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd

from benchmarks.recruit import DEFAULT_DATA, HORIZON, load_data, make_folds
from models import columns as c
from models import prophet_map
from models.frames import SeriesFrame
from models.prophet_model import ProphetForecaster, _fast_backend_class, prophet_yhat

EQUAL_RTOL = 1e-9


def _stan_data(model: object) -> dict[str, object]:
    """The Stan data a fitted model was fitted on (a copy of it, preprocessed again)."""
    from prophet.serialize import model_from_json, model_to_json

    fresh = model_from_json(model_to_json(model))
    history = fresh.history[[c.DS, c.Y]]
    fresh.history = None
    return dataclasses.asdict(fresh.preprocess(history))


@contextlib.contextmanager
def _cmdstan_newton() -> Iterator[None]:
    """cmdstan fits in this block use its Newton optimiser whatever the series' length."""
    backend = _fast_backend_class()
    plain = backend.fit

    def newton(self: Any, stan_init: Any, stan_data: Any, **kwargs: Any) -> Any:
        return plain(self, stan_init, stan_data, **(kwargs | {"algorithm": "Newton"}))

    backend.fit = newton
    try:
        yield
    finally:
        backend.fit = plain


def _fit(solver: str, train: SeriesFrame, calendar: Any, jobs: int) -> ProphetForecaster:
    model = ProphetForecaster(
        solver="cmdstan" if solver == "cmdstan_newton" else solver,  # type: ignore[arg-type]
        n_jobs=jobs,
        horizon=HORIZON,
    )
    if solver == "cmdstan_newton":  # the patch reaches this process only: fit here
        model.set_params(n_jobs=1)
    with _cmdstan_newton() if solver == "cmdstan_newton" else contextlib.nullcontext():
        model.fit(train, calendar)
    return model


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
    train = SeriesFrame.from_frame(fold.train, target=data.series.target)
    fitted: dict[str, ProphetForecaster] = {}
    seconds: dict[str, float] = {}
    # cmdstan and map twice each, interleaved (the second of each timed), then the reference
    for solver in ("cmdstan", "map", "cmdstan", "map", "cmdstan_newton"):
        started = time.perf_counter()
        fitted[solver] = _fit(solver, train, data.calendar, args.jobs)
        seconds[solver] = time.perf_counter() - started
        print(f"{solver}: {seconds[solver]:.1f} s", file=sys.stderr, flush=True)
    ours = fitted["map"]
    refs = ("cmdstan", "cmdstan_newton")
    ids = sorted(set.intersection(*(set(fitted[k].models_) for k in (*refs, "map"))))
    ds = pd.Series(fold.future)
    table = {k: {"lower": 0, "equal": 0, "higher": 0, "excess": 0.0, "gap": []} for k in refs}
    diffs: dict[str, list[np.ndarray]] = {k: [] for k in refs}
    sq = dict.fromkeys((*refs, "map"), 0.0)
    count = 0
    for rid in ids:
        data_r = _stan_data(fitted["cmdstan"].models_[rid])
        f_ours = prophet_map.objective(data_r, ours.models_[rid].params)
        y_ours = prophet_yhat(ours.models_[rid], ds, flat_trend=True)
        rows = fold.keys[fold.keys[c.RESTAURANT_ID] == rid]
        where = np.searchsorted(fold.future.to_numpy(), rows[c.DS].to_numpy())
        truth = np.log1p(rows[c.Y].to_numpy(dtype=float))
        sq["map"] += float(np.sum((np.maximum(y_ours[where], 0) - truth) ** 2))
        count += len(rows)
        for ref in refs:
            f_ref = prophet_map.objective(data_r, fitted[ref].models_[rid].params)
            entry = table[ref]
            entry["gap"].append(f_ref - f_ours)  # type: ignore[union-attr]
            if f_ours < f_ref - EQUAL_RTOL * abs(f_ref):
                entry["lower"] += 1  # type: ignore[operator]
            elif f_ours <= f_ref + EQUAL_RTOL * abs(f_ref):
                entry["equal"] += 1  # type: ignore[operator]
            else:
                entry["higher"] += 1  # type: ignore[operator]
                entry["excess"] = max(float(entry["excess"]), f_ours - f_ref)  # type: ignore[arg-type]
            y_ref = prophet_yhat(fitted[ref].models_[rid], ds, flat_trend=True)
            diffs[ref].append(np.abs(y_ours - y_ref)[where])
            sq[ref] += float(np.sum((np.maximum(y_ref[where], 0) - truth) ** 2))
    print(f"Recruit fold {args.fold}: {len(ids)} restaurants, {args.jobs} jobs, 39-day forecasts")
    print()
    print(
        f"| fit seconds | cmdstan {seconds['cmdstan']:.1f} | map {seconds['map']:.1f} | "
        f"ratio {seconds['map'] / seconds['cmdstan']:.2f} |"
    )
    print()
    print(
        "| map against | objective lower / equal / higher | median gap | largest excess "
        "| forecast diff max | p99 | median |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for ref in refs:
        e, d = table[ref], np.concatenate(diffs[ref])
        print(
            f"| {ref} | {e['lower']} / {e['equal']} / {e['higher']} | "
            f"{np.median(np.asarray(e['gap'])):.3g} | {float(e['excess']):.3g} | "  # type: ignore[arg-type]
            f"{d.max():.4f} | {np.quantile(d, 0.99):.4f} | {np.median(d):.5f} |"
        )
    print()
    print(
        "RMSLE of the raw Prophet forecasts (log1p, no guard): "
        + ", ".join(
            f"{k} {np.sqrt(sq[k] / count):.4f}" for k in ("cmdstan", "cmdstan_newton", "map")
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
