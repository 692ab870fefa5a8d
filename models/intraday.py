"""Splitting a daily forecast into intraday slots (15 minutes or hourly) with recent profiles.

A restaurant's *profile* is the share of the business day's total that falls in each slot, from
its last ``weeks`` weeks of intraday history (a ratio of sums, so busy days weigh more). Slots
are keyed by their wall-clock offset from the business date's midnight (local naive time), so a
day shortened or lengthened by a DST change still matches the other days' slots.

The shares used for a business day are, in order of preference: the restaurant's profile for that
weekday; its profile over all weekdays; the mean profile of all restaurants for that weekday; a
uniform split. A level is used when it gives the day's requested slots a positive total. Shares
are renormalised over the slots the caller asks for, and the largest slot absorbs the floating
point remainder, so the slots sum to the daily figure exactly (to the last bit of a float sum in
slot order). Interval bounds and quantiles (``yhat_q<100q>``) are scaled by the same shares, so a
slot's 10% and 90% quantiles stay its 80% interval's bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import columns as c
from models.frames import interval_columns, levels_in
from models.intervals import quantile_columns_in

__all__ = ["IntradayProfile", "business_day_slots", "intraday_profile", "split_daily"]

WEEKDAY = "weekday"
OFFSET = "offset"
SHARE = "share"
_SLOT_MINUTES = {"15min": 15, "h": 60}
CutoffHour = int | Mapping[str, int]


@dataclass(frozen=True)
class IntradayProfile:
    """Slot shares at three levels (each a Series of shares, summing to 1 per profile).

    Attributes:
        by_weekday: Index ``restaurant_id, weekday, offset`` (minutes after the business
            date's midnight).
        by_restaurant: Index ``restaurant_id, offset``: all weekdays together.
        by_global_weekday: Index ``weekday, offset``: the mean over restaurants.
    """

    by_weekday: pd.Series
    by_restaurant: pd.Series
    by_global_weekday: pd.Series


def _hours(restaurant_ids: pd.Series, cutoff_hour: CutoffHour) -> pd.Series:
    if isinstance(cutoff_hour, int):
        return pd.Series(cutoff_hour, index=restaurant_ids.index, dtype=np.int64)
    return restaurant_ids.map(cutoff_hour).fillna(0).astype(np.int64)


def _with_business_date(history: pd.DataFrame, cutoff_hour: CutoffHour) -> pd.DataFrame:
    """History with ``business_date``, ``weekday`` and ``offset`` columns."""
    frame = history.copy()
    frame[c.DS] = pd.to_datetime(frame[c.DS])
    if c.BUSINESS_DATE not in frame.columns:
        hours = pd.to_timedelta(_hours(frame[c.RESTAURANT_ID], cutoff_hour), unit="h")
        frame[c.BUSINESS_DATE] = (frame[c.DS] - hours).dt.normalize()
    frame[c.BUSINESS_DATE] = pd.to_datetime(frame[c.BUSINESS_DATE])
    return _keyed(frame)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    delta = (frame[c.DS] - frame[c.BUSINESS_DATE]).to_numpy(dtype="timedelta64[ns]")
    offset = pd.Series(delta // np.timedelta64(1, "m"), index=frame.index)
    return frame.assign(
        **{WEEKDAY: frame[c.BUSINESS_DATE].dt.day_of_week, OFFSET: offset.astype(np.int64)}
    )


def _shares(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Sum of ``y`` per ``keys + [offset]`` divided by the sum per ``keys``."""
    sums = frame.groupby([*keys, OFFSET])[c.Y].sum()
    totals = sums.groupby(level=keys).transform("sum")
    return (sums / totals.where(totals > 0)).dropna().rename(SHARE)


def intraday_profile(
    history: pd.DataFrame, *, weeks: int = 8, cutoff_hour: CutoffHour = 0
) -> IntradayProfile:
    """Each restaurant's recent intraday profile.

    Args:
        history: ``restaurant_id, ds, y`` with ``ds`` the slot start in local naive time
            (optionally ``business_date``; otherwise it is derived from ``cutoff_hour``).
        weeks: How many weeks before each restaurant's last business date to use.
        cutoff_hour: The hour the business day starts (an int, or one per restaurant id): slots
            before it belong to the previous business date.
    """
    frame = _with_business_date(history, cutoff_hour)
    last = frame.groupby(c.RESTAURANT_ID)[c.BUSINESS_DATE].transform("max")
    frame = frame[frame[c.BUSINESS_DATE] > last - pd.Timedelta(weeks=weeks)]
    by_weekday = _shares(frame, [c.RESTAURANT_ID, WEEKDAY])
    global_weekday = by_weekday.groupby(level=[WEEKDAY, OFFSET]).sum()
    global_weekday = global_weekday / global_weekday.groupby(level=WEEKDAY).transform("sum")
    return IntradayProfile(
        by_weekday=by_weekday,
        by_restaurant=_shares(frame, [c.RESTAURANT_ID]),
        by_global_weekday=global_weekday.rename(SHARE),
    )


def business_day_slots(
    days: pd.DataFrame, freq: str = "15min", *, cutoff_hour: CutoffHour = 0, tz: str | None = None
) -> pd.DataFrame:
    """Every slot of each business day: ``restaurant_id, business_date, ds`` (local naive).

    A business day runs 24 wall-clock hours from ``cutoff_hour``. With ``tz``, slot starts that do
    not exist locally (the hour skipped when clocks go forward) are left out; a repeated hour
    (clocks going back) stays one naive slot, as in naive-time history.

    Args:
        days: ``restaurant_id, ds`` with ``ds`` the business date (a daily forecast's keys).
        freq: ``"15min"`` or ``"h"``.
        cutoff_hour: The hour the business day starts (an int, or one per restaurant id).
        tz: The restaurants' IANA time zone, to drop non-existent local times.
    """
    minutes = _SLOT_MINUTES[freq]
    per_day = 24 * 60 // minutes
    keys = days[[c.RESTAURANT_ID, c.DS]].drop_duplicates().reset_index(drop=True)
    dates = pd.to_datetime(keys[c.DS]).dt.normalize()
    start = dates + pd.to_timedelta(_hours(keys[c.RESTAURANT_ID], cutoff_hour), unit="h")
    offsets = pd.to_timedelta(np.tile(np.arange(per_day) * minutes, len(keys)), unit="min")
    slots = pd.DataFrame(
        {
            c.RESTAURANT_ID: np.repeat(keys[c.RESTAURANT_ID].to_numpy(), per_day),
            c.BUSINESS_DATE: np.repeat(dates.to_numpy(), per_day),
            c.DS: np.repeat(start.to_numpy(), per_day) + offsets.to_numpy(),
        }
    )
    if tz is not None:
        local = pd.DatetimeIndex(slots[c.DS]).tz_localize(
            tz, nonexistent="NaT", ambiguous=np.ones(len(slots), dtype=bool)
        )
        slots = slots[~np.asarray(local.isna(), dtype=bool)]
    return slots.reset_index(drop=True)


def _lookup(slots: pd.DataFrame, table: pd.Series, on: list[str]) -> np.ndarray:
    index = pd.MultiIndex.from_frame(slots[on])
    return table.reindex(index).fillna(0.0).to_numpy(dtype=float)


def _slot_shares(slots: pd.DataFrame, profile: IntradayProfile, group: list[str]) -> np.ndarray:
    """Each slot's share of its day, from the first profile level with a positive total."""
    levels = [
        _lookup(slots, profile.by_weekday, [c.RESTAURANT_ID, WEEKDAY, OFFSET]),
        _lookup(slots, profile.by_restaurant, [c.RESTAURANT_ID, OFFSET]),
        _lookup(slots, profile.by_global_weekday, [WEEKDAY, OFFSET]),
        np.ones(len(slots)),
    ]
    share = np.full(len(slots), np.nan)
    for raw in levels:
        total = (
            pd.Series(raw, index=slots.index).groupby([slots[k] for k in group]).transform("sum")
        )
        use = np.isnan(share) & (total.to_numpy() > 0)
        share[use] = raw[use] / total.to_numpy()[use]
    return share


def _make_exact(out: pd.DataFrame, group: list[str], daily_total: np.ndarray) -> None:
    """Moves each day's floating-point remainder onto its largest slot (in place)."""
    values = out[c.YHAT].to_numpy(dtype=float).copy()
    sums = out.groupby(group, sort=False)[c.YHAT].transform("sum").to_numpy(dtype=float)
    biggest = out.groupby(group, sort=False)[SHARE].idxmax().to_numpy()
    position = out.index.get_indexer(pd.Index(biggest))
    values[position] += (daily_total - sums)[position]
    out[c.YHAT] = np.maximum(values, 0.0)


def split_daily(
    daily: pd.DataFrame,
    slots: pd.DataFrame,
    history: pd.DataFrame | IntradayProfile,
    *,
    weeks: int = 8,
    cutoff_hour: CutoffHour = 0,
) -> pd.DataFrame:
    """Splits daily forecasts into the caller's slots.

    Args:
        daily: A daily forecast: ``restaurant_id, ds`` (the business date), ``yhat``, optional
            ``model``, ``served_by`` and interval columns.
        slots: ``restaurant_id, business_date, ds`` (slot start, local naive): the slots of each
            business day to forecast (:func:`business_day_slots` builds all of a day's).
        history: Intraday history ``restaurant_id, ds, y`` or a ready :class:`IntradayProfile`.
        weeks: Weeks of history for the profile (when ``history`` is a frame).
        cutoff_hour: Business-day start hour for the history (when it has no business date).

    Returns:
        One row per slot and model: ``restaurant_id, business_date, ds`` (slot start), the
        daily frame's other columns with ``yhat`` and interval bounds scaled by the slot's share.
        Each day's ``yhat`` over its slots sums to the daily ``yhat``.
    """
    profile = (
        history
        if isinstance(history, IntradayProfile)
        else intraday_profile(history, weeks=weeks, cutoff_hour=cutoff_hour)
    )
    day_keys = [c.RESTAURANT_ID, c.BUSINESS_DATE]
    keyed = _keyed(
        slots[[*day_keys, c.DS]].assign(
            **{
                c.DS: pd.to_datetime(slots[c.DS]),
                c.BUSINESS_DATE: pd.to_datetime(slots[c.BUSINESS_DATE]),
            }
        )
    ).reset_index(drop=True)
    keyed[SHARE] = _slot_shares(keyed, profile, day_keys)
    days = daily.rename(columns={c.DS: c.BUSINESS_DATE})
    days[c.BUSINESS_DATE] = pd.to_datetime(days[c.BUSINESS_DATE])
    out = keyed.merge(days, on=day_keys, how="inner")
    group = [*day_keys, *([c.MODEL] if c.MODEL in out.columns else [])]
    daily_total = out[c.YHAT].to_numpy(dtype=float)
    bounds = [col for level in levels_in(out) for col in interval_columns(level)]
    bounds += quantile_columns_in(out)
    for col in [c.YHAT, *bounds]:
        out[col] = out[col].to_numpy(dtype=float) * out[SHARE].to_numpy()
    _make_exact(out, group, daily_total)
    return out.drop(columns=[WEEKDAY, OFFSET, SHARE]).reset_index(drop=True)
