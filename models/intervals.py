"""Split-conformal prediction intervals by horizon step, in log1p space.

A model is fitted on rows up to ``cutoff - H`` and predicts the validation window
``(cutoff - H, cutoff]`` (only rows that exist: closed days are absent). Each validation row gives
a residual ``log1p(y) - log1p(yhat)`` at its step (periods since the validation origin, 1-based).
Per model and step, the interval bounds are finite-sample conformal quantiles of those residuals;
a step with too few residuals borrows its neighbours' (the window widens symmetrically until it
holds enough). The result is a tidy *residual table* ``model, step, level, lower_q, upper_q, n``
that can be written as CSV or JSON into an artefact and applied to any later forecast with
:func:`apply_intervals` (``expm1(log1p(yhat) + q)``, clipped at zero, always containing yhat and
the narrower levels' intervals). :func:`with_quantiles` reads quantiles off the intervals.
Steps beyond the table's last step reuse the last step's quantiles.

:class:`Calibrated` wraps any forecaster with this procedure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd
from sklearn.base import clone

from models import columns as c
from models.base import Calendar, Forecaster, check_fitted
from models.frames import (
    SERVED_BY,
    STEP,
    ForecastFrame,
    FrameError,
    Freq,
    SeriesFrame,
    interval_columns,
    levels_in,
)

__all__ = [
    "TABLE_COLUMNS",
    "Calibrated",
    "apply_intervals",
    "conformal_table",
    "default_horizon",
    "effective_horizon",
    "empty_validation",
    "period",
    "pooled_table",
    "quantile_column",
    "quantile_columns_in",
    "residuals",
    "steps",
    "table_from_records",
    "table_to_records",
    "validation_residuals",
    "validation_split",
    "validation_windows",
    "with_quantiles",
]

LEVEL = "level"
LOWER_Q = "lower_q"
UPPER_Q = "upper_q"
N = "n"
RESIDUAL = "residual"
TABLE_COLUMNS = (c.MODEL, STEP, LEVEL, LOWER_Q, UPPER_Q, N)
MIN_COUNT = 30
_PERIODS: dict[str, pd.Timedelta] = {
    "D": pd.Timedelta(days=1),
    "h": pd.Timedelta(hours=1),
    "15min": pd.Timedelta(minutes=15),
}
_VALIDATION_DAYS = 28


def period(freq: Freq) -> pd.Timedelta:
    """The length of one period of ``freq``."""
    return _PERIODS[freq]


def default_horizon(freq: Freq) -> int:
    """The default validation window: 28 days, in periods of ``freq``."""
    return int(pd.Timedelta(days=_VALIDATION_DAYS) / period(freq))


def effective_horizon(series: SeriesFrame, requested: int | None) -> int:
    """The validation window in periods: ``requested`` (default 28 days' worth), shortened to
    half the series' span so that a short series keeps training rows (0: no validation)."""
    horizon = requested or default_horizon(series.freq)
    ds = series.data[c.DS]
    span = int((ds.max() - ds.min()) / period(series.freq)) if len(ds) else 0
    return max(0, min(horizon, span // 2))


def steps(ds: pd.Series, cutoff: pd.Timestamp | pd.Series, freq: Freq) -> np.ndarray:
    """Periods since ``cutoff`` (1 for the first period after it)."""
    delta = (pd.to_datetime(ds) - cutoff) / period(freq)
    return np.ceil(delta.to_numpy(dtype=float)).astype(np.int64)


def validation_split(
    series: SeriesFrame, horizon: int
) -> tuple[SeriesFrame, SeriesFrame, pd.Timestamp]:
    """Training rows ``<= cutoff - horizon``, validation rows after, and that origin."""
    cutoff = pd.Timestamp(series.data[c.DS].max())
    origin = cutoff - horizon * period(series.freq)
    return series.until(origin), series.between(origin, cutoff), origin


FEW_ROWS = 1000
"""Below this many rows in the latest validation window (one or a few restaurants), three
back-to-back windows are used instead of one: a single short window holds too few residuals and
too little evidence to choose weights. A fleet's latest window already holds thousands of rows;
there more windows cost a round of fits each and, measured on 40 Recruit restaurants, did not
help (fold 2's RMSLE went from 0.502 to 0.522 with two windows)."""


def default_origins(series: SeriesFrame, horizon: int) -> int:
    """How many validation windows to use when a model is not told: 3 for small data (fewer
    than :data:`FEW_ROWS` rows in the latest window), else 1."""
    latest = validation_windows(series, horizon, 1)
    return 3 if latest and len(latest[0][1]) < FEW_ROWS else 1


def validation_windows(
    series: SeriesFrame, horizon: int, origins: int
) -> list[tuple[SeriesFrame, SeriesFrame, pd.Timestamp]]:
    """``(train, valid, origin)`` of up to ``origins`` back-to-back validation windows of
    ``horizon`` periods, the latest (ending at the series' last date) first.

    Residuals from several origins describe the spread of errors better than one window (a
    long stable history's last four weeks can be unusually calm; one restaurant's single window
    holds too few residuals). A window before the latest needs at least ``horizon`` periods of
    history before its origin; the first window that lacks it ends the list.
    """
    if horizon < 1:
        return []
    train, valid, origin = validation_split(series, horizon)
    if len(train) == 0 or len(valid) == 0:
        return []
    windows = [(train, valid, origin)]
    unit = period(series.freq)
    first = pd.Timestamp(series.data[c.DS].min())
    for k in range(2, origins + 1):
        start = origin - (k - 1) * horizon * unit
        if start - first < horizon * unit:
            break
        before = series.until(start)
        window = series.between(start, start + horizon * unit)
        if len(before) == 0 or len(window) == 0:
            break
        windows.append((before, window, start))
    return windows


def residuals(frame: pd.DataFrame) -> pd.DataFrame:
    """``model, step, residual`` with ``residual = log1p(y) - log1p(yhat)``.

    Args:
        frame: Validation rows with ``model``, ``step``, ``y`` and ``yhat``.
    """
    y = frame[c.Y].to_numpy(dtype=float)
    yhat = np.maximum(frame[c.YHAT].to_numpy(dtype=float), 0.0)
    return pd.DataFrame(
        {
            c.MODEL: frame[c.MODEL].to_numpy(),
            STEP: frame[STEP].to_numpy(dtype=np.int64),
            RESIDUAL: np.log1p(y) - np.log1p(yhat),
        }
    )


def _needed(level: int, min_count: int) -> int:
    """Residuals needed so the conformal upper order statistic exists (39 for 95%)."""
    return max(min_count, -(-(100 + level) // (100 - level)))


def _conformal_bounds(sorted_r: np.ndarray, level: int) -> tuple[float, float]:
    """Finite-sample conformal lower/upper quantiles of sorted residuals.

    With ``a = 1 - level/100``, the upper bound is the ``ceil((n+1)(1-a/2))``-th smallest
    residual and the lower one the ``floor((n+1)a/2)``-th (1-based, in exact integer arithmetic;
    clamped to the sample when ``n`` is too small).
    """
    n = len(sorted_r)
    k_hi = min(-(-(n + 1) * (100 + level) // 200), n)
    k_lo = max((n + 1) * (100 - level) // 200, 1)
    return float(sorted_r[k_lo - 1]), float(sorted_r[k_hi - 1])


def _pooled_window(counts: np.ndarray, s: int, need: int) -> tuple[int, int]:
    """Index range ``[lo, hi]`` of steps around step index ``s`` holding >= ``need`` residuals."""
    lo = hi = s
    total = int(counts[s])
    last = len(counts) - 1
    while total < need and (lo > 0 or hi < last):
        if lo > 0:
            lo -= 1
            total += int(counts[lo])
        if hi < last:
            hi += 1
            total += int(counts[hi])
    return lo, hi


def _model_table(
    model: str, res: pd.DataFrame, levels: Sequence[int], min_count: int
) -> list[dict[str, object]]:
    """Table rows for one model's residuals (steps 1 .. its last step)."""
    res = res.sort_values([STEP, RESIDUAL])
    step_values = res[STEP].to_numpy(dtype=np.int64)
    values = res[RESIDUAL].to_numpy(dtype=float)
    last_step = int(step_values.max())
    counts = np.bincount(np.clip(step_values, 1, None) - 1, minlength=last_step)
    starts = np.concatenate([[0], np.cumsum(counts)])
    rows: list[dict[str, object]] = []
    for level in levels:
        need = _needed(level, min_count)
        for s in range(last_step):
            lo, hi = _pooled_window(counts, s, need)
            window = np.sort(values[starts[lo] : starts[hi + 1]])
            lower_q, upper_q = _conformal_bounds(window, level)
            rows.append(
                {
                    c.MODEL: model,
                    STEP: s + 1,
                    LEVEL: level,
                    LOWER_Q: lower_q,
                    UPPER_Q: upper_q,
                    N: len(window),
                }
            )
    return rows


def conformal_table(
    res: pd.DataFrame, levels: Sequence[int] = (80, 95), min_count: int = MIN_COUNT
) -> pd.DataFrame:
    """The residual table: conformal quantiles per model, step and level.

    Args:
        res: ``model, step, residual`` rows (:func:`residuals`).
        levels: Central interval levels in percent.
        min_count: Minimum residuals per step; fewer borrow neighbouring steps (at least
            enough for the level's conformal quantile to exist, e.g. 39 for 95%).

    Returns:
        ``model, step, level, lower_q, upper_q, n`` (``n``: residuals behind the row).
    """
    bad = [lvl for lvl in levels if not (isinstance(lvl, int | np.integer) and 0 < lvl < 100)]
    if bad:
        raise ValueError(f"interval levels must be integers between 0 and 100, got {bad}")
    res = res[np.isfinite(res[RESIDUAL].to_numpy(dtype=float))]
    rows: list[dict[str, object]] = []
    for model, group in res.groupby(c.MODEL, sort=True):
        rows.extend(_model_table(str(model), group, levels, min_count))
    return _typed(pd.DataFrame(rows, columns=list(TABLE_COLUMNS)))


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    return table.astype(
        {c.MODEL: str, STEP: np.int64, LEVEL: np.int64, LOWER_Q: float, UPPER_Q: float, N: np.int64}
    ).reset_index(drop=True)


def table_to_records(table: pd.DataFrame) -> list[dict[str, object]]:
    """The residual table as JSON-ready records."""
    return [
        {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in table[list(TABLE_COLUMNS)].to_dict(orient="records")
    ]


def table_from_records(records: Sequence[dict[str, object]] | pd.DataFrame) -> pd.DataFrame:
    """A residual table from records (JSON) or a frame (CSV), validated.

    Raises:
        FrameError: a column is missing or a lower bound exceeds its upper bound.
    """
    table = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    missing = [col for col in TABLE_COLUMNS if col not in table.columns]
    if missing:
        raise FrameError(f"residual table: missing column(s) {', '.join(missing)}")
    table = _typed(table[list(TABLE_COLUMNS)])
    if (table[LOWER_Q] > table[UPPER_Q]).any():
        raise FrameError("residual table: lower_q above upper_q")
    return table


def _envelope(table: pd.DataFrame) -> pd.DataFrame:
    """The widest bounds over all models per step and level (for a model without a table)."""
    last = int(table[STEP].max())
    parts = []
    for level in table[LEVEL].unique().tolist():
        for _, group in table[table[LEVEL] == level].groupby(c.MODEL):
            grid = group.set_index(STEP)[[LOWER_Q, UPPER_Q]].reindex(range(1, last + 1)).ffill()
            grid[LEVEL] = int(level)
            parts.append(grid)
    wide = pd.concat(parts).reset_index(names=STEP)
    return pd.DataFrame(
        wide.groupby([LEVEL, STEP], as_index=False).agg({LOWER_Q: "min", UPPER_Q: "max"})
    )


def _bounds_for(keys: pd.DataFrame, table: pd.DataFrame, level: int) -> pd.DataFrame:
    """``lower_q, upper_q`` for each row of ``keys`` (``_who``, ``step``) at ``level``."""
    tab = table[table[LEVEL] == level]
    last = tab.groupby(c.MODEL)[STEP].max()
    known = keys["_who"].isin(last.index)
    clipped = np.clip(keys[STEP].to_numpy(), 1, None)
    model_step = np.minimum(clipped, keys["_who"].map(last).fillna(1).to_numpy(dtype=np.int64))
    own = pd.DataFrame({c.MODEL: keys["_who"].to_numpy(), STEP: model_step})
    own = own.merge(tab[[c.MODEL, STEP, LOWER_Q, UPPER_Q]], on=[c.MODEL, STEP], how="left")
    env = _envelope(table)
    env = env[env[LEVEL] == level]
    env_step = np.minimum(clipped, int(env[STEP].max()))
    other = pd.DataFrame({STEP: env_step}).merge(env[[STEP, LOWER_Q, UPPER_Q]], on=STEP, how="left")
    lower = np.where(known, own[LOWER_Q].to_numpy(), other[LOWER_Q].to_numpy())
    upper = np.where(known, own[UPPER_Q].to_numpy(), other[UPPER_Q].to_numpy())
    return pd.DataFrame({LOWER_Q: lower, UPPER_Q: upper}, index=keys.index)


def apply_intervals(
    forecast: ForecastFrame,
    table: pd.DataFrame,
    levels: Sequence[int] = (80, 95),
    *,
    cutoff: pd.Timestamp | None = None,
    freq: Freq = "D",
) -> ForecastFrame:
    """Adds ``yhat_lower_<L>``/``yhat_upper_<L>`` to a forecast from a residual table.

    Each row uses the table of the model that produced it (``served_by`` when present, else
    ``model``); a model missing from the table gets the widest bounds of the models in it.

    Args:
        forecast: Point forecasts; a ``step`` column, or ``cutoff`` to compute it.
        table: A residual table (:func:`conformal_table`).
        levels: Levels to add; each must be in the table.
        cutoff: The forecast origin, when ``forecast`` has no ``step`` column.
        freq: The series frequency (for steps from ``cutoff``).

    Raises:
        ValueError: no step information, or a level missing from the table.
    """
    data = forecast.data.copy()
    if STEP not in data.columns:
        if cutoff is None:
            raise ValueError("apply_intervals needs a 'step' column or a cutoff")
        data[STEP] = steps(data[c.DS], cutoff, freq)
    who = data[SERVED_BY] if SERVED_BY in data.columns else data[c.MODEL]
    keys = pd.DataFrame(
        {"_who": who.astype(str), STEP: data[STEP].astype(np.int64)}, index=data.index
    )
    yhat = data[c.YHAT].to_numpy(dtype=float)
    log_yhat = np.log1p(yhat)
    inner_lo, inner_hi = yhat, yhat
    for level in sorted(levels):  # a wider interval always contains the narrower ones
        if data.empty:
            lo = hi = yhat
        else:
            if not (table[LEVEL] == level).any():
                raise ValueError(f"the residual table has no {level}% level")
            q = _bounds_for(keys, table, level)
            lo = np.clip(np.expm1(log_yhat + q[LOWER_Q].to_numpy()), 0.0, None)
            lo = np.minimum(lo, inner_lo)
            hi = np.maximum(np.expm1(log_yhat + q[UPPER_Q].to_numpy()), inner_hi)
        inner_lo, inner_hi = lo, hi
        lo_col, hi_col = interval_columns(level)
        data[lo_col], data[hi_col] = lo, hi
    return ForecastFrame.from_frame(data)


QUANTILE_PREFIX = "yhat_q"


def quantile_column(q: float) -> str:
    """The column of quantile ``q``: ``yhat_q10`` for 0.1, ``yhat_q2.5`` for 0.025."""
    return f"{QUANTILE_PREFIX}{round(q * 100, 6):g}"


def quantile_columns_in(frame: pd.DataFrame) -> list[str]:
    """The quantile columns of a forecast frame."""
    return [str(col) for col in frame.columns if str(col).startswith(QUANTILE_PREFIX)]


def with_quantiles(frame: pd.DataFrame, quantiles: Sequence[float]) -> pd.DataFrame:
    """Adds a ``yhat_q<100q>`` column per quantile, consistent with the intervals.

    The intervals define the quantiles: a central ``L``% interval's bounds are the
    ``(1 - L/100)/2`` and ``(1 + L/100)/2`` quantiles (the 80% interval: 0.1 and 0.9) and the
    point forecast is the median. Those quantiles are the columns' values exactly; a quantile in
    between is interpolated linearly in probability on the log1p scale between its neighbours.
    Each row's quantiles are non-decreasing in ``q``.

    Args:
        frame: Forecast rows with ``yhat`` and ``yhat_lower_<L>``/``yhat_upper_<L>``.
        quantiles: Probabilities strictly between 0 and 1.

    Raises:
        ValueError: a quantile outside (0, 1), or outside the widest interval's range.
    """
    bad = [q for q in quantiles if not 0.0 < q < 1.0]
    if bad:
        raise ValueError(f"quantiles must be between 0 and 1 (exclusive), got {bad}")
    anchors: dict[float, np.ndarray] = {0.5: frame[c.YHAT].to_numpy(dtype=float)}
    for level in levels_in(frame):
        lo, hi = interval_columns(level)
        anchors[round(0.5 - level / 200, 10)] = frame[lo].to_numpy(dtype=float)
        anchors[round(0.5 + level / 200, 10)] = frame[hi].to_numpy(dtype=float)
    probs = np.array(sorted(anchors))
    values = np.maximum.accumulate(np.column_stack([anchors[p] for p in probs]), axis=1)
    outside = [q for q in quantiles if q < probs[0] - 1e-12 or q > probs[-1] + 1e-12]
    if outside:
        raise ValueError(
            f"quantile(s) {outside} outside {probs[0]:g}..{probs[-1]:g}, the range the "
            "forecast's intervals cover"
        )
    out = frame.copy()
    for q in quantiles:
        exact = np.flatnonzero(np.isclose(probs, q, rtol=0.0, atol=1e-12))
        if len(exact):
            out[quantile_column(q)] = values[:, exact[0]]
            continue
        j = int(np.searchsorted(probs, q)) - 1
        t = (q - probs[j]) / (probs[j + 1] - probs[j])
        low, high = np.log1p(values[:, j]), np.log1p(values[:, j + 1])
        out[quantile_column(q)] = np.expm1((1.0 - t) * low + t * high)
    return out


def pooled_table(
    validation: pd.DataFrame, levels: Sequence[int] = (80, 95), min_count: int = MIN_COUNT
) -> pd.DataFrame:
    """The residual table of validation rows (:data:`VALIDATION_COLUMNS`), pooled over every
    restaurant in them: what :class:`Calibrated` learns, and what a sharded backtest computes
    once from the validation rows of all its shards."""
    return conformal_table(residuals(validation), levels, min_count)


VALIDATION_COLUMNS = (c.RESTAURANT_ID, c.DS, c.MODEL, c.Y, c.YHAT, STEP)


def empty_validation() -> pd.DataFrame:
    """A validation frame without rows."""
    return pd.DataFrame({col: pd.Series(dtype=object) for col in VALIDATION_COLUMNS})


def validation_residuals(
    forecaster: Forecaster,
    series: SeriesFrame,
    calendar: Calendar | None,
    horizon: int,
    origins: int = 1,
) -> pd.DataFrame:
    """Validation predictions of clones of ``forecaster`` fitted at each origin of
    :func:`validation_windows`: ``restaurant_id, ds, model, y, yhat, step`` for the validation
    rows they could forecast (empty when none)."""
    parts = []
    for train, valid, origin in validation_windows(series, horizon, origins):
        model: Forecaster = clone(forecaster).fit(train, calendar)
        pred = model.predict(valid.data[[c.RESTAURANT_ID, c.DS]]).data
        out = pred.merge(valid.data, on=[c.RESTAURANT_ID, c.DS], how="inner")
        out[STEP] = steps(out[c.DS], origin, series.freq)
        parts.append(out[list(VALIDATION_COLUMNS)])
    if not parts:
        return empty_validation()
    return pd.DataFrame(pd.concat(parts, ignore_index=True))


class Calibrated(Forecaster):
    """Any forecaster plus conformal intervals learned on a validation window.

    ``fit`` fits a clone on rows ``<= cutoff - H``, predicts the rows of ``(cutoff - H, cutoff]``
    that exist (and likewise at ``validation_origins - 1`` earlier origins, see
    :func:`validation_windows`), builds the residual table (``table_``) from all their residuals
    and then fits another clone on the whole series (``estimator_``). ``predict`` returns that
    clone's forecast (its own ``model`` name) with intervals. Without validation rows the
    forecast carries no interval columns.

    Args:
        forecaster: The (unfitted) forecaster to calibrate.
        validation_horizon: ``H`` in periods; default 28 days' worth.
        levels: Interval levels in percent.
        min_count: Minimum residuals per step before pooling neighbouring steps.
        validation_origins: Back-to-back validation windows whose residuals are pooled; None:
            :func:`default_origins`.
    """

    name = "calibrated"

    def __init__(
        self,
        forecaster: Forecaster,
        validation_horizon: int | None = None,
        levels: Sequence[int] = (80, 95),
        min_count: int = MIN_COUNT,
        validation_origins: int | None = None,
    ) -> None:
        """Stores the settings."""
        self.forecaster = forecaster
        self.validation_horizon = validation_horizon
        self.levels = levels
        self.min_count = min_count
        self.validation_origins = validation_origins

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        horizon = effective_horizon(series, self.validation_horizon)
        try:
            origins = self.validation_origins or default_origins(series, horizon)
            self.validation_ = validation_residuals(
                self.forecaster, series, calendar, horizon, origins
            )
        except Exception as exc:
            self.validation_error_ = f"{type(exc).__name__}: {exc}"
            self.validation_ = empty_validation()
        self.table_ = pooled_table(self.validation_, self.levels, self.min_count)
        self.estimator_: Forecaster = clone(self.forecaster).fit(series, calendar)
        self.failed_ = dict(self.estimator_.failed_)

    def fit(
        self,
        series: SeriesFrame,
        calendar: Calendar | None = None,
        *,
        earlier: Forecaster | None = None,
    ) -> Self:
        """Fits the validation clone, the residual table and the final clone (``earlier`` is
        not used: the validation clone is fitted here)."""
        return super().fit(series, calendar, earlier=earlier)

    def predict_point(self, future: pd.DataFrame) -> ForecastFrame:
        """The wrapped forecaster's forecast without intervals (to calibrate elsewhere, e.g.
        on validation rows pooled over several fits: a sharded backtest)."""
        check_fitted(self, "estimator_", "Calibrated")
        return self.estimator_.predict(future)

    def predict(self, future: pd.DataFrame) -> ForecastFrame:
        """The wrapped forecaster's forecast with ``yhat_lower_<L>``/``yhat_upper_<L>``."""
        point = self.predict_point(future)
        if self.table_.empty:
            return point
        return apply_intervals(
            point, self.table_, self.levels, cutoff=self.cutoff_, freq=self.freq_
        )
