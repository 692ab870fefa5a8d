"""Calendar knowledge as model input: public holidays, calendar events and closures.

Two views of one :class:`~models.base.Calendar`:

- :func:`prophet_holidays`: Prophet's ``holidays`` frame for one restaurant (public holidays of
  its country and subdivision from the ``holidays`` package, offline, plus the calendar's
  ``holiday`` and ``event`` kinds with their windows). Closures are not holidays: a closed day is
  an absent row of the series.
- :func:`calendar_features`: vectorised per-(restaurant, ds) features for a global model
  (see :data:`CALENDAR_FEATURES`).

Public holiday sets are cached per (country, subdivision, first year, last year), and rows are
processed per group of restaurants that share a country, a subdivision and their own events, so
hundreds of restaurants with the same calendar cost one pass.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import columns as c
from models.base import Calendar

__all__ = [
    "CALENDAR_FEATURES",
    "DAYS_SINCE_EVENT",
    "DAYS_SINCE_HOLIDAY",
    "DAYS_TO_EVENT",
    "DAYS_TO_HOLIDAY",
    "DEFAULT_CAP",
    "IN_EVENT",
    "IS_CLOSED",
    "IS_HOLIDAY",
    "PROPHET_HOLIDAY",
    "calendar_features",
    "day_numbers",
    "prophet_holidays",
    "prophet_holidays_of",
    "public_holidays",
]

PROPHET_HOLIDAY = "holiday"  # Prophet's name for the holiday-name column
IS_HOLIDAY = "is_holiday"
DAYS_TO_HOLIDAY = "days_to_holiday"
DAYS_SINCE_HOLIDAY = "days_since_holiday"
IN_EVENT = "in_event"
DAYS_TO_EVENT = "days_to_event"
DAYS_SINCE_EVENT = "days_since_event"
IS_CLOSED = "is_closed"
CALENDAR_FEATURES = (
    IS_HOLIDAY, DAYS_TO_HOLIDAY, DAYS_SINCE_HOLIDAY, IN_EVENT, DAYS_TO_EVENT, DAYS_SINCE_EVENT,
    IS_CLOSED,
)  # fmt: skip
DEFAULT_CAP = 14
_EMPTY_DAYS = np.array([], dtype=np.int64)


def day_numbers(values: pd.Series | pd.Index | np.ndarray | list[pd.Timestamp]) -> np.ndarray:
    """Dates as int64 days since 1970-01-01 (any datetime resolution or date strings)."""
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(pd.Series(arr)).to_numpy()
    return arr.astype("datetime64[D]").astype(np.int64)


def _day_number(value: pd.Timestamp | str) -> int:
    return int(day_numbers([pd.Timestamp(value)])[0])


@functools.lru_cache(maxsize=256)
def public_holidays(
    country: str | None, subdivision: str | None, first_year: int, last_year: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Public holidays from the ``holidays`` package (offline), cached.

    Args:
        country: ISO 3166 alpha-2 code; None or unknown gives no holidays.
        subdivision: the country's subdivision code; an unknown one falls back to the country.
        first_year: first year to cover.
        last_year: last year to cover (inclusive).

    Returns:
        Sorted day numbers (see :func:`day_numbers`) and the holiday name of each.
    """
    if not country:
        return _EMPTY_DAYS, ()
    import holidays

    years = range(first_year, last_year + 1)
    try:
        found = holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    except NotImplementedError:
        if not subdivision:
            return _EMPTY_DAYS, ()
        return public_holidays(country, None, first_year, last_year)
    items = sorted(found.items())
    days = np.array([np.datetime64(d, "D").astype(np.int64) for d, _ in items], dtype=np.int64)
    days.setflags(write=False)
    return days, tuple(str(name) for _, name in items)


# --- events -------------------------------------------------------------------------------------


