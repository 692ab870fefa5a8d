"""Comparing two recorded backtest runs, pure: metrics side by side, wins and losses per
restaurant, and whether the difference is larger than noise.

The noise verdict is a paired bootstrap of the RMSLE difference (B minus A) over the rows both
runs forecast (same restaurant, cutoff and day, same actual): restaurants are resampled with
replacement, and each drawn restaurant's days are resampled again (Poisson weights), so the
interval reflects both which restaurants happened to be in the data and which days. When the
run records hold no rows (a very large backtest), restaurants alone are resampled from the
per-restaurant RMSLEs. A difference whose 95% interval excludes zero is called larger than noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models import columns as c
from models.metrics import OVERALL
from models.spec import ENSEMBLE
from pipelines.errors import UsageError
from pipelines.io.runs import BacktestRecord

__all__ = ["BOOTSTRAP_REPS", "Comparison", "compare", "paired_bootstrap"]

BOOTSTRAP_REPS = 2000
LEVEL = 0.95
METRICS = ("rmsle", "wape", "mae", "rmse", "smape", "mase", "bias")
_KEYS = [c.RESTAURANT_ID, c.CUTOFF, c.DS]


@dataclass(frozen=True)
class Comparison:
    """Run B against run A for one model each.

    Attributes:
        run_a: Run A's id. run_b: Run B's id.
        model_a: The model of A compared. model_b: The model of B compared.
        metrics: Per metric: ``a``, ``b`` and ``diff`` (b - a; lower is better for errors).
        restaurants: Per restaurant: RMSLE of A and B, their difference, and who won.
        wins: Restaurants where B's RMSLE is lower / higher / equal (``b``, ``a``, ``tie``).
        diff: RMSLE of B minus RMSLE of A over the paired rows.
        interval: The bootstrap interval of ``diff`` (None without paired data).
        verdict: ``b better``, ``a better``, or ``within noise`` (``no paired data``).
        resampled: What the bootstrap resampled (``restaurants and days`` or ``restaurants``).
        paired_rows: Rows both runs forecast (0 with per-restaurant data only).
        same_data: Whether both ran on the same data (window, restaurants, fingerprint, target).
        data_notes: How the data differ, in words.
        spec_changes: Dotted spec keys that differ: key -> (A's, B's).
        draws: The bootstrap's differences (for the plot).
    """

    run_a: str
    run_b: str
    model_a: str
    model_b: str
    metrics: dict[str, dict[str, float | None]]
    restaurants: pd.DataFrame
    wins: dict[str, int]
    diff: float | None
    interval: tuple[float, float] | None
    verdict: str
    resampled: str
    paired_rows: int
    same_data: bool
    data_notes: list[str]
    spec_changes: dict[str, tuple[Any, Any]]
    draws: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        rows = self.restaurants.astype(object).where(self.restaurants.notna(), None)
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "model_a": self.model_a,
            "model_b": self.model_b,
            "metrics": self.metrics,
            "restaurants": rows.to_dict("records"),
            "wins": self.wins,
            "rmsle_diff": self.diff,
            "interval": list(self.interval) if self.interval else None,
            "level": LEVEL,
            "verdict": self.verdict,
            "resampled": self.resampled,
            "paired_rows": self.paired_rows,
            "same_data": self.same_data,
            "data_notes": self.data_notes,
            "spec_changes": {k: list(v) for k, v in self.spec_changes.items()},
        }


def _model(record: BacktestRecord, wanted: str | None) -> str:
    if wanted:
        if wanted not in record.models:
            raise UsageError(
                f"backtest run {record.run_id} did not score {wanted!r}; it scored "
                + ", ".join(record.models)
            )
        return wanted
    if ENSEMBLE in record.models:
        return ENSEMBLE
    return record.best_model or record.models[0]


def _overall(record: BacktestRecord, model: str) -> dict[str, Any]:
    for row in record.metrics.get("overall", []):
        if row.get(c.MODEL) == model:
            return dict(row)
    return {}


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _by_restaurant(record: BacktestRecord, model: str) -> pd.Series:
    rows = [
        r
        for r in record.metrics.get("by_restaurant", [])
        if r.get(c.MODEL) == model and r.get(c.RESTAURANT_ID) != OVERALL  # not the pooled row
    ]
    return pd.Series({str(r[c.RESTAURANT_ID]): _number(r.get("rmsle")) for r in rows}, dtype=float)


def _rows(record: BacktestRecord, model: str) -> pd.DataFrame | None:
    rows = record.metrics.get("rows", {}).get(model)
    if not rows:
        return None
    return pd.DataFrame(rows)


def _data_notes(a: BacktestRecord, b: BacktestRecord) -> list[str]:
    notes = []
    if a.target != b.target:
        notes.append(f"targets differ: {a.target} vs {b.target}")
    da, db = a.data, b.data
    if not da or not db:
        notes.append("a run predates data records: cannot tell whether the data are the same")
        return notes
    if (da.get("start"), da.get("end")) != (db.get("start"), db.get("end")):
        notes.append(
            f"data windows differ: {da.get('start')}..{da.get('end')} vs "
            f"{db.get('start')}..{db.get('end')}"
        )
    ra, rb = set(da.get("restaurants", [])), set(db.get("restaurants", []))
    if ra != rb:
        notes.append(
            f"restaurants differ: only in A {sorted(ra - rb) or '-'}, only in B "
            f"{sorted(rb - ra) or '-'}"
        )
    if da.get("fingerprint") != db.get("fingerprint") and not notes:
        notes.append("the data changed between the runs (same window, different values)")
    cuts_a, cuts_b = a.params.get("cutoffs_scored"), b.params.get("cutoffs_scored")
    if cuts_a is not None and cuts_b is not None and cuts_a != cuts_b:
        notes.append(f"cutoffs differ: {', '.join(cuts_a)} vs {', '.join(cuts_b)}")
    return notes


def _sq_log_error(frame: pd.DataFrame, yhat: str) -> np.ndarray:
    y = np.log1p(np.clip(frame[c.Y].to_numpy(dtype=float), 0, None))
    f = np.log1p(np.clip(frame[yhat].to_numpy(dtype=float), 0, None))
    return np.asarray((f - y) ** 2, dtype=float)


def paired_bootstrap(
    groups: np.ndarray,
    err_a: np.ndarray,
    err_b: np.ndarray,
    *,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    within: bool = True,
) -> np.ndarray:
    """Bootstrap draws of ``sqrt(mean err_b) - sqrt(mean err_a)`` (RMSLE of B minus A).

    Args:
        groups: The restaurant of each row (resampled with replacement).
        err_a: Each row's squared log error under A. err_b: The same rows under B.
        reps: Draws.
        seed: Random seed (the verdict is reproducible).
        within: Also resample each restaurant's rows (Poisson(1) weights); False when each
            "row" is already a restaurant's summary.
    """
    rng = np.random.default_rng(seed)
    codes, uniques = pd.factorize(pd.Series(groups))
    n_groups = len(uniques)
    draws = np.empty(reps)
    block = max(1, min(reps, 2_000_000 // max(len(codes), 1)))
    for start in range(0, reps, block):
        k = min(block, reps - start)
        counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=k)
        weights = counts[:, codes].astype(float)
        if within:
            weights *= rng.poisson(1.0, size=weights.shape)
        total = weights.sum(axis=1)
        total[total == 0] = np.nan
        rmsle_a = np.sqrt(weights @ err_a / total)
        rmsle_b = np.sqrt(weights @ err_b / total)
        draws[start : start + k] = rmsle_b - rmsle_a
    return draws[np.isfinite(draws)]


def compare(
    a: BacktestRecord,
    b: BacktestRecord,
    *,
    model_a: str | None = None,
    model_b: str | None = None,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
) -> Comparison:
    """Run B against run A (model: ``ensemble`` when scored, else each run's best).

    Raises:
        UsageError: a run did not score the model asked for.
    """
    ma, mb = _model(a, model_a), _model(b, model_b)
    oa, ob = _overall(a, ma), _overall(b, mb)
    metrics: dict[str, dict[str, float | None]] = {}
    for name in [*METRICS, *sorted(k for k in oa if k.startswith(("coverage_", "width_")))]:
        va, vb = _number(oa.get(name)), _number(ob.get(name))
        metrics[name] = {"a": va, "b": vb, "diff": None if va is None or vb is None else vb - va}

    ra, rb = _by_restaurant(a, ma), _by_restaurant(b, mb)
    table = pd.DataFrame({"rmsle_a": ra, "rmsle_b": rb}).dropna()
    table.index.name = c.RESTAURANT_ID
    table["diff"] = table["rmsle_b"] - table["rmsle_a"]
    table["winner"] = np.where(table["diff"] < 0, "b", np.where(table["diff"] > 0, "a", "tie"))
    table = table.reset_index()
    wins = {k: int((table["winner"] == k).sum()) for k in ("b", "a", "tie")}

    rows_a, rows_b = _rows(a, ma), _rows(b, mb)
    diff: float | None = None
    draws = np.empty(0)
    paired = 0
    resampled = "restaurants and days"
    if rows_a is not None and rows_b is not None:
        both = rows_a.merge(rows_b, on=_KEYS, suffixes=("_a", "_b"))
        both = both[np.isclose(both["y_a"], both["y_b"])].rename(columns={"y_a": c.Y})
        paired = len(both)
        if paired:
            err_a, err_b = _sq_log_error(both, "yhat_a"), _sq_log_error(both, "yhat_b")
            diff = math.sqrt(err_b.mean()) - math.sqrt(err_a.mean())
            draws = paired_bootstrap(
                both[c.RESTAURANT_ID].to_numpy(), err_a, err_b, reps=reps, seed=seed
            )
    elif len(table):
        resampled = "restaurants"
        err_a = table["rmsle_a"].to_numpy() ** 2
        err_b = table["rmsle_b"].to_numpy() ** 2
        diff = math.sqrt(err_b.mean()) - math.sqrt(err_a.mean())
        draws = paired_bootstrap(
            table[c.RESTAURANT_ID].to_numpy(), err_a, err_b, reps=reps, seed=seed, within=False
        )
    interval: tuple[float, float] | None = None
    if len(draws):
        tail = (1 - LEVEL) / 2
        interval = (float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)))
        verdict = (
            "b better" if interval[1] < 0 else "a better" if interval[0] > 0 else "within noise"
        )
    else:
        verdict = "no paired data"
    notes = _data_notes(a, b)
    try:
        changes = a.spec.changes(b.spec)
    except UsageError:
        changes = {}
    return Comparison(
        run_a=a.run_id,
        run_b=b.run_id,
        model_a=ma,
        model_b=mb,
        metrics=metrics,
        restaurants=table,
        wins=wins,
        diff=diff,
        interval=interval,
        verdict=verdict,
        resampled=resampled,
        paired_rows=paired,
        same_data=not notes,
        data_notes=notes,
        spec_changes=changes,
        draws=draws,
    )
