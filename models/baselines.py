"""Seasonal baselines: seasonal naive and the weekday median (local, vectorised).

Both key each row by its *season*: the weekday plus the time of day (midnight for daily series),
so the same code serves daily series (same weekday) and intraday series (same weekday and slot).
Closed days are absent rows, so they never enter a forecast as zeros. Everything is computed with
group-bys across all restaurants at once; there is no per-restaurant loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import columns as c
from models.base import Calendar, Forecaster
from models.frames import SeriesFrame

__all__ = ["SeasonalNaive", "WeekdayMedian", "season_key", "slot_key"]

_SEASON = "_season"
_SLOT = "_slot"
_FALLBACK_ROWS = 7
_MINUTES_PER_DAY = 1440


def slot_key(ds: pd.Series) -> np.ndarray:
    """Minutes since midnight of each timestamp (0 for daily series)."""
    return np.asarray(ds.dt.hour * 60 + ds.dt.minute, dtype=np.int64)


def season_key(ds: pd.Series) -> np.ndarray:
    """Weekday and time of day as one integer: ``weekday * 1440 + minutes since midnight``."""
    weekday = np.asarray(ds.dt.day_of_week, dtype=np.int64)
    return np.asarray(weekday * _MINUTES_PER_DAY + slot_key(ds), dtype=np.int64)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the season and slot keys added."""
    return frame.assign(**{_SEASON: season_key(frame[c.DS]), _SLOT: slot_key(frame[c.DS])})


def _lookup(keys: pd.DataFrame, table: pd.Series, on: list[str]) -> np.ndarray:
    """Values of ``table`` (indexed by ``on``) for each row of ``keys``; NaN where absent."""
    index = pd.MultiIndex.from_frame(keys[on]) if len(on) > 1 else pd.Index(keys[on[0]])
    return table.reindex(index).to_numpy(dtype=float)


class SeasonalNaive(Forecaster):
    """The last observed value of the same weekday (and slot, for intraday series).

    For each restaurant and season (weekday, time of day) the forecast is the most recent observed
    value before the cutoff: for an open restaurant, the same weekday of the last week. A season
    the restaurant never had (e.g. it always closes on Mondays) falls back to the median of its
    last seven observed rows, so every requested row of a fitted restaurant gets a forecast.
    """

    name = "seasonal_naive"
    scope = "local"

    def __init__(self) -> None:
        """Takes no settings."""

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        data = _keyed(series.data)
        last = data.groupby([c.RESTAURANT_ID, _SEASON], sort=False)[c.Y].last()
        recent = data.groupby(c.RESTAURANT_ID, sort=False).tail(_FALLBACK_ROWS)
        self.last_by_season_: pd.Series = last
        self.fallback_: pd.Series = recent.groupby(c.RESTAURANT_ID)[c.Y].median()

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        keys = _keyed(future)
        yhat = _lookup(keys, self.last_by_season_, [c.RESTAURANT_ID, _SEASON])
        fallback = _lookup(keys, self.fallback_, [c.RESTAURANT_ID])
        return np.where(np.isnan(yhat), fallback, yhat)


class WeekdayMedian(Forecaster):
    """The median of the same weekday (and slot) over the last ``weeks`` weeks of observed rows.

    The window is each restaurant's last ``weeks`` weeks of history, ending at its last observed
    row (so a restaurant whose data stops before the cutoff still gets its own recent level).
    A season with no rows in the window falls back to the median of the same time of day (for
    intraday series), then to the restaurant's overall median in the window.

    Args:
        weeks: How many weeks of history the medians look back.
    """

    name = "weekday_median"
    scope = "local"

    def __init__(self, weeks: int = 8) -> None:
        """Stores the settings."""
        self.weeks = weeks

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        if self.weeks < 1:
            raise ValueError(f"weeks must be >= 1, got {self.weeks}")
        data = _keyed(series.data)
        last = data.groupby(c.RESTAURANT_ID)[c.DS].transform("max")
        window = data[data[c.DS] > last - pd.Timedelta(weeks=self.weeks)]
        by_restaurant = window.groupby(c.RESTAURANT_ID)[c.Y]
        self.by_season_: pd.Series = window.groupby([c.RESTAURANT_ID, _SEASON])[c.Y].median()
        self.by_slot_: pd.Series = window.groupby([c.RESTAURANT_ID, _SLOT])[c.Y].median()
        self.overall_: pd.Series = by_restaurant.median()

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        keys = _keyed(future)
        yhat = _lookup(keys, self.by_season_, [c.RESTAURANT_ID, _SEASON])
        for table, on in (
            (self.by_slot_, [c.RESTAURANT_ID, _SLOT]),
            (self.overall_, [c.RESTAURANT_ID]),
        ):
            missing = np.isnan(yhat)
            if not missing.any():
                break
            yhat = np.where(missing, _lookup(keys, table, on), yhat)
        return yhat
