"""Forecast accuracy metrics, one function each, and :func:`score` for a whole table.

Definitions (``y`` actuals, ``f`` forecasts, means over rows):

- MAE ``mean|y-f|``; RMSE ``sqrt(mean (y-f)^2)``;
- RMSLE ``sqrt(mean (log1p(max(f,0)) - log1p(y))^2)`` (the Recruit competition metric);
- WAPE ``sum|y-f| / sum y``; bias ``sum(f-y) / sum y`` (positive: over-forecast);
- sMAPE ``mean 2|y-f| / (|y|+|f|)`` as a fraction in [0, 2] (a row with ``y = f = 0`` counts 0);
- MASE ``mean |y-f| / scale`` where ``scale`` is the restaurant's in-sample seasonal-naive MAE
  (lag 7 days) on its training data (:func:`seasonal_scale`); rows without a positive scale are
  left out;
- coverage: the share of rows with ``lower <= y <= upper``; width: ``mean(upper - lower)``;
- pinball loss of quantile ``q`` at forecast ``f``: ``mean max(q (y-f), (q-1) (y-f))``.
  :func:`score` reports ``pinball_10``/``pinball_50``/``pinball_90`` with the 10% and 90%
  quantiles taken as the 80% interval's bounds (that is how Flux defines them) and the 50% one as
  the point forecast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from models import columns as c
from models.frames import interval_columns, levels_in

__all__ = [
    "METRICS",
    "OVERALL",
    "bias",
    "coverage",
    "mae",
    "mase",
    "mean_width",
    "pinball",
    "rmse",
    "rmsle",
    "score",
    "seasonal_scale",
    "smape",
    "wape",
]

OVERALL = "overall"
METRICS = ("mae", "rmse", "rmsle", "wape", "smape", "mase", "bias")
SCALE = "scale"
PINBALL_LEVEL = 80  # its bounds are the 10% and 90% quantiles
N = "n"
_SEASONAL_LAG = pd.Timedelta(days=7)


def _arrays(*values: npt.ArrayLike) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def mae(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Mean absolute error."""
    a, f = _arrays(y, yhat)
    return float(np.mean(np.abs(a - f)))


