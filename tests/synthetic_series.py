"""Synthetic daily demand for model tests: weekly seasonality, trend, noise, closed days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import columns as c
from models.frames import SeriesFrame

WEEKLY = np.array([0.8, 0.9, 1.0, 1.1, 1.4, 1.6, 1.2])
START = "2024-01-01"


def synthetic_frame(
    n_restaurants: int = 3,
    days: int = 120,
    *,
    seed: int = 0,
    noise: float = 0.15,
    start: str = START,
    closed_share: float = 0.03,
) -> pd.DataFrame:
    """``restaurant_id, ds, y`` rows: restaurant ``r0`` is closed on Mondays (absent rows),
    and about ``closed_share`` of all other days are absent too."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=days, freq="D")
    weekly = WEEKLY[ds.day_of_week.to_numpy()]
    parts = []
    for i in range(n_restaurants):
        level = rng.uniform(20.0, 80.0)
        trend = 1.0 + rng.uniform(-0.002, 0.002) * np.arange(days)
        y = np.round(level * trend * weekly * rng.lognormal(0.0, noise, days))
        frame = pd.DataFrame({c.RESTAURANT_ID: f"r{i}", c.DS: ds, c.Y: y})
        if i == 0:
            frame = frame[frame[c.DS].dt.day_of_week != 0]
        parts.append(frame[rng.uniform(size=len(frame)) >= closed_share])
    return pd.concat(parts, ignore_index=True)


def synthetic_series(n_restaurants: int = 3, days: int = 120, **kwargs: object) -> SeriesFrame:
    """:func:`synthetic_frame` as a validated daily :class:`SeriesFrame`."""
    frame = synthetic_frame(n_restaurants, days, **kwargs)  # type: ignore[arg-type]
    return SeriesFrame.from_frame(frame)


def horizon(series: SeriesFrame, days: int = 28) -> pd.DataFrame:
    """Every (restaurant_id, ds) of the ``days`` after the series' last date."""
    start = pd.Timestamp(series.data[c.DS].max()) + pd.Timedelta(days=1)
    ds = pd.date_range(start, periods=days, freq="D")
    ids = series.restaurants
    return pd.DataFrame({c.RESTAURANT_ID: np.repeat(ids, days), c.DS: np.tile(ds, len(ids))})
