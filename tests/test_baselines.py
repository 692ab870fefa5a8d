"""Seasonal naive and weekday median: values checked by hand on tiny series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import columns as c
from models.baselines import SeasonalNaive, WeekdayMedian
from models.frames import SeriesFrame
from tests.synthetic_series import horizon, synthetic_series


def _series(rows: list[tuple[str, str, float]], freq: str = "D") -> SeriesFrame:
    frame = pd.DataFrame(rows, columns=[c.RESTAURANT_ID, c.DS, c.Y])
    return SeriesFrame.from_frame(frame, freq=freq)  # type: ignore[arg-type]


def _keys(rid: str, *ds: str) -> pd.DataFrame:
    return pd.DataFrame({c.RESTAURANT_ID: rid, c.DS: pd.to_datetime(list(ds))})


def test_seasonal_naive_repeats_the_last_observed_same_weekday() -> None:
    # 2024-01-01 is a Monday. Week 2 Monday is closed (absent): the last Monday is week 1's.
    rows = [("a", f"2024-01-{d:02d}", float(d)) for d in range(1, 15) if d != 8]
    model = SeasonalNaive().fit(_series(rows))
    out = model.predict(_keys("a", "2024-01-15", "2024-01-16", "2024-01-21")).data
    assert out[c.YHAT].tolist() == [1.0, 9.0, 14.0]


def test_seasonal_naive_never_seen_weekday_uses_the_recent_median() -> None:
    # Closed every Monday: a Monday forecast is the median of the last 7 observed rows.
    rows = [
        ("a", str(day.date()), float(i))
        for i, day in enumerate(pd.date_range("2024-01-01", periods=21))
        if day.day_of_week != 0
    ]
    model = SeasonalNaive().fit(_series(rows))
    yhat = model.predict(_keys("a", "2024-01-22")).data[c.YHAT].item()
    assert yhat == np.median([v for _, _, v in rows[-7:]])


def test_seasonal_naive_intraday_uses_the_same_slot_a_week_back() -> None:
    ds = pd.date_range("2024-01-01 10:00", periods=7 * 4 * 12, freq="15min")
    ds = ds[(ds.hour >= 10) & (ds.hour < 22)]
    frame = pd.DataFrame({c.RESTAURANT_ID: "a", c.DS: ds, c.Y: np.arange(len(ds), dtype=float)})
    model = SeasonalNaive().fit(SeriesFrame.from_frame(frame, freq="15min"))
    target = ds[-1] + pd.Timedelta(days=7)
    yhat = model.predict(_keys("a", str(target))).data[c.YHAT].item()
    assert yhat == frame[c.Y].iloc[-1]


def test_weekday_median_uses_the_last_weeks_and_falls_back() -> None:
    # Mondays: 100 long ago, then 1, 2, 3 in the window; Tuesdays never observed.
    mondays = pd.date_range("2024-01-01", periods=12, freq="7D")
    values = [100.0] * 9 + [1.0, 2.0, 3.0]
    rows = [("a", str(d.date()), v) for d, v in zip(mondays, values, strict=True)]
    model = WeekdayMedian(weeks=3).fit(_series(rows))
    nxt = mondays[-1] + pd.Timedelta(days=7)
    out = model.predict(_keys("a", str(nxt.date()), str((nxt + pd.Timedelta(days=1)).date())))
    assert out.data[c.YHAT].tolist() == [2.0, 2.0]


def test_closed_days_are_not_zeros() -> None:
    series = synthetic_series(3, 120, seed=3, closed_share=0.3)
    for model in (SeasonalNaive(), WeekdayMedian()):
        out = model.fit(series).predict(horizon(series)).data
        assert (out[c.YHAT] > 0).all()


def test_vectorised_on_many_restaurants() -> None:
    series = synthetic_series(300, 150, seed=4)
    out = WeekdayMedian().fit(series).predict(horizon(series)).data
    assert len(out) == 300 * 28
