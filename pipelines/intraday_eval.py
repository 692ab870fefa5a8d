"""Scoring intraday forecasts, pure: a daily backtest's forecasts split into 15-minute or hourly
slots, by Flux's learned shape and by the plain baseline, against the intraday actuals.

At each origin of a daily backtest, one daily model's forecasts (the same for both methods) are
split into every slot of each forecast business day:

- ``flux_shape``: :class:`models.intraday.IntradayShape` fitted on the intraday history up to
  the origin (decay-weighted over up to a year, level bands and holidays when they help);
- ``slot_share_baseline``: each weekday-slot's mean share of the last 8 weeks
  (:func:`models.intraday.mean_share_profile`) times the daily forecast.

Slots without demand are zeros (every slot of an open business day is scored). WAPE is reported
by slot and by hour (the slots of each local hour summed first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import columns as c
from models.base import Calendar
from models.calendar_features import public_holidays
from models.frames import SeriesFrame
from models.intraday import IntradayShape, business_day_slots, mean_share_profile, split_daily
from models.metrics import wape

FLUX_SHAPE = "flux_shape"
BASELINE = "slot_share_baseline"
METHODS = (FLUX_SHAPE, BASELINE)
BASELINE_WEEKS = 8


@dataclass(frozen=True)
class IntradayScores:
    """WAPE by slot and by hour for each method (one row per method), and the scored rows."""

    table: pd.DataFrame  # method, rows, wape_slot, wape_hourly
    rows: pd.DataFrame  # restaurant_id, cutoff, business_date, ds, method, y, yhat
    model: str  # the daily model whose forecasts were split


def holidays_by_restaurant(
    calendar: Calendar, restaurants: list[str], first: pd.Timestamp, last: pd.Timestamp
) -> dict[str, frozenset[pd.Timestamp]]:
    """Each restaurant's public holidays (its country and subdivision) and holiday events."""
    out: dict[str, frozenset[pd.Timestamp]] = {}
    for rid in restaurants:
        country, sub = calendar.country(rid)
        days, _ = public_holidays(country, sub, first.year, last.year)
        found = {pd.Timestamp(np.datetime64(int(d), "D")) for d in days}
        for _, ev in calendar.events_for(rid, (c.EVENT_HOLIDAY,)).iterrows():
            found.update(
                pd.date_range(pd.Timestamp(ev[c.START_DATE]), pd.Timestamp(ev[c.END_DATE]))
            )
        out[rid] = frozenset(found)
    return out


def _slots(
    days: pd.DataFrame, freq: str, cutoff_hour: Mapping[str, int], zones: Mapping[str, str]
) -> pd.DataFrame:
    parts = [
        business_day_slots(
            rows[[c.RESTAURANT_ID, c.DS]],
            freq,
            cutoff_hour=int(cutoff_hour[str(rid)]),
            tz=zones[str(rid)],
        )
        for rid, rows in days.groupby(c.RESTAURANT_ID)
    ]
    return pd.concat(parts, ignore_index=True)


def score_intraday(
    frame: pd.DataFrame,
    intraday: SeriesFrame,
    model: str,
    *,
    cutoff_hour: Mapping[str, int],
    zones: Mapping[str, str],
    holidays: Mapping[str, frozenset[pd.Timestamp]] | None = None,
) -> IntradayScores:
    """Splits ``model``'s daily backtest forecasts by both methods and scores them.

    Args:
        frame: A daily backtest frame (:func:`pipelines.evaluation.run_backtest`).
        intraday: The same target's 15-minute or hourly series (local naive slot starts).
        model: The daily model whose forecasts are split.
        cutoff_hour: Each restaurant's business-day start hour.
        zones: Each restaurant's IANA time zone.
        holidays: Each restaurant's holiday business dates (for the learned shape).

    Raises:
        ValueError: no intraday history before any origin.
    """
    daily = frame[frame[c.MODEL] == model]
    history = intraday.data
    hours = pd.to_timedelta(
        history[c.RESTAURANT_ID].map(cutoff_hour).fillna(0).astype(int), unit="h"
    )
    history = history.assign(**{c.BUSINESS_DATE: (history[c.DS] - hours).dt.normalize()})
    parts = []
    for cutoff in sorted(pd.to_datetime(daily[c.CUTOFF]).unique()):
        origin = pd.Timestamp(cutoff)
        past = history[history[c.BUSINESS_DATE] <= origin]
        fold = daily[pd.to_datetime(daily[c.CUTOFF]) == origin]
        fold = fold[fold[c.RESTAURANT_ID].isin(set(past[c.RESTAURANT_ID]))]
        if fold.empty:
            continue
        days = fold[[c.RESTAURANT_ID, c.DS, c.MODEL, c.YHAT]].reset_index(drop=True)
        slots = _slots(days, intraday.freq, cutoff_hour, zones)
        shape = IntradayShape(holidays=holidays).fit(past)
        baseline = mean_share_profile(past, weeks=BASELINE_WEEKS)
        for method, how in ((FLUX_SHAPE, shape), (BASELINE, baseline)):
            split = split_daily(days, slots, how)
            split["method"] = method
            split[c.CUTOFF] = origin
            parts.append(split)
    if not parts:
        raise ValueError(f"no {intraday.freq} history before any origin of the backtest")
    out = pd.concat(parts, ignore_index=True)
    actual = history[[c.RESTAURANT_ID, c.DS, c.Y]]
    out = out.merge(actual, on=[c.RESTAURANT_ID, c.DS], how="left")
    out[c.Y] = out[c.Y].fillna(0.0)
    keep = [c.RESTAURANT_ID, c.CUTOFF, c.BUSINESS_DATE, c.DS, "method", c.Y, c.YHAT]
    out = out[keep]
    table = []
    for method in METHODS:
        mine = out[out["method"] == method]
        hourly = mine.groupby(
            [c.RESTAURANT_ID, c.CUTOFF, c.BUSINESS_DATE, mine[c.DS].dt.floor("h")]
        )[[c.Y, c.YHAT]].sum()
        table.append(
            {
                "method": method,
                "rows": len(mine),
                "wape_slot": wape(mine[c.Y].to_numpy(float), mine[c.YHAT].to_numpy(float)),
                "wape_hourly": wape(hourly[c.Y].to_numpy(float), hourly[c.YHAT].to_numpy(float)),
            }
        )
    return IntradayScores(table=pd.DataFrame(table), rows=out, model=model)
