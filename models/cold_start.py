"""Forecasts for new restaurants (fewer than :data:`MIN_DAYS` days of history): cold start.

A local model cannot be fitted on a week of data, so a new restaurant's daily forecast is made
from what the rest of the fleet knows:

- the *global* model's forecast (XGBoost learns across restaurants, so it forecasts a restaurant
  from its few days of history and the calendar), when there is one;
- its *peers*: established restaurants (at least :data:`MIN_DAYS` days) in the same country,
  with the same POS provider and in the same size band (terciles of the established
  restaurants' recent mean demand; the new restaurant's band from the mean of its own days).
  When fewer than :data:`MIN_PEERS` restaurants match, the provider, then the country, then the
  band are dropped from the match. The peers' median weekday shape (each peer's weekday means
  over the last :data:`PEER_WEEKS` weeks divided by its mean) times the new restaurant's own
  level (its days' mean, each day divided by the shape of its weekday) is the peer forecast.

The cold-start forecast is the mean of the two in log1p space (the geometric mean of ``1 + y``),
or the peer forecast alone where the global model gave none. :func:`peer_median` is the plain
baseline it is measured against: the median of the peers' weekday means, ignoring the new
restaurant's own days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import columns as c
from models.base import Calendar
from models.ensemble import EnsembleForecaster
from models.frames import SERVED_BY, STEP, ForecastFrame, SeriesFrame
from models.intervals import apply_intervals, steps

__all__ = [
    "COLD_START",
    "MIN_DAYS",
    "Peers",
    "blend",
    "cold_restaurants",
    "ensemble_rows",
    "peer_forecast",
    "peer_median",
    "peers",
]

COLD_START = "cold_start"
"""The ``served_by`` of a cold-start forecast, and the name of the flag column marking rows of
cold-start restaurants."""
MIN_DAYS = 14
GLOBAL_WEIGHT = 0.5
"""The global model's weight in :func:`blend` (log1p space)."""
MIN_PEERS = 3
PEER_WEEKS = 8
BANDS = 3
WEEKDAY = "weekday"
_MATCH = (c.COUNTRY, c.POS_PROVIDER, "band")


def cold_restaurants(series: SeriesFrame, min_days: int = MIN_DAYS) -> list[str]:
    """Restaurants of ``series`` with at least one but fewer than ``min_days`` days of data."""
    counts = series.data.groupby(c.RESTAURANT_ID)[c.DS].nunique()
    return sorted(str(r) for r in counts[(counts > 0) & (counts < min_days)].index)


def _recent(data: pd.DataFrame, weeks: int = PEER_WEEKS) -> pd.DataFrame:
    last = data.groupby(c.RESTAURANT_ID)[c.DS].transform("max")
    return data[data[c.DS] > last - pd.Timedelta(weeks=weeks)]


def _meta(calendar: Calendar, ids: list[str]) -> pd.DataFrame:
    meta = calendar.restaurants.drop_duplicates(c.RESTAURANT_ID).set_index(c.RESTAURANT_ID)
    out = pd.DataFrame(index=pd.Index(ids, name=c.RESTAURANT_ID))
    for col in (c.COUNTRY, c.POS_PROVIDER):
        values = meta[col] if col in meta.columns else pd.Series(dtype=object)
        out[col] = values.reindex(out.index).astype(object).where(lambda s: s.notna(), "")
    return out


