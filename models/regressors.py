"""Exogenous drivers (regressors) as model inputs, with the leakage rule.

A regressor is a named daily value per restaurant (or for every restaurant: ``restaurant_id``
``*``) in :attr:`models.base.Calendar.regressors`: ``restaurant_id, ds, name, value,
known_in_advance``. A restaurant's own value wins over the every-restaurant one on a day both
have; a day with neither counts as 0 (no promotion, no rain, no reservations).

The leakage rule:

- a regressor **known in advance** (a booked promotion, reservations, a forecast temperature)
  is used at the target date itself: column ``reg_<name>``; a forecast needs its values for
  the forecast days (:func:`missing_values` lists the ones absent);
- a regressor **not known in advance** (the rain that fell, a footfall count) is used only
  through its value ``lag`` days before the target date, with ``lag`` the forecast horizon:
  column ``reg_<name>_lag<lag>``, and never a value dated after the forecast origin (those
  count as missing), so no forecast can read a day that had not happened at its origin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models import columns as c
from models.frames import FrameError

__all__ = [
    "REGRESSOR_FRAME_COLUMNS",
    "feature_name",
    "known_in_advance",
    "missing_values",
    "regressor_features",
]

REGRESSOR_FRAME_COLUMNS = (c.RESTAURANT_ID, c.DS, c.NAME, c.VALUE, c.KNOWN_IN_ADVANCE)
_PREFIX = "reg_"


def feature_name(name: str, known: bool, lag: int) -> str:
    """The model column of a regressor: ``reg_promo`` (known in advance) or ``reg_rain_lag28``."""
    return f"{_PREFIX}{name}" if known else f"{_PREFIX}{name}_lag{lag}"


def known_in_advance(regressors: pd.DataFrame, names: Sequence[str]) -> dict[str, bool]:
    """Whether each of ``names`` is known in advance, from the calendar's regressors.

    Raises:
        FrameError: a name has no values, or is marked both known and not known in advance.
    """
    out: dict[str, bool] = {}
    for name in names:
        flags = regressors.loc[regressors[c.NAME] == name, c.KNOWN_IN_ADVANCE]
        if flags.empty:
            have = ", ".join(sorted(regressors[c.NAME].astype(str).unique())) or "none"
            raise FrameError(
                f"regressor {name!r} has no values (import them with flux import; have: {have})"
            )
        distinct = set(flags.astype(bool))
        if len(distinct) > 1:
            raise FrameError(
                f"regressor {name!r} is marked both known and not known in advance; re-import it "
                "with one known_in_advance value"
            )
        out[name] = distinct.pop()
    return out


def _lookup(
    regressors: pd.DataFrame, name: str, restaurant_ids: pd.Series, days: pd.Series
) -> np.ndarray:
    """Each (restaurant, day)'s value of ``name``: the restaurant's own, else ``*``'s, else NaN."""
    rows = regressors[regressors[c.NAME] == name]
    day = pd.to_datetime(days).dt.normalize().to_numpy()
    table = pd.Series(
        rows[c.VALUE].to_numpy(dtype=float),
        index=pd.MultiIndex.from_arrays(
            [
                rows[c.RESTAURANT_ID].astype(str).to_numpy(),
                pd.to_datetime(rows[c.DS]).dt.normalize().to_numpy(),
            ]
        ),
    )
    table = table[~table.index.duplicated(keep="last")]
    ids = restaurant_ids.astype(str).to_numpy()
    own = table.reindex(pd.MultiIndex.from_arrays([ids, day])).to_numpy(dtype=float)
    every = np.full(len(day), c.ALL_RESTAURANTS, dtype=object)
    shared = table.reindex(pd.MultiIndex.from_arrays([every, day])).to_numpy(dtype=float)
    return np.where(np.isnan(own), shared, own)


def regressor_features(
    regressors: pd.DataFrame,
    keys: pd.DataFrame,
    known: Mapping[str, bool],
    lag: int,
    origin: pd.Series | pd.Timestamp,
) -> pd.DataFrame:
    """The regressor columns of ``keys`` (``restaurant_id, ds`` rows), aligned with them.

    Args:
        regressors: The calendar's regressors.
        keys: The target rows.
        known: Regressor name -> known in advance (:func:`known_in_advance`).
        lag: Days back a regressor that is not known in advance is read (the horizon, >= 1).
        origin: Each row's forecast origin (or one for all): values of a regressor that is not
            known in advance dated after it count as missing.

    Returns:
        One float column per regressor (:func:`feature_name`); missing values are 0.
    """
    if lag < 1:
        raise ValueError(f"regressor lag must be at least 1 (got {lag})")
    ds = pd.to_datetime(keys[c.DS]).reset_index(drop=True)
    ids = keys[c.RESTAURANT_ID].reset_index(drop=True)
    cut = (
        pd.Series(pd.Timestamp(origin), index=ds.index)
        if isinstance(origin, pd.Timestamp)
        else pd.to_datetime(origin).reset_index(drop=True)
    )
    out: dict[str, np.ndarray] = {}
    for name, is_known in known.items():
        if is_known:
            values = _lookup(regressors, name, ids, ds)
        else:
            read_day = ds - pd.Timedelta(days=lag)
            values = _lookup(regressors, name, ids, read_day)
            values = np.where((read_day <= cut).to_numpy(), values, np.nan)
        out[feature_name(name, is_known, lag)] = np.nan_to_num(values, nan=0.0)
    return pd.DataFrame(out, index=range(len(ds)))


def missing_values(
    regressors: pd.DataFrame, keys: pd.DataFrame, names: Sequence[str]
) -> dict[str, list[pd.Timestamp]]:
    """The dates of ``keys`` on which a regressor known in advance has no value (a forecast
    needs them all); regressor name -> sorted dates, only names with gaps."""
    known = known_in_advance(regressors, names)
    ids = keys[c.RESTAURANT_ID].reset_index(drop=True)
    ds = pd.to_datetime(keys[c.DS]).reset_index(drop=True)
    out: dict[str, list[pd.Timestamp]] = {}
    for name, is_known in known.items():
        if not is_known:
            continue
        values = _lookup(regressors, name, ids, ds)
        gaps = sorted({pd.Timestamp(d).normalize() for d in ds[np.isnan(values)]})
        if gaps:
            out[name] = gaps
    return out
