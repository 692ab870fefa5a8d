"""Leakage-free features for global models: the direct, origin-based scheme.

A row describes one target ``(restaurant_id, ds)`` seen from one forecast origin (``cutoff``),
``ds = cutoff + step``. Every history feature of the row is computed only from rows with
``ds <= cutoff``; the target date contributes only what is known in advance (weekday, month,
holidays and events, closures) and the restaurant its static attributes. Training frames stack
rows from many historical origins (:func:`make_training_frame`); prediction uses the series'
own cutoff as the origin (:func:`make_prediction_frame`). :func:`features_at` drops every row
after the cutoff before computing anything, which makes the absence of leakage easy to test.

History statistics are computed on ``log1p(y)`` of observed (open) days only; missing days are
closures, never zeros. Internally the series becomes a dense restaurants × days matrix with NaN
for missing days, so each statistic is one numpy reduction over a window of columns that ends at
the origin.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models import columns as c
from models.base import Calendar
from models.calendar_features import calendar_features, day_numbers
from models.frames import STEP, SeriesFrame

__all__ = [
    "DATE_FEATURES",
    "HISTORY_COUNT",
    "HISTORY_FEATURES",
    "KEY_COLUMNS",
    "STATIC_EXCLUDED",
    "WEEKDAY_FEATURES",
    "OriginState",
    "feature_names",
    "features_at",
    "features_from_state",
    "make_prediction_frame",
    "make_training_frame",
    "origin_state",
    "origins_before",
    "static_categories",
]

KEY_COLUMNS = (c.RESTAURANT_ID, c.DS, c.CUTOFF, c.Y)
DATE_FEATURES = ("weekday", "month", "day_of_month", "week_of_year", "day_of_year")
WEEKDAY_FEATURES = ("sw_last", "sw_mean_4", "sw_mean_8", "sw_median_8", "sw_count_8", "wd_profile")
HISTORY_FEATURES = (
    "mean_7", "median_7", "mean_28", "median_28", "mean_91", "median_91", "std_28",
    "trend_7_28", "trend_28_91", "count_28", "count_91", "last_value", "days_since_last",
    "history_days", "history_count",
)  # fmt: skip
HISTORY_COUNT = "history_count"
# Restaurant columns that identify rather than describe (never static features).
STATIC_EXCLUDED = (
    c.RESTAURANT_ID, c.NAME, c.TIMEZONE, c.SUBDIVISION, c.CUTOFF_HOUR, c.POS_PROVIDER,
    c.POS_LOCATION_ID,
)  # fmt: skip
_WEEKS_PROFILE = 13
_MISSING = "\x00missing"
# The value of a history feature for a restaurant without history at the origin (else NaN).
_NO_HISTORY = {HISTORY_COUNT: 0.0, "history_days": 0.0}


# --- the dense panel ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Panel:
    """log1p(y) as a restaurants × days matrix (NaN: no row), with running helpers.

    Every helper column ``j`` depends only on columns ``<= j``.
    """

    ids: np.ndarray  # restaurant ids, sorted
    first_day: int  # day number of column 0
    values: np.ndarray  # (R, T) log1p(y)
    last_obs: np.ndarray  # (R, T) index of the last observed column <= j, -1 if none
    count: np.ndarray  # (R, T) observed columns <= j
    same_weekday_last: np.ndarray  # (R, T) last observed value at a column <= j, same weekday
    first_obs: np.ndarray  # (R,) first observed column (T if none)

    @classmethod
    def build(cls, data: pd.DataFrame, last_day: int) -> _Panel:
        """A panel of every row of ``data`` (``restaurant_id, ds, y``) up to ``last_day``."""
        days = day_numbers(data[c.DS])
        keep = days <= last_day
        days = days[keep]
        codes, ids = pd.factorize(data[c.RESTAURANT_ID].astype(str)[keep], sort=True)
        first = int(days.min()) if len(days) else last_day
        values = np.full((len(ids), last_day - first + 1), np.nan)
        values[codes, days - first] = np.log1p(data[c.Y].to_numpy(dtype=float)[keep])
        observed = ~np.isnan(values)
        cols = np.arange(values.shape[1])
        last_obs = np.maximum.accumulate(np.where(observed, cols, -1), axis=1)
        first_obs = np.where(observed.any(axis=1), observed.argmax(axis=1), values.shape[1])
        return cls(
            ids=np.asarray(ids, dtype=object),
            first_day=first,
            values=values,
            last_obs=last_obs,
            count=np.cumsum(observed, axis=1),
            same_weekday_last=_ffill_by_weekday(values),
            first_obs=first_obs,
        )

    def column(self, day: int) -> int:
        """The column of a day number."""
        return day - self.first_day

    def codes(self, restaurant_ids: pd.Series) -> np.ndarray:
        """Each id's row in the panel (-1 when the panel does not know it)."""
        lookup = pd.Index(self.ids)
        return np.asarray(lookup.get_indexer(restaurant_ids.astype(str)), dtype=np.int64)