@dataclass(frozen=True)
class Peers:
    """Each cold-start restaurant's peers and the shapes the forecasts are made from.

    Attributes:
        members: Cold-start restaurant id -> its peers' ids.
        matched_on: Cold-start restaurant id -> the metadata its peers share with it
            (some of ``country``, ``pos_provider``, ``band``; empty: the whole fleet).
        weekday_mean: Index ``restaurant_id, weekday``: each established restaurant's mean
            over its last :data:`PEER_WEEKS` weeks.
        shape: Index ``restaurant_id, weekday``: ``weekday_mean`` over the restaurant's mean.
    """

    members: dict[str, list[str]]
    matched_on: dict[str, tuple[str, ...]]
    weekday_mean: pd.Series
    shape: pd.Series

    def median_shape(self, rid: str) -> pd.Series:
        """The peers' median shape by weekday (1.0 for a weekday no peer trades on)."""
        table = self.shape.unstack(WEEKDAY).reindex(self.members[rid], columns=range(7))
        return table.median(axis=0).fillna(1.0)

    def median_mean(self, rid: str) -> pd.Series:
        """The peers' median weekday mean (their overall median for a weekday none trades on)."""
        table = self.weekday_mean.unstack(WEEKDAY).reindex(self.members[rid], columns=range(7))
        return table.median(axis=0).fillna(float(np.nanmedian(table.to_numpy(dtype=float))))


def peers(
    series: SeriesFrame,
    calendar: Calendar,
    cold: list[str],
    min_days: int = MIN_DAYS,
    min_peers: int = MIN_PEERS,
) -> Peers:
    """Finds each cold-start restaurant's peers among the established restaurants (at least
    ``min_days`` days): the first match with ``min_peers`` of them (or the whole fleet).

    Raises:
        ValueError: no established restaurant to learn from.
    """
    data = series.data
    counts = data.groupby(c.RESTAURANT_ID)[c.DS].nunique()
    established = sorted(str(r) for r in counts[counts >= min_days].index)
    if not established:
        raise ValueError(
            f"cold start: no restaurant has {min_days} days of history to serve as a peer"
        )
    recent = _recent(data[data[c.RESTAURANT_ID].isin(established)])
    recent = recent.assign(**{WEEKDAY: recent[c.DS].dt.day_of_week})
    weekday_mean = recent.groupby([c.RESTAURANT_ID, WEEKDAY])[c.Y].mean()
    level = recent.groupby(c.RESTAURANT_ID)[c.Y].mean()
    shape = weekday_mean / level.reindex(weekday_mean.index.get_level_values(0)).to_numpy()
    shape = shape.where(np.isfinite(shape), 1.0)
    log_level = np.log1p(level.reindex(established).to_numpy(dtype=float))
    edges = np.quantile(log_level, np.linspace(0, 1, BANDS + 1)[1:-1])
    meta = _meta(calendar, [*established, *cold])
    meta["band"] = ""
    meta.loc[established, "band"] = np.searchsorted(edges, log_level, side="right").astype(str)
    own = data[data[c.RESTAURANT_ID].isin(cold)].groupby(c.RESTAURANT_ID)[c.Y].mean()
    own_log = np.log1p(own.reindex(cold).to_numpy(dtype=float))
    meta.loc[cold, "band"] = np.searchsorted(edges, own_log, side="right").astype(str)
    members: dict[str, list[str]] = {}
    matched: dict[str, tuple[str, ...]] = {}
    pool = meta.loc[established]
    for rid in cold:
        for keys in (_MATCH, (c.COUNTRY, "band"), ("band",), ()):
            mask = np.ones(len(pool), dtype=bool)
            for key in keys:
                mask &= (pool[key] == meta.at[rid, key]).to_numpy()
            if mask.sum() >= min(min_peers, len(pool)):
                members[rid] = [str(r) for r in pool.index[mask]]
                matched[rid] = keys
                break
    return Peers(members=members, matched_on=matched, weekday_mean=weekday_mean, shape=shape)