def _normalised_events(calendar: Calendar) -> pd.DataFrame:
    """Events with day numbers, non-negative window sizes and ``None`` for global events."""
    ev = calendar.events
    if ev.empty:
        return pd.DataFrame(
            {col: pd.Series(dtype=object) for col in (c.RESTAURANT_ID, c.EVENT_KIND, c.NAME)}
            | {col: pd.Series(dtype=np.int64) for col in ("start", "end", "before", "after")}
        )
    rid = ev[c.RESTAURANT_ID].astype(object)
    rid = rid.where(rid.notna() & (rid.astype(str) != ""), None)
    return pd.DataFrame(
        {
            c.RESTAURANT_ID: rid.to_numpy(),
            c.EVENT_KIND: ev[c.EVENT_KIND].astype(str).to_numpy(),
            c.NAME: ev[c.NAME].astype(str).to_numpy(),
            "start": day_numbers(ev[c.START_DATE]),
            "end": day_numbers(ev[c.END_DATE]),
            "before": _window(ev[c.LOWER_WINDOW]),
            "after": _window(ev[c.UPPER_WINDOW]),
        }
    )


def _window(values: pd.Series) -> np.ndarray:
    """Window sizes in days (blank means 0; the sign is ignored: Prophet's -1 and 1 both mean 1)."""
    nums = pd.to_numeric(values.replace("", np.nan), errors="coerce").fillna(0)
    return np.abs(nums.to_numpy(dtype=float)).astype(np.int64)