def _ffill_by_weekday(values: np.ndarray) -> np.ndarray:
    """Forward fill along columns 7 apart (each weekday's last observed value so far)."""
    out = values.copy()
    for start in range(7):
        sub = values[:, start::7]
        idx = np.where(np.isnan(sub), 0, np.arange(sub.shape[1]))
        idx = np.maximum.accumulate(idx, axis=1)
        out[:, start::7] = np.take_along_axis(sub, idx, axis=1)
    return out


# --- statistics at one origin -------------------------------------------------------------------


def _window(values: np.ndarray, end_col: int, width: int) -> np.ndarray:
    """Columns ``end_col - width + 1 .. end_col`` (NaN-padded on the left)."""
    start = end_col - width + 1
    if start >= 0:
        return values[:, start : end_col + 1]
    pad = np.full((values.shape[0], -start), np.nan)
    return np.concatenate([pad, values[:, : end_col + 1]], axis=1)


def _nan_stats(window: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, median, count) of non-NaN values along ``axis`` (NaN where none)."""
    count = (~np.isnan(window)).sum(axis=axis)
    total = np.where(np.isnan(window), 0.0, window).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return mean, _nan_median(window, count, axis), count.astype(float)


def _nan_median(window: np.ndarray, count: np.ndarray, axis: int) -> np.ndarray:
    """The median of non-NaN values along ``axis`` (``np.sort`` puts NaN last); NaN if none.

    ``np.nanmedian`` goes through masked arrays for short axes, which is far slower.
    """
    ordered = np.sort(window, axis=axis)
    low = np.expand_dims(np.maximum(count - 1, 0) // 2, axis)
    high = np.expand_dims(np.maximum(count, 1) // 2, axis)
    middle = np.take_along_axis(ordered, low, axis) + np.take_along_axis(ordered, high, axis)
    return np.where(count > 0, np.squeeze(middle, axis) / 2, np.nan)


def _nan_std(window: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(window, axis=1)


def _by_weekday(panel: _Panel, col: int, weeks: int) -> np.ndarray:
    """The last ``weeks`` weeks ending at ``col`` as (R, weeks, 7), the last axis by weekday."""
    win = _window(panel.values, col, 7 * weeks).reshape(panel.values.shape[0], weeks, 7)
    first_weekday = _weekday(panel.first_day + col - 7 * weeks + 1)
    return np.roll(win, first_weekday, axis=2)


def _weekday(day: int | np.ndarray) -> np.ndarray:
    """Monday = 0 for day numbers (1970-01-01 was a Thursday)."""
    return np.asarray((np.asarray(day) + 3) % 7, dtype=np.int64)


def _level_state(panel: _Panel, col: int) -> dict[str, np.ndarray]:
    """Per-restaurant statistics at the origin column ``col`` (shape (R,))."""
    state: dict[str, np.ndarray] = {}
    for width in (7, 28, 91):
        mean, median, count = _nan_stats(_window(panel.values, col, width), axis=1)
        state[f"mean_{width}"], state[f"median_{width}"] = mean, median
        if width > 7:
            state[f"count_{width}"] = count
    state["std_28"] = _nan_std(_window(panel.values, col, 28))
    state["trend_7_28"] = state["mean_7"] - state["mean_28"]
    state["trend_28_91"] = state["mean_28"] - state["mean_91"]
    last = panel.last_obs[:, col]
    rows = np.arange(len(last))
    state["last_value"] = np.where(last >= 0, panel.values[rows, np.maximum(last, 0)], np.nan)
    state["days_since_last"] = np.where(last >= 0, col - last, np.nan)
    state["history_days"] = np.where(panel.first_obs <= col, col - panel.first_obs + 1, 0.0)
    state[HISTORY_COUNT] = panel.count[:, col].astype(float)
    return state


def _weekday_state(panel: _Panel, col: int) -> dict[str, np.ndarray]:
    """Per-restaurant, per-weekday statistics at the origin column ``col`` (shape (R, 7))."""
    weeks = _by_weekday(panel, col, _WEEKS_PROFILE)
    mean_8, median_8, count_8 = _nan_stats(weeks[:, -8:, :], axis=1)
    mean_4 = _nan_stats(weeks[:, -4:, :], axis=1)[0]
    profile_by_day, _, _ = _nan_stats(weeks, axis=1)
    overall = _nan_stats(weeks.reshape(len(weeks), -1), axis=1)[0]
    # The last column <= col of each weekday, and its forward-filled value.
    last_cols = col - (_weekday(panel.first_day + col) - np.arange(7)) % 7
    sw_last = np.full((len(weeks), 7), np.nan)
    valid = last_cols >= 0
    sw_last[:, valid] = panel.same_weekday_last[:, last_cols[valid]]
    return {
        "sw_last": sw_last,
        "sw_mean_4": mean_4,
        "sw_mean_8": mean_8,
        "sw_median_8": median_8,
        "sw_count_8": count_8,
        "wd_profile": profile_by_day - overall[:, None],
    }


# --- rows ---------------------------------------------------------------------------------------


def _date_features(days: np.ndarray) -> dict[str, np.ndarray]:
    dates = pd.DatetimeIndex(days.astype("datetime64[D]"))
    return {
        "weekday": _weekday(days),
        "month": dates.month.to_numpy(),
        "day_of_month": dates.day.to_numpy(),
        "week_of_year": dates.isocalendar().week.to_numpy(dtype=np.int64),
        "day_of_year": dates.day_of_year.to_numpy(),
    }


@dataclass(frozen=True)
class OriginState:
    """What the history says at one origin, per restaurant (all from rows ``ds <= origin``).

    Attributes:
        origin: the forecast origin (cutoff).
        ids: restaurant ids, sorted.
        level: (restaurants, len(HISTORY_FEATURES)) history statistics.
        weekday: (restaurants, 7, len(WEEKDAY_FEATURES)) statistics by weekday (Monday = 0).
    """

    origin: pd.Timestamp
    ids: tuple[str, ...]
    level: np.ndarray
    weekday: np.ndarray

    def rows(self, keys: pd.DataFrame) -> pd.DataFrame:
        """``step`` and the history features of ``restaurant_id, ds`` rows (aligned)."""
        ids = pd.Index(keys[c.RESTAURANT_ID].astype(str))
        codes = np.asarray(pd.Index(self.ids).get_indexer(ids))
        days = day_numbers(keys[c.DS])
        origin = int(day_numbers([self.origin])[0])
        known = codes >= 0
        safe = np.where(known, codes, 0)
        weekday = _weekday(days)
        out: dict[str, np.ndarray] = {STEP: (days - origin).astype(float)}
        for j, name in enumerate(HISTORY_FEATURES):
            out[name] = np.where(known, self.level[safe, j], _NO_HISTORY.get(name, np.nan))
        for j, name in enumerate(WEEKDAY_FEATURES):
            out[name] = np.where(known, self.weekday[safe, weekday, j], np.nan)
        return pd.DataFrame(out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (floats round-trip exactly through ``json``)."""
        return {
            "origin": self.origin.isoformat(),
            "ids": list(self.ids),
            "level_features": list(HISTORY_FEATURES),
            "weekday_features": list(WEEKDAY_FEATURES),
            "level": self.level.tolist(),
            "weekday": self.weekday.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OriginState:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValueError: the state was written with other feature names.
        """
        if (
            tuple(data["level_features"]) != HISTORY_FEATURES
            or tuple(data["weekday_features"]) != WEEKDAY_FEATURES
        ):
            raise ValueError("origin state: written with other history features")
        n = len(data["ids"])
        return cls(
            origin=pd.Timestamp(data["origin"]),
            ids=tuple(str(i) for i in data["ids"]),
            level=np.asarray(data["level"], dtype=float).reshape(n, len(HISTORY_FEATURES)),
            weekday=np.asarray(data["weekday"], dtype=float).reshape(n, 7, len(WEEKDAY_FEATURES)),
        )


def _state_at(panel: _Panel, origin: int) -> OriginState:
    col = panel.column(origin)
    level, weekly = _level_state(panel, col), _weekday_state(panel, col)
    return OriginState(
        origin=pd.Timestamp(np.datetime64(origin, "D")),
        ids=tuple(str(i) for i in panel.ids),
        level=np.stack([level[name] for name in HISTORY_FEATURES], axis=1),
        weekday=np.stack([weekly[name] for name in WEEKDAY_FEATURES], axis=2),
    )


def origin_state(series: SeriesFrame, cutoff: pd.Timestamp) -> OriginState:
    """The history statistics at ``cutoff``; rows after it are dropped first (never read)."""
    origin = int(day_numbers([pd.Timestamp(cutoff)])[0])
    history = series.data[day_numbers(series.data[c.DS]) <= origin]
    return _state_at(_Panel.build(history, origin), origin)


def static_categories(calendar: Calendar) -> dict[str, list[str]]:
    """The sorted levels of each categorical static restaurant column (codes follow this order)."""
    rest = calendar.restaurants
    out: dict[str, list[str]] = {}
    for col in _static_columns(rest):
        if not pd.api.types.is_numeric_dtype(rest[col]):
            out[col] = sorted(rest[col].dropna().astype(str).unique().tolist())
    return out


def _static_columns(rest: pd.DataFrame) -> list[str]:
    return [col for col in rest.columns if col not in STATIC_EXCLUDED]


def _static_features(
    calendar: Calendar, restaurant_ids: pd.Series, categories: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """Static restaurant columns per row (categorical ones as codes of ``categories``)."""
    rest = calendar.restaurants.drop_duplicates(c.RESTAURANT_ID)
    rest = rest.set_index(rest[c.RESTAURANT_ID].astype(str))
    out: dict[str, np.ndarray] = {}
    ids = restaurant_ids.astype(str)
    for col in _static_columns(rest):
        values = rest[col].reindex(ids)
        if col in categories:
            levels = pd.Index(list(categories[col]))
            codes = levels.get_indexer(pd.Index(values.astype(str).where(values.notna(), _MISSING)))
            out[f"static_{col}"] = np.where(codes >= 0, codes, np.nan)
        elif pd.api.types.is_numeric_dtype(rest[col]):
            out[f"static_{col}"] = values.to_numpy(dtype=float)
    return pd.DataFrame(out)


def _target_rows(
    keys: pd.DataFrame, calendar: Calendar, categories: Mapping[str, Sequence[str]] | None
) -> pd.DataFrame:
    """Features known in advance for the target rows: date, calendar, static."""
    days = day_numbers(keys[c.DS])
    cats = static_categories(calendar) if categories is None else categories
    parts = [
        pd.DataFrame(_date_features(days)),
        calendar_features(keys.reset_index(drop=True), calendar),
        _static_features(calendar, keys[c.RESTAURANT_ID].reset_index(drop=True), cats),
    ]
    return pd.concat([p.reset_index(drop=True) for p in parts], axis=1)


def _assemble(
    keys: pd.DataFrame, origin_part: pd.DataFrame, target_part: pd.DataFrame, origin: pd.Timestamp
) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {
        c.RESTAURANT_ID: keys[c.RESTAURANT_ID].astype(str).to_numpy(),
        c.DS: pd.to_datetime(keys[c.DS]).to_numpy(dtype="datetime64[ns]"),
        c.CUTOFF: np.full(len(keys), pd.Timestamp(origin).to_datetime64(), "datetime64[ns]"),
    }
    if c.Y in keys.columns:
        columns[c.Y] = keys[c.Y].to_numpy(dtype=float)
    for part in (origin_part, target_part):
        for name in part.columns:
            columns[str(name)] = part[name].to_numpy(dtype=np.float32)
    return pd.DataFrame(columns)


def feature_names(frame: pd.DataFrame) -> list[str]:
    """The feature columns of a training or prediction frame (everything but the keys)."""
    return [col for col in frame.columns if col not in KEY_COLUMNS]


# --- public builders ----------------------------------------------------------------------------


def features_at(
    series: SeriesFrame,
    cutoff: pd.Timestamp,
    future: pd.DataFrame,
    calendar: Calendar | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Features of the ``future`` rows seen from origin ``cutoff``.

    Rows of ``series`` after ``cutoff`` are dropped before anything is computed, so no feature
    can depend on them.

    Args:
        series: history (rows after ``cutoff`` are ignored).
        cutoff: the forecast origin.
        future: ``restaurant_id, ds`` rows to describe (``ds > cutoff``; a ``y`` column is kept).
        calendar: restaurants and events (default: none).
        categories: levels of categorical static columns (default: from ``calendar``).

    Returns:
        ``restaurant_id, ds, cutoff, [y]`` and the feature columns (float32), aligned with
        ``future``'s rows. Restaurants without history at the origin have ``history_count`` 0
        and NaN history features.
    """
    return features_from_state(origin_state(series, cutoff), future, calendar, categories)


def features_from_state(
    state: OriginState,
    future: pd.DataFrame,
    calendar: Calendar | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Like :func:`features_at`, from a precomputed (or stored) :class:`OriginState`."""
    keys = future.reset_index(drop=True)
    cal = calendar or Calendar()
    return _assemble(keys, state.rows(keys), _target_rows(keys, cal, categories), state.origin)


def make_prediction_frame(
    series: SeriesFrame,
    calendar: Calendar | None,
    future: pd.DataFrame,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Features of ``future`` from the series' cutoff (its last ``ds``) as the origin."""
    cutoff = pd.Timestamp(series.data[c.DS].max())
    return features_at(series, cutoff, future, calendar, categories)


def origins_before(cutoff: pd.Timestamp, every: int, span: int) -> list[pd.Timestamp]:
    """Origins ``cutoff - every, cutoff - 2 * every, ...`` back ``span`` days, oldest first."""
    count = max(span // every, 1)
    return [pd.Timestamp(cutoff) - pd.Timedelta(days=every * k) for k in range(count, 0, -1)]


def make_training_frame(
    series: SeriesFrame,
    calendar: Calendar | None,
    horizon: int,
    origins: Iterable[pd.Timestamp],
    categories: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Training rows from many origins: each existing row 1..``horizon`` days after an origin.

    A row is kept only when its restaurant has at least one observation on or before the
    origin. Features of a row from origin ``o`` equal ``features_at(series, o, row)``.

    Args:
        series: the whole training history.
        calendar: restaurants and events (default: none).
        horizon: the largest step.
        origins: forecast origins (dates inside the series).
        categories: levels of categorical static columns (default: from ``calendar``).

    Returns:
        ``restaurant_id, ds, cutoff, y`` and the feature columns (float32).
    """
    cal = calendar or Calendar()
    data = series.data
    days = day_numbers(data[c.DS])
    panel = _Panel.build(data, int(days.max()))
    codes = panel.codes(data[c.RESTAURANT_ID])
    target_part = _target_rows(data[[c.RESTAURANT_ID, c.DS]], cal, categories)
    parts: list[pd.DataFrame] = []
    for ts in sorted({pd.Timestamp(o) for o in origins}):
        origin = int(day_numbers([ts])[0])
        rows = np.flatnonzero((days > origin) & (days <= origin + horizon))
        rows = rows[panel.first_obs[codes[rows]] <= panel.column(origin)]
        if len(rows) == 0 or panel.column(origin) < 0:
            continue
        keys = data.iloc[rows].reset_index(drop=True)
        origin_part = _state_at(panel, origin).rows(keys)
        targets = target_part.iloc[rows].reset_index(drop=True)
        parts.append(_assemble(keys, origin_part, targets, ts))
    if not parts:
        empty = features_at(series, pd.Timestamp(data[c.DS].min()), data.iloc[:0], cal, categories)
        return empty.assign(**{c.Y: np.array([], dtype=float)})
    return pd.concat(parts, ignore_index=True)
