"""Validated frames: the only way series, forecasts and backtests enter the models.

"Parse, don't validate": each frame is built through ``from_frame`` (which checks it once); code
that receives one trusts it.

- :class:`SeriesFrame`: ``restaurant_id, ds, y``; ``y`` finite and >= 0; sorted; no duplicate
  keys. Closed days are absent rows, never zeros.
- :class:`ForecastFrame`: ``restaurant_id, ds, model, yhat`` plus optional
  ``yhat_lower_<level>/yhat_upper_<level>`` pairs and ``served_by`` (which model produced the
  row after fallbacks).
- :class:`BacktestFrame`: a forecast frame with ``cutoff`` and ``y``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import columns as c
from models.freqs import FREQS as FREQS  # noqa: PLC0414 (re-exported; defined in models.freqs)
from models.freqs import Freq as Freq  # noqa: PLC0414

SERVED_BY = "served_by"
STEP = "step"


class FrameError(ValueError):
    """A frame that breaks its contract (raised by the validating constructors)."""


def interval_columns(level: int) -> tuple[str, str]:
    """The lower and upper column names of a central interval, e.g. ``yhat_lower_80``."""
    return f"{c.YHAT_LOWER}_{level}", f"{c.YHAT_UPPER}_{level}"


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise FrameError(f"{what}: missing column(s) {', '.join(missing)}")


@dataclass(frozen=True)
class SeriesFrame:
    """One demand series (a target at a frequency) for one or more restaurants."""

    data: pd.DataFrame
    freq: Freq
    target: str

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, freq: Freq = "D", target: str = "y") -> SeriesFrame:
        """Validates and normalises a frame with ``restaurant_id, ds, y``.

        Raises:
            FrameError: a missing column, a negative, NaN or infinite ``y``, duplicate keys, or an
                unknown frequency.
        """
        if freq not in FREQS:
            raise FrameError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)}")
        _require(frame, (c.RESTAURANT_ID, c.DS, c.Y), "series")
        data = pd.DataFrame(
            {
                c.RESTAURANT_ID: frame[c.RESTAURANT_ID].astype(str).to_numpy(),
                c.DS: pd.to_datetime(frame[c.DS]).to_numpy(),
                c.Y: pd.to_numeric(frame[c.Y], errors="coerce").astype(float).to_numpy(),
            }
        )
        y = data[c.Y].to_numpy()
        if not np.isfinite(y).all():
            raise FrameError("series: y has NaN or infinite values (closed days must be absent)")
        if (y < 0).any():
            raise FrameError("series: y has negative values")
        if freq == "D" and (data[c.DS] != data[c.DS].dt.normalize()).any():
            raise FrameError("series: daily ds values must be dates (midnight)")
        if data.duplicated([c.RESTAURANT_ID, c.DS]).any():
            raise FrameError("series: duplicate (restaurant_id, ds) rows")
        data = data.sort_values([c.RESTAURANT_ID, c.DS], kind="stable").reset_index(drop=True)
        return cls(data=data, freq=freq, target=target)

    @property
    def restaurants(self) -> list[str]:
        """Restaurant ids, sorted (found once per frame: callers ask often, and each scan of a
        fleet's rows costs milliseconds)."""
        return list(self._restaurant_ids)

    @functools.cached_property
    def _restaurant_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.data[c.RESTAURANT_ID].unique().tolist()))

    def __len__(self) -> int:
        return len(self.data)

    def _with(self, data: pd.DataFrame) -> SeriesFrame:
        return SeriesFrame(data=data.reset_index(drop=True), freq=self.freq, target=self.target)

    def for_restaurants(self, ids: Iterable[str]) -> SeriesFrame:
        """Only these restaurants."""
        keep = set(ids)
        return self._with(self.data[self.data[c.RESTAURANT_ID].isin(keep)])

    def until(self, cutoff: pd.Timestamp) -> SeriesFrame:
        """Rows on or before ``cutoff`` (training data for an origin)."""
        return self._with(self.data[self.data[c.DS] <= cutoff])

    def between(self, start: pd.Timestamp, end: pd.Timestamp) -> SeriesFrame:
        """Rows with ``start < ds <= end`` (a test window after an origin)."""
        ds = self.data[c.DS]
        return self._with(self.data[(ds > start) & (ds <= end)])

    def last_ds(self) -> pd.Series:
        """Each restaurant's last observed ``ds``."""
        return self.data.groupby(c.RESTAURANT_ID)[c.DS].max()


@dataclass(frozen=True)
class ForecastFrame:
    """Forecasts: one row per (restaurant, ds, model)."""

    data: pd.DataFrame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ForecastFrame:
        """Validates a frame with ``restaurant_id, ds, model, yhat`` (and intervals).

        Raises:
            FrameError: missing columns, non-finite or negative forecasts, crossed intervals.
        """
        _require(frame, (c.RESTAURANT_ID, c.DS, c.MODEL, c.YHAT), "forecast")
        data = frame.copy()
        data[c.DS] = pd.to_datetime(data[c.DS])
        yhat = data[c.YHAT].to_numpy(dtype=float)
        if not np.isfinite(yhat).all():
            raise FrameError("forecast: yhat has NaN or infinite values")
        if (yhat < 0).any():
            raise FrameError("forecast: yhat has negative values")
        for level in levels_in(data):
            lo, hi = interval_columns(level)
            if (data[lo] > data[c.YHAT] + 1e-9).any() or (data[hi] < data[c.YHAT] - 1e-9).any():
                raise FrameError(f"forecast: the {level}% interval does not contain yhat")
        if data.duplicated([c.RESTAURANT_ID, c.DS, c.MODEL]).any():
            raise FrameError("forecast: duplicate (restaurant_id, ds, model) rows")
        return cls(data=data.reset_index(drop=True))


def levels_in(frame: pd.DataFrame) -> list[int]:
    """The interval levels present in a forecast frame, e.g. [80, 95]."""
    prefix = f"{c.YHAT_LOWER}_"
    return sorted(int(col[len(prefix) :]) for col in frame.columns if col.startswith(prefix))
