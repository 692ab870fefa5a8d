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

__all__ = [
    "IntradayProfile",
    "IntradayShape",
    "business_day_slots",
    "intraday_profile",
    "mean_share_profile",
    "split_daily",
]

WEEKDAY = "weekday"
OFFSET = "offset"
SHARE = "share"
_SLOT_MINUTES = {"15min": 15, "h": 60}
_EXACT_ROUNDS = 8
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


def mean_share_profile(
    history: pd.DataFrame, *, weeks: int = 8, cutoff_hour: CutoffHour = 0
) -> IntradayProfile:
    """The plain baseline: each weekday-slot's *mean share* of its day over the restaurant's
    last ``weeks`` weeks (every day counts the same, whatever its volume), with the same
    fallback levels as :func:`intraday_profile`."""
    frame = _with_business_date(history, cutoff_hour)
    last = frame.groupby(c.RESTAURANT_ID)[c.BUSINESS_DATE].transform("max")
    frame = frame[frame[c.BUSINESS_DATE] > last - pd.Timedelta(weeks=weeks)]
    day = [c.RESTAURANT_ID, c.BUSINESS_DATE]
    totals = frame.groupby(day)[c.Y].transform("sum")
    frame = frame[totals > 0].assign(**{SHARE: frame[c.Y] / totals[totals > 0]})
    days = frame.drop_duplicates(day).groupby([c.RESTAURANT_ID, WEEKDAY]).size()
    sums = frame.groupby([c.RESTAURANT_ID, WEEKDAY, OFFSET])[SHARE].sum()
    by_weekday = (sums / days.reindex(_keys_without(sums.index, [OFFSET])).to_numpy()).rename(SHARE)
    base = intraday_profile(history, weeks=weeks, cutoff_hour=cutoff_hour)
    return IntradayProfile(
        by_weekday=by_weekday,
        by_restaurant=base.by_restaurant,
        by_global_weekday=base.by_global_weekday,
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


@dataclass(frozen=True)
class ShapeSettings:
    """How :class:`IntradayShape` learns (weights are in units of the target: orders, covers).

    Attributes:
        half_life_weeks: A day's weight halves every this many weeks back.
        span_weeks: How far back history is used.
        weekday_strength: Weight with which a weekday's profile shrinks towards the
            restaurant's all-weekday profile (a weekday seen little borrows from the others).
        band_strength: The same for the level-band and holiday adjustments (towards none).
        validation_weeks: The last weeks held out to decide whether the level-band and holiday
            adjustments help (each is kept only if it lowers the held-out WAPE).
    """

    half_life_weeks: float = 8.0
    span_weeks: int = 52
    weekday_strength: float = 50.0
    band_strength: float = 200.0
    validation_weeks: int = 4


BAND = "band"
HOLIDAY = "holiday"
_BANDS = 3


@dataclass(frozen=True)
class _Tables:
    weekday: pd.Series  # restaurant_id, weekday, offset -> share (shrunk)
    overall: pd.Series  # restaurant_id, offset -> share
    band_ratio: pd.Series  # restaurant_id, band, offset -> share / overall share
    holiday_ratio: pd.Series  # restaurant_id, offset -> share / overall share
    level: pd.Series  # restaurant_id, weekday -> decayed mean daily total
    edges: pd.DataFrame  # restaurant_id -> low, high: the band edges of total / level


def _ratio(part: pd.Series, weight: pd.Series, overall: pd.Series, strength: float) -> pd.Series:
    """``(sums + k * overall) / (weight + k)`` over ``overall``: a shrunk relative profile."""
    extra: list[str] = [str(n) for n in part.index.names if n not in (OFFSET, c.RESTAURANT_ID)]
    over = overall.reindex(_keys_without(part.index, extra))
    w = weight.reindex(_keys_without(part.index, [OFFSET])).to_numpy()
    shrunk = (part.to_numpy() + strength * over.to_numpy()) / (w + strength)
    out = pd.Series(shrunk / np.where(over.to_numpy() > 0, over.to_numpy(), np.nan), part.index)
    return out.fillna(1.0)


def _flag(frame: pd.DataFrame, pairs: pd.MultiIndex) -> np.ndarray:
    """Whether each row's (restaurant, business date) is in ``pairs``."""
    keys = pd.MultiIndex.from_frame(frame[[c.RESTAURANT_ID, c.BUSINESS_DATE]])
    return np.asarray(keys.isin(pairs), dtype=bool)


def _day_frame(
    frame: pd.DataFrame, settings: ShapeSettings, holidays: pd.MultiIndex
) -> pd.DataFrame:
    day = [c.RESTAURANT_ID, c.BUSINESS_DATE]
    days = frame.groupby(day, as_index=False).agg(total=(c.Y, "sum"), weekday=(WEEKDAY, "first"))
    last = days.groupby(c.RESTAURANT_ID)[c.BUSINESS_DATE].transform("max")
    age = (last - days[c.BUSINESS_DATE]).dt.days.to_numpy(dtype=float)
    days["decay"] = 0.5 ** (age / (7.0 * settings.half_life_weeks))
    days[HOLIDAY] = _flag(days, holidays)
    return days


def _fit_tables(frame: pd.DataFrame, settings: ShapeSettings, holidays: pd.MultiIndex) -> _Tables:
    days = _day_frame(frame, settings, holidays)
    days = days[days["total"] > 0]
    day = [c.RESTAURANT_ID, c.BUSINESS_DATE]
    wsum = (days["decay"] * days["total"]).groupby(
        [days[c.RESTAURANT_ID], days[WEEKDAY]]
    ).sum() / days["decay"].groupby([days[c.RESTAURANT_ID], days[WEEKDAY]]).sum()
    level = wsum.rename("level")
    ratio = (
        days["total"].to_numpy()
        / level.reindex(pd.MultiIndex.from_frame(days[[c.RESTAURANT_ID, WEEKDAY]])).to_numpy()
    )
    days["ratio"] = ratio
    edges = days.groupby(c.RESTAURANT_ID)["ratio"].agg(
        low=lambda r: r.quantile(1 / 3), high=lambda r: r.quantile(2 / 3)
    )
    own = edges.reindex(days[c.RESTAURANT_ID]).to_numpy()
    days[BAND] = (ratio > own[:, 0]).astype(int) + (ratio > own[:, 1]).astype(int)
    rows = frame.merge(days[[*day, "decay", BAND, HOLIDAY]], on=day, how="inner")
    rows["w"] = rows["decay"] * rows[c.Y]
    days["w"] = days["decay"] * days["total"]
    overall = rows.groupby([c.RESTAURANT_ID, OFFSET])["w"].sum()
    overall = (
        overall
        / days.groupby(c.RESTAURANT_ID)["w"]
        .sum()
        .reindex(overall.index.get_level_values(0))
        .to_numpy()
    )
    by_wd = rows.groupby([c.RESTAURANT_ID, WEEKDAY, OFFSET])["w"].sum()
    w_wd = days.groupby([c.RESTAURANT_ID, WEEKDAY])["w"].sum()
    over = overall.reindex(_keys_without(by_wd.index, [WEEKDAY])).fillna(0.0).to_numpy()
    k = settings.weekday_strength
    weekday = (by_wd.to_numpy() + k * over) / (
        w_wd.reindex(_keys_without(by_wd.index, [OFFSET])).to_numpy() + k
    )
    by_band = rows.groupby([c.RESTAURANT_ID, BAND, OFFSET])["w"].sum()
    w_band = days.groupby([c.RESTAURANT_ID, BAND])["w"].sum()
    hol_rows = rows[rows[HOLIDAY]]
    by_hol = hol_rows.groupby([c.RESTAURANT_ID, OFFSET])["w"].sum()
    w_hol = days[days[HOLIDAY]].groupby(c.RESTAURANT_ID)["w"].sum()
    return _Tables(
        weekday=pd.Series(weekday, by_wd.index, name=SHARE),
        overall=overall.rename(SHARE),
        band_ratio=_ratio(by_band, w_band, overall, settings.band_strength),
        holiday_ratio=_ratio(by_hol, w_hol, overall, settings.band_strength),
        level=level,
        edges=pd.DataFrame(edges),
    )


def _raw_shares(
    tables: _Tables, keyed: pd.DataFrame, use_band: bool, use_holiday: bool
) -> np.ndarray:
    """Unnormalised shares of slots keyed by restaurant, weekday, offset, band and holiday."""
    raw = _lookup(keyed, tables.weekday, [c.RESTAURANT_ID, WEEKDAY, OFFSET])
    if use_band:
        index = pd.MultiIndex.from_frame(keyed[[c.RESTAURANT_ID, BAND, OFFSET]])
        raw = raw * tables.band_ratio.reindex(index).fillna(1.0).to_numpy(dtype=float)
    if use_holiday:
        index = pd.MultiIndex.from_frame(keyed[[c.RESTAURANT_ID, OFFSET]])
        ratio = tables.holiday_ratio.reindex(index).fillna(1.0).to_numpy(dtype=float)
        raw = np.where(keyed[HOLIDAY].to_numpy(dtype=bool), raw * ratio, raw)
    return raw


def _bands(tables: _Tables, rids: pd.Series, weekdays: pd.Series, totals: np.ndarray) -> np.ndarray:
    level = tables.level.reindex(pd.MultiIndex.from_arrays([rids, weekdays])).to_numpy(float)
    ratio = totals / level
    edges = tables.edges.reindex(rids).to_numpy(dtype=float)
    band = (ratio > edges[:, 0]).astype(int) + (ratio > edges[:, 1]).astype(int)
    return np.where(np.isfinite(ratio) & np.isfinite(edges).all(axis=1), band, 1)


def _normalised(raw: np.ndarray, keyed: pd.DataFrame, group: list[str]) -> np.ndarray:
    total = pd.Series(raw, index=keyed.index).groupby([keyed[k] for k in group]).transform("sum")
    return np.asarray(raw / total.where(total > 0).to_numpy(), dtype=float)


class IntradayShape:
    """A learned intraday shape: each restaurant's decay-weighted weekday profile (a ratio of
    sums over up to a year, recent weeks weighing most, shrunk towards its all-weekday profile),
    adjusted for the day's level (the busy, ordinary and quiet thirds of days relative to their
    weekday's level each have their own shrunk relative profile: a busy day is not a scaled quiet
    day) and for holidays, each adjustment kept only when it lowers the WAPE of the shares on
    the held-out last weeks of history.

    Args:
        settings: How it learns (:class:`ShapeSettings`).
        holidays: Each restaurant's business dates that are holidays (past ones to learn from,
            future ones to forecast).
    """

    def __init__(
        self,
        settings: ShapeSettings | None = None,
        holidays: Mapping[str, frozenset[pd.Timestamp]] | None = None,
    ) -> None:
        """Stores the settings."""
        self.settings = settings or ShapeSettings()
        self.holidays = holidays

    def _holiday_pairs(self) -> pd.MultiIndex:
        pairs = [
            (rid, pd.Timestamp(d)) for rid, days in (self.holidays or {}).items() for d in days
        ]
        return pd.MultiIndex.from_tuples(pairs, names=[c.RESTAURANT_ID, c.BUSINESS_DATE])

    def fit(self, history: pd.DataFrame, *, cutoff_hour: CutoffHour = 0) -> IntradayShape:
        """Learns from intraday history ``restaurant_id, ds, y`` (local naive slot starts)."""
        frame = _with_business_date(history, cutoff_hour)
        last = frame.groupby(c.RESTAURANT_ID)[c.BUSINESS_DATE].transform("max")
        frame = frame[frame[c.BUSINESS_DATE] > last - pd.Timedelta(weeks=self.settings.span_weeks)]
        self.fallback_ = intraday_profile(frame, weeks=8)
        self.use_band_, self.use_holiday_ = self._choose(frame, last.loc[frame.index])
        self.tables_ = _fit_tables(frame, self.settings, self._holiday_pairs())
        return self

    def _choose(self, frame: pd.DataFrame, last: pd.Series) -> tuple[bool, bool]:
        """Which adjustments lower the held-out WAPE (with the days' actual totals)."""
        split = last - pd.Timedelta(weeks=self.settings.validation_weeks)
        train, held = frame[frame[c.BUSINESS_DATE] <= split], frame[frame[c.BUSINESS_DATE] > split]
        if train.empty or held.empty:
            self.validation_wape_: dict[str, float] = {}
            return False, False
        tables = _fit_tables(train, self.settings, self._holiday_pairs())
        day = [c.RESTAURANT_ID, c.BUSINESS_DATE]
        keyed = held.reset_index(drop=True)
        totals = keyed.groupby(day)[c.Y].transform("sum").to_numpy(dtype=float)
        keyed[BAND] = _bands(tables, keyed[c.RESTAURANT_ID], keyed[WEEKDAY], totals)
        keyed[HOLIDAY] = _flag(keyed, self._holiday_pairs())
        y = keyed[c.Y].to_numpy(dtype=float)
        scores: dict[str, float] = {}
        for band in (False, True):
            for holiday in (False, True):
                share = _normalised(_raw_shares(tables, keyed, band, holiday), keyed, day)
                err = np.nansum(np.abs(y - totals * np.nan_to_num(share)))
                scores[f"band={band},holiday={holiday}"] = float(err / max(y.sum(), 1e-12))
        self.validation_wape_ = scores
        best = min(scores, key=lambda k: scores[k])
        return "band=True" in best, "holiday=True" in best

    def raw_shares(self, keyed: pd.DataFrame, daily_total: np.ndarray) -> np.ndarray:
        """Unnormalised shares of ``keyed`` slots (``restaurant_id, business_date, weekday,
        offset``), each day's level band from its forecast ``daily_total`` (one per slot)."""
        check_fitted_shape(self)
        keyed = keyed.copy()
        keyed[BAND] = _bands(self.tables_, keyed[c.RESTAURANT_ID], keyed[WEEKDAY], daily_total)
        keyed[HOLIDAY] = _flag(keyed, self._holiday_pairs())
        return _raw_shares(self.tables_, keyed, self.use_band_, self.use_holiday_)


def check_fitted_shape(shape: IntradayShape) -> None:
    """Raises :class:`sklearn.exceptions.NotFittedError` before :meth:`IntradayShape.fit`."""
    if not hasattr(shape, "tables_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError("IntradayShape is not fitted yet; call fit() first")


def _keys_without(index: pd.Index, drop: list[str]) -> pd.Index:
    """``index`` (a MultiIndex) without the levels ``drop`` (a plain index when one is left)."""
    frame = index.to_frame(index=False).drop(columns=drop)
    if frame.shape[1] == 1:
        single: pd.Index = pd.Index(frame.iloc[:, 0].to_numpy(), name=str(frame.columns[0]))
        return single
    out: pd.Index = pd.MultiIndex.from_frame(frame)
    return out


def _lookup(slots: pd.DataFrame, table: pd.Series, on: list[str]) -> np.ndarray:
    index = pd.MultiIndex.from_frame(slots[on])
    return table.reindex(index).fillna(0.0).to_numpy(dtype=float)


def _slot_shares(
    slots: pd.DataFrame,
    profile: IntradayProfile,
    group: list[str],
    first: np.ndarray | None = None,
) -> np.ndarray:
    """Each slot's share of its day, from the first profile level with a positive total
    (``first``, when given, before the profile's weekday level)."""
    levels = [
        *([] if first is None else [first]),
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
    """Moves each day's floating-point remainder onto its largest slot (in place); while the
    re-summed day is still off by rounding, that slot steps one float towards the total (a
    few rounds at most)."""
    biggest = out.groupby(group, sort=False)[SHARE].idxmax().to_numpy()
    position = out.index.get_indexer(pd.Index(biggest))
    for round_ in range(_EXACT_ROUNDS):
        sums = out.groupby(group, sort=False)[c.YHAT].transform("sum").to_numpy(dtype=float)
        remainder = (daily_total - sums)[position]
        if not remainder.any():
            break
        values = out[c.YHAT].to_numpy(dtype=float).copy()
        if round_ == 0:
            values[position] += remainder
        else:
            off = position[remainder != 0]
            towards = np.where(remainder[remainder != 0] > 0, np.inf, -np.inf)
            values[off] = np.nextafter(values[off], towards)
        out[c.YHAT] = np.maximum(values, 0.0)


def split_daily(
    daily: pd.DataFrame,
    slots: pd.DataFrame,
    history: pd.DataFrame | IntradayProfile | IntradayShape,
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
        history: Intraday history ``restaurant_id, ds, y``, a ready :class:`IntradayProfile`,
            or a fitted :class:`IntradayShape` (its shares first, its recent profile's levels
            as fallbacks).
        weeks: Weeks of history for the profile (when ``history`` is a frame).
        cutoff_hour: Business-day start hour for the history (when it has no business date).

    Returns:
        One row per slot and model: ``restaurant_id, business_date, ds`` (slot start), the
        daily frame's other columns with ``yhat`` and interval bounds scaled by the slot's share.
        Each day's ``yhat`` over its slots sums to the daily ``yhat``.
    """
    shape = history if isinstance(history, IntradayShape) else None
    if shape is not None:
        check_fitted_shape(shape)
        profile = shape.fallback_
    elif isinstance(history, IntradayProfile):
        profile = history
    elif isinstance(history, pd.DataFrame):
        profile = intraday_profile(history, weeks=weeks, cutoff_hour=cutoff_hour)
    day_keys = [c.RESTAURANT_ID, c.BUSINESS_DATE]
    keyed = _keyed(
        slots[[*day_keys, c.DS]].assign(
            **{
                c.DS: pd.to_datetime(slots[c.DS]),
                c.BUSINESS_DATE: pd.to_datetime(slots[c.BUSINESS_DATE]),
            }
        )
    ).reset_index(drop=True)
    days = daily.rename(columns={c.DS: c.BUSINESS_DATE})
    days[c.BUSINESS_DATE] = pd.to_datetime(days[c.BUSINESS_DATE])
    if shape is None:
        keyed[SHARE] = _slot_shares(keyed, profile, day_keys)
        out = keyed.merge(days, on=day_keys, how="inner")
    else:  # the shares depend on each row's daily level (one split per model)
        out = keyed.merge(days, on=day_keys, how="inner")
        group = [*day_keys, *([c.MODEL] if c.MODEL in out.columns else [])]
        raw = shape.raw_shares(out, out[c.YHAT].to_numpy(dtype=float))
        out[SHARE] = _slot_shares(out, profile, group, raw)
    group = [*day_keys, *([c.MODEL] if c.MODEL in out.columns else [])]
    daily_total = out[c.YHAT].to_numpy(dtype=float)
    bounds = [col for level in levels_in(out) for col in interval_columns(level)]
    bounds += quantile_columns_in(out)
    for col in [c.YHAT, *bounds]:
        out[col] = out[col].to_numpy(dtype=float) * out[SHARE].to_numpy()
    _make_exact(out, group, daily_total)
    return out.drop(columns=[WEEKDAY, OFFSET, SHARE]).reset_index(drop=True)