def _expand_days(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every day of each [start, end] interval, with the index of its interval."""
    lengths = np.maximum(end - start + 1, 0)
    owner = np.repeat(np.arange(len(start)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return start[owner] + offsets, owner


# --- Prophet holidays ---------------------------------------------------------------------------


def prophet_holidays(
    calendar: Calendar, restaurant_id: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Prophet's ``holidays`` frame for one restaurant over ``[start, end]``.

    Args:
        calendar: restaurants (country, subdivision) and events.
        restaurant_id: the restaurant.
        start: first date to cover (training start).
        end: last date to cover (must reach past the forecast horizon).

    Returns:
        Columns ``holiday, ds, lower_window, upper_window`` (lower <= 0 <= upper), one row per
        holiday day; empty when the restaurant has none.
    """
    return prophet_holidays_of(calendar, {restaurant_id: start}, end)[restaurant_id]


def prophet_holidays_of(
    calendar: Calendar, starts: Mapping[str, pd.Timestamp], end: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """:func:`prophet_holidays` of many restaurants (``starts``: each one's first date), the
    shared work done once: the events are read once, and the merged, sorted holiday table is
    built once per group of restaurants with the same country, subdivision, own events and first
    year; each restaurant's frame is a slice of its group's table."""
    last = _day_number(end)
    ev = _normalised_events(calendar)
    ev = ev[ev[c.EVENT_KIND].isin((c.EVENT_HOLIDAY, c.EVENT_LOCAL))]
    ids = np.asarray([str(rid) for rid in starts], dtype=object)
    tables: dict[tuple[_GroupKey, int], pd.DataFrame] = {}
    out: dict[str, pd.DataFrame] = {}
    for rid, key in zip(ids.tolist(), _keys(calendar, ev, ids), strict=True):
        start = pd.Timestamp(starts[rid])
        table = tables.get((key, start.year))
        if table is None:
            table = _holiday_table(key, ev, (start.year, pd.Timestamp(end).year))
            tables[(key, start.year)] = table
        day = table["day"].to_numpy()
        lo = int(np.searchsorted(day, _day_number(start), side="left"))
        rows = table.iloc[lo : int(np.searchsorted(day, last, side="right"))]
        out[rid] = pd.DataFrame(
            {
                PROPHET_HOLIDAY: rows[PROPHET_HOLIDAY].to_numpy(),
                c.DS: rows["day"].to_numpy().astype("datetime64[D]").astype("datetime64[ns]"),
                c.LOWER_WINDOW: -rows["before"].to_numpy(dtype=np.int64),
                c.UPPER_WINDOW: rows["after"].to_numpy(dtype=np.int64),
            }
        )
    return out


def _holiday_table(key: _GroupKey, ev: pd.DataFrame, years: tuple[int, int]) -> pd.DataFrame:
    """One group's public holidays and own holidays and events, a row per (name, day) (the
    public holiday's window when both name a day), sorted by day then name."""
    country, sub, own_rows = key
    days, names = public_holidays(country, sub, years[0], years[1])
    public = pd.DataFrame(
        {PROPHET_HOLIDAY: list(names), "day": days, "before": 0, "after": 0}
    )  # fmt: skip
    mine = ev[ev[c.RESTAURANT_ID].isna() | ev.index.isin(list(own_rows))]
    day, owner = _expand_days(mine["start"].to_numpy(), mine["end"].to_numpy())
    own = pd.DataFrame(
        {
            PROPHET_HOLIDAY: mine[c.NAME].to_numpy()[owner],
            "day": day,
            "before": mine["before"].to_numpy()[owner],
            "after": mine["after"].to_numpy()[owner],
        }
    )
    both = pd.concat([public, own], ignore_index=True)
    both[PROPHET_HOLIDAY] = both[PROPHET_HOLIDAY].astype(str)
    both["day"] = both["day"].astype(np.int64)
    both = both.drop_duplicates([PROPHET_HOLIDAY, "day"]).sort_values(["day", PROPHET_HOLIDAY])
    return both.reset_index(drop=True)


# --- vectorised features for global models ------------------------------------------------------


_GroupKey = tuple[str | None, str | None, tuple[int, ...]]


def _keys(calendar: Calendar, ev: pd.DataFrame, ids: np.ndarray) -> list[_GroupKey]:
    """Each restaurant's (country, subdivision, row numbers of its own events)."""
    own = ev[ev[c.RESTAURANT_ID].notna()]
    own_rows = {
        str(rid): tuple(int(i) for i in rows)
        for rid, rows in own.groupby(own[c.RESTAURANT_ID].astype(str)).groups.items()
    }
    countries, subs = _locations(calendar, ids)
    return [
        (countries[i], subs[i], own_rows.get(str(rid), ())) for i, rid in enumerate(ids.tolist())
    ]


def _number_groups(keys: list[_GroupKey]) -> tuple[dict[_GroupKey, int], np.ndarray]:
    """A number for each distinct key (in order of first appearance), and each key's number."""
    groups: dict[_GroupKey, int] = {}
    numbers = np.array([groups.setdefault(key, len(groups)) for key in keys], dtype=np.int64)
    return groups, numbers


@dataclass(frozen=True)
class _DaySets:
    """The sorted day numbers and intervals one group of restaurants shares."""

    holidays: np.ndarray
    event_starts: np.ndarray  # window starts, sorted
    event_ends: np.ndarray  # window ends, sorted
    event_first: np.ndarray  # first core day of each event, sorted
    event_last: np.ndarray  # last core day of each event, sorted
    closure_starts: np.ndarray
    closure_ends: np.ndarray


def _locations(calendar: Calendar, ids: np.ndarray) -> tuple[list[str | None], list[str | None]]:
    """Country and subdivision of each restaurant in ``ids`` (None when unknown)."""
    rest = calendar.restaurants
    if rest.empty or c.RESTAURANT_ID not in rest.columns:
        return [None] * len(ids), [None] * len(ids)
    table = rest.drop_duplicates(c.RESTAURANT_ID)
    table.index = pd.Index(table[c.RESTAURANT_ID].astype(str))
    out: list[list[str | None]] = []
    for col in (c.COUNTRY, c.SUBDIVISION):
        if col not in table.columns:
            out.append([None] * len(ids))
            continue
        vals = table[col].reindex(ids.astype(str))
        out.append([v if isinstance(v, str) and v else None for v in vals.tolist()])
    return out[0], out[1]


def _day_sets(key: _GroupKey, ev: pd.DataFrame, years: tuple[int, int]) -> _DaySets:
    country, sub, own_rows = key
    applicable = ev[ev[c.RESTAURANT_ID].isna() | ev.index.isin(list(own_rows))]
    hol = applicable[applicable[c.EVENT_KIND] == c.EVENT_HOLIDAY]
    hol_days, _ = _expand_days(hol["start"].to_numpy(), hol["end"].to_numpy())
    public, _ = public_holidays(country, sub, years[0], years[1])
    events = applicable[applicable[c.EVENT_KIND] == c.EVENT_LOCAL]
    closures = applicable[applicable[c.EVENT_KIND] == c.EVENT_CLOSURE]
    start, end = events["start"].to_numpy(), events["end"].to_numpy()
    return _DaySets(
        holidays=np.unique(np.concatenate([public, hol_days])),
        event_starts=np.sort(start - events["before"].to_numpy()),
        event_ends=np.sort(end + events["after"].to_numpy()),
        event_first=np.sort(start),
        event_last=np.sort(end),
        closure_starts=np.sort(closures["start"].to_numpy()),
        closure_ends=np.sort(closures["end"].to_numpy()),
    )


def _days_to_next(day: np.ndarray, points: np.ndarray, cap: int) -> np.ndarray:
    """Days from each day to the next point on or after it, capped."""
    if len(points) == 0:
        return np.full(len(day), cap, dtype=np.int64)
    idx = np.searchsorted(points, day, side="left")
    nxt = points[np.minimum(idx, len(points) - 1)]
    return np.where(idx < len(points), np.minimum(nxt - day, cap), cap)


def _days_since_last(day: np.ndarray, points: np.ndarray, cap: int) -> np.ndarray:
    """Days from the last point on or before each day, capped."""
    if len(points) == 0:
        return np.full(len(day), cap, dtype=np.int64)
    idx = np.searchsorted(points, day, side="right") - 1
    last = points[np.maximum(idx, 0)]
    return np.where(idx >= 0, np.minimum(day - last, cap), cap)


def _inside(day: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each day lies in at least one [start, end] interval (starts, ends sorted)."""
    started = np.searchsorted(starts, day, side="right")
    ended = np.searchsorted(ends, day, side="left")
    return started > ended


def _features_for(day: np.ndarray, sets: _DaySets, cap: int) -> dict[str, np.ndarray]:
    return {
        IS_HOLIDAY: np.isin(day, sets.holidays).astype(np.int8),
        DAYS_TO_HOLIDAY: _days_to_next(day, sets.holidays, cap),
        DAYS_SINCE_HOLIDAY: _days_since_last(day, sets.holidays, cap),
        IN_EVENT: _inside(day, sets.event_starts, sets.event_ends).astype(np.int8),
        DAYS_TO_EVENT: _days_to_next(day, sets.event_first, cap),
        DAYS_SINCE_EVENT: _days_since_last(day, sets.event_last, cap),
        IS_CLOSED: _inside(day, sets.closure_starts, sets.closure_ends).astype(np.int8),
    }


def calendar_features(
    keys: pd.DataFrame, calendar: Calendar, cap: int = DEFAULT_CAP
) -> pd.DataFrame:
    """Holiday, event and closure features for every (restaurant_id, ds) row of ``keys``.

    Args:
        keys: ``restaurant_id, ds`` rows (any order, duplicates allowed).
        calendar: restaurants (country, subdivision) and events.
        cap: distances are capped at this many days (also the value when there is none).

    Returns:
        One row per row of ``keys`` (same index) with the columns of :data:`CALENDAR_FEATURES`:
        ``is_holiday`` (public holiday or a calendar ``holiday`` day), ``days_to_holiday`` and
        ``days_since_holiday`` (0 on the day), ``in_event`` (inside an ``event``'s window),
        ``days_to_event`` (to the next event's first day), ``days_since_event`` (from the last
        event's last day), ``is_closed`` (a ``closure`` day).
    """
    day = day_numbers(keys[c.DS])
    codes, ids = pd.factorize(keys[c.RESTAURANT_ID].astype(str), sort=False)
    ids_arr = np.asarray(ids, dtype=object)
    out = {name: np.zeros(len(keys), dtype=np.int64) for name in CALENDAR_FEATURES}
    if len(keys) == 0:
        return pd.DataFrame(out, index=keys.index)
    years = (
        int(pd.Timestamp(day.min() - cap, unit="D").year) - 1,
        int(pd.Timestamp(day.max() + cap, unit="D").year) + 1,
    )
    ev = _normalised_events(calendar)
    groups, group_of_id = _number_groups(_keys(calendar, ev, ids_arr))
    row_group = group_of_id[codes]
    for key, g in groups.items():
        rows = np.flatnonzero(row_group == g)
        feats = _features_for(day[rows], _day_sets(key, ev, years), cap)
        for name, values in feats.items():
            out[name][rows] = values
    frame = pd.DataFrame(out, index=keys.index)
    flags = [IS_HOLIDAY, IN_EVENT, IS_CLOSED]
    frame[flags] = frame[flags].astype(np.int8)
    return frame