def rmse(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Root mean squared error."""
    a, f = _arrays(y, yhat)
    return float(np.sqrt(np.mean((a - f) ** 2)))


def rmsle(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Root mean squared log error, forecasts clipped at zero first."""
    a, f = _arrays(y, yhat)
    return float(np.sqrt(np.mean((np.log1p(np.maximum(f, 0.0)) - np.log1p(a)) ** 2)))


def wape(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Weighted absolute percentage error: ``sum|y-yhat| / sum y`` (NaN when ``sum y`` is 0)."""
    a, f = _arrays(y, yhat)
    return _ratio(float(np.sum(np.abs(a - f))), float(np.sum(a)))


def bias(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Relative bias ``sum(yhat-y) / sum y`` (positive: forecasts too high)."""
    a, f = _arrays(y, yhat)
    return _ratio(float(np.sum(f - a)), float(np.sum(a)))


def _smape_terms(a: np.ndarray, f: np.ndarray) -> np.ndarray:
    den = np.abs(a) + np.abs(f)
    safe = np.where(den > 0, den, 1.0)
    return np.where(den > 0, 2.0 * np.abs(a - f) / safe, 0.0)


def smape(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """Symmetric MAPE as a fraction in [0, 2]; rows with ``y = yhat = 0`` count as 0."""
    a, f = _arrays(y, yhat)
    return float(np.mean(_smape_terms(a, f)))


def _scaled_errors(a: np.ndarray, f: np.ndarray, scale: np.ndarray) -> np.ndarray:
    ok = np.isfinite(scale) & (scale > 0)
    return np.where(ok, np.abs(a - f) / np.where(ok, scale, 1.0), np.nan)


def mase(y: npt.ArrayLike, yhat: npt.ArrayLike, scale: npt.ArrayLike) -> float:
    """Mean absolute scaled error; ``scale`` is given per row (its restaurant's scale)."""
    a, f, s = _arrays(y, yhat, scale)
    errors = _scaled_errors(a, f, s)
    return float(np.nanmean(errors)) if np.isfinite(errors).any() else float("nan")


def coverage(y: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> float:
    """Share of rows inside ``[lower, upper]``."""
    a, lo, hi = _arrays(y, lower, upper)
    return float(np.mean((a >= lo) & (a <= hi)))


def _pinball_terms(a: np.ndarray, f: np.ndarray, q: float) -> np.ndarray:
    diff = a - f
    return np.asarray(np.maximum(q * diff, (q - 1.0) * diff), dtype=float)


def pinball(y: npt.ArrayLike, forecast: npt.ArrayLike, q: float) -> float:
    """Mean pinball (quantile) loss of ``forecast`` as the ``q`` quantile (0 < q < 1)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"pinball: the quantile must be between 0 and 1, got {q}")
    a, f = _arrays(y, forecast)
    return float(np.mean(_pinball_terms(a, f, q)))


def mean_width(lower: npt.ArrayLike, upper: npt.ArrayLike) -> float:
    """Mean interval width."""
    lo, hi = _arrays(lower, upper)
    return float(np.mean(hi - lo))


def seasonal_scale(series: pd.DataFrame, lag: pd.Timedelta = _SEASONAL_LAG) -> pd.Series:
    """Each restaurant's in-sample seasonal-naive MAE (the MASE denominator).

    The naive forecast of a row is the same restaurant's value ``lag`` earlier (by date, so closed
    days are skipped, never read as zeros); rows without such a value are left out.

    Args:
        series: Training rows ``restaurant_id, ds, y``.
        lag: The seasonal lag (7 days: the same weekday, or weekday and slot, a week earlier).

    Returns:
        The scale indexed by ``restaurant_id`` (named ``scale``); NaN with no lagged pairs.
    """
    rows = series[[c.RESTAURANT_ID, c.DS, c.Y]]
    lagged = rows.assign(**{c.DS: rows[c.DS] + lag}).rename(columns={c.Y: "_y_lag"})
    pairs = rows.merge(lagged, on=[c.RESTAURANT_ID, c.DS], how="inner")
    err = (pairs[c.Y] - pairs["_y_lag"]).abs()
    scale = err.groupby(pairs[c.RESTAURANT_ID]).mean()
    ids = pd.Index(rows[c.RESTAURANT_ID].unique(), name=c.RESTAURANT_ID)
    return scale.reindex(ids).rename(SCALE)


def _row_terms(frame: pd.DataFrame, levels: Sequence[int], scale: pd.Series | None) -> pd.DataFrame:
    """Per-row quantities whose group sums/means give every metric."""
    a = frame[c.Y].to_numpy(dtype=float)
    f = frame[c.YHAT].to_numpy(dtype=float)
    terms = {
        "_abs": np.abs(a - f),
        "_sq": (a - f) ** 2,
        "_sqlog": (np.log1p(np.maximum(f, 0.0)) - np.log1p(a)) ** 2,
        "_y": a,
        "_err": f - a,
        "_smape": _smape_terms(a, f),
        "_pin50": _pinball_terms(a, f, 0.5),
    }
    if scale is not None:
        per_row = frame[c.RESTAURANT_ID].map(scale).to_numpy(dtype=float)
        terms["_scaled"] = _scaled_errors(a, f, per_row)
    for level in levels:
        lo_col, hi_col = interval_columns(level)
        lo, hi = frame[lo_col].to_numpy(dtype=float), frame[hi_col].to_numpy(dtype=float)
        terms[f"_cov{level}"] = ((a >= lo) & (a <= hi)).astype(float)
        terms[f"_wid{level}"] = hi - lo
        if level == PINBALL_LEVEL:
            terms["_pin10"] = _pinball_terms(a, lo, 0.1)
            terms["_pin90"] = _pinball_terms(a, hi, 0.9)
    return pd.DataFrame(terms, index=frame.index)


def _aggregate(terms: pd.DataFrame, keys: list[pd.Series] | None) -> pd.DataFrame:
    """Metrics from the row terms, per group of ``keys`` (one row when None)."""
    grouped = (
        terms.groupby(keys, sort=True, dropna=False)
        if keys
        else terms.groupby(np.zeros(len(terms), dtype=int))
    )
    sums = grouped.sum(min_count=1)
    means = grouped.mean()
    out = pd.DataFrame(index=sums.index)
    out[N] = grouped.size()
    out["mae"] = means["_abs"]
    out["rmse"] = np.sqrt(means["_sq"])
    out["rmsle"] = np.sqrt(means["_sqlog"])
    y_sum = sums["_y"].where(sums["_y"] > 0)
    out["wape"] = sums["_abs"] / y_sum
    out["smape"] = means["_smape"]
    out["mase"] = means["_scaled"] if "_scaled" in terms else np.nan
    out["bias"] = sums["_err"] / y_sum
    for col in ("_pin10", "_pin50", "_pin90"):
        if col in terms:
            out[f"pinball_{col[4:]}"] = means[col]
    for col in terms.columns:
        if col.startswith("_cov"):
            out[f"coverage_{col[4:]}"] = means[col]
        elif col.startswith("_wid"):
            out[f"width_{col[4:]}"] = means[col]
    return out


def score(
    frame: pd.DataFrame,
    by: Sequence[str] = (c.MODEL,),
    levels: Sequence[int] = (80, 95),
    scale: pd.Series | None = None,
) -> pd.DataFrame:
    """Every metric per group of ``by``, plus "overall" rows.

    Args:
        frame: Rows with ``y``, ``yhat`` and the ``by`` columns (a backtest frame); interval
            columns ``yhat_lower_<L>``/``yhat_upper_<L>`` give coverage and width per level.
        by: Grouping columns, e.g. ``["model"]``, ``["model", "cutoff"]``,
            ``["model", "restaurant_id"]``. Empty: one "overall" row.
        levels: Interval levels to score; levels without columns in ``frame`` are skipped.
        scale: Per-restaurant MASE scale (:func:`seasonal_scale`); without it ``mase`` is NaN.

    Returns:
        One row per group (columns ``by``, ``n``, the metrics, ``coverage_<L>``, ``width_<L>``).
        When ``by`` has two or more columns, each value of the first column also gets a row
        pooling all its rows, with the other ``by`` columns set to ``"overall"`` (e.g. a model
        over all folds). With one column, no extra row is added; with none, the single row has
        ``group = "overall"``.
    """
    by = list(by)
    present = [lvl for lvl in levels if lvl in set(levels_in(frame))]
    terms = _row_terms(frame, present, scale)
    if not by:
        return _aggregate(terms, None).reset_index(drop=True).assign(group=OVERALL)
    table = _aggregate(terms, [frame[col] for col in by]).reset_index()
    table.columns = [*by, *table.columns[len(by) :]]
    if len(by) > 1:
        pooled = _aggregate(terms, [frame[by[0]]]).reset_index()
        pooled.columns = [by[0], *pooled.columns[1:]]
        pooled = pooled.assign(**dict.fromkeys(by[1:], OVERALL))[table.columns]
        table = pd.concat([table.astype(dict.fromkeys(by[1:], object)), pooled])
    return table.reset_index(drop=True)