def peer_forecast(series: SeriesFrame, found: Peers, keys: pd.DataFrame) -> np.ndarray:
    """The peer forecast of each row of ``keys`` (``restaurant_id, ds`` of cold restaurants):
    the restaurant's own level times its peers' median weekday shape."""
    out = np.full(len(keys), np.nan)
    data = series.data
    ids = keys[c.RESTAURANT_ID].to_numpy()
    weekdays = pd.to_datetime(keys[c.DS]).dt.day_of_week.to_numpy()
    for rid in found.members:
        shape = found.median_shape(rid)
        own = data[data[c.RESTAURANT_ID] == rid]
        divisor = np.maximum(shape.reindex(own[c.DS].dt.day_of_week).to_numpy(dtype=float), 1e-6)
        level = float(np.mean(own[c.Y].to_numpy(dtype=float) / divisor))
        mine = ids == rid
        out[mine] = level * shape.reindex(weekdays[mine]).to_numpy(dtype=float)
    result: np.ndarray = np.maximum(out, 0.0)
    return result


def peer_median(found: Peers, keys: pd.DataFrame) -> np.ndarray:
    """The baseline: the median of the peers' recent means on the row's weekday."""
    out = np.full(len(keys), np.nan)
    ids = keys[c.RESTAURANT_ID].to_numpy()
    weekdays = pd.to_datetime(keys[c.DS]).dt.day_of_week.to_numpy()
    for rid in found.members:
        mine = ids == rid
        out[mine] = found.median_mean(rid).reindex(weekdays[mine]).to_numpy(dtype=float)
    return out


def blend(
    global_yhat: np.ndarray, peer_yhat: np.ndarray, global_weight: float = GLOBAL_WEIGHT
) -> np.ndarray:
    """The cold-start forecast: the log1p-space weighted mean of the global and the peer
    forecasts (``global_weight`` on the global one); the peer forecast alone where the global
    one is missing (NaN)."""
    g = np.log1p(np.maximum(np.asarray(global_yhat, dtype=float), 0.0))
    p = np.log1p(np.maximum(np.asarray(peer_yhat, dtype=float), 0.0))
    mixed = np.expm1(global_weight * g + (1.0 - global_weight) * p)
    out: np.ndarray = np.where(np.isfinite(g), mixed, np.expm1(p))
    return out


GLOBAL_MEMBER = "xgboost"


def ensemble_rows(
    model: EnsembleForecaster, series: SeriesFrame, calendar: Calendar, keys: pd.DataFrame
) -> pd.DataFrame:
    """The ensemble's rows for cold-start restaurants: ``restaurant_id, ds, model`` (the
    ensemble's name), ``yhat`` (:func:`blend` of the ensemble's global member and the peer
    forecast), ``served_by`` ``cold_start``, ``step`` and the ensemble's interval columns (the
    widest of its models': a cold start is served by no model it validated).

    Args:
        model: The fitted ensemble (its ``xgboost`` member, when it has one, is the global model).
        series: The history up to the origin, every restaurant (the peers' too).
        calendar: Restaurant metadata (country, POS provider) and events.
        keys: ``restaurant_id, ds`` of the cold-start restaurants' rows to forecast.
    """
    keys = keys[[c.RESTAURANT_ID, c.DS]].reset_index(drop=True)
    keys[c.DS] = pd.to_datetime(keys[c.DS])
    cold = sorted(str(r) for r in keys[c.RESTAURANT_ID].unique())
    found = peers(series, calendar, cold)
    glob = np.full(len(keys), np.nan)
    member = model.members_.get(GLOBAL_MEMBER) if hasattr(model, "members_") else None
    if member is not None:
        rows = member.predict(keys).data[[c.RESTAURANT_ID, c.DS, c.YHAT]]
        glob = keys.merge(rows, on=[c.RESTAURANT_ID, c.DS], how="left")[c.YHAT].to_numpy(
            dtype=float
        )
    out = keys.copy()
    out[c.MODEL] = model.name
    out[c.YHAT] = blend(glob, peer_forecast(series, found, keys))
    out[SERVED_BY] = COLD_START
    out[STEP] = steps(keys[c.DS], model.cutoff_, model.freq_)
    point = ForecastFrame.from_frame(out)
    if model.residual_table_.empty:
        return point.data
    return apply_intervals(point, model.residual_table_, model.levels).data
