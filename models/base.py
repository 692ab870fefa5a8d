"""The forecaster contract every model follows (scikit-learn's conventions).

- ``__init__`` only stores settings (so ``get_params``/``set_params``/``clone`` work);
- ``fit(series, calendar)`` returns ``self``; learned state ends in ``_``;
- ``predict(future)`` before ``fit`` raises :class:`sklearn.exceptions.NotFittedError`;
- the public methods validate input and call the private ``_fit``/``_predict``;
- a fitted model saves itself as portable files it names (``to_files``/``from_files``; no pickles).

Local models (one per restaurant) record restaurants they could not fit in ``failed_`` and give no
rows for them; one failing restaurant never fails the whole fit. Global models learn one model
across restaurants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from models import columns as c
from models.frames import ForecastFrame, FrameError, SeriesFrame

__all__ = ["Calendar", "Forecaster", "NotFittedError", "check_fitted", "future_frame"]


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype=object) for col in c.EVENT_COLUMNS})


def _empty_regressors() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.RESTAURANT_ID: pd.Series(dtype=object),
            c.DS: pd.Series(dtype="datetime64[ns]"),
            c.NAME: pd.Series(dtype=object),
            c.VALUE: pd.Series(dtype=float),
            c.KNOWN_IN_ADVANCE: pd.Series(dtype=bool),
        }
    )


def _empty_restaurants() -> pd.DataFrame:
    return pd.DataFrame(
        {col: pd.Series(dtype=object) for col in (c.RESTAURANT_ID, c.COUNTRY, c.SUBDIVISION)}
    )


@dataclass(frozen=True)
class Calendar:
    """What models may know besides the series: restaurants and calendar events.

    Attributes:
        restaurants: ``restaurant_id, country, subdivision`` plus any static features (e.g.
            ``genre``, ``area``); one row per restaurant.
        events: ``restaurant_id`` (None: every restaurant), ``kind`` (closure | holiday |
            event), ``name``, ``start_date``, ``end_date`` (inclusive), ``lower_window``,
            ``upper_window``.
        regressors: Exogenous drivers, daily: ``restaurant_id`` (``*``: every restaurant),
            ``ds``, ``name``, ``value``, ``known_in_advance`` (see :mod:`models.regressors`;
            a model uses only the ones its ``regressors`` setting names).
    """

    restaurants: pd.DataFrame = field(default_factory=_empty_restaurants)
    events: pd.DataFrame = field(default_factory=_empty_events)
    regressors: pd.DataFrame = field(default_factory=_empty_regressors)

    def country(self, restaurant_id: str) -> tuple[str | None, str | None]:
        """The restaurant's (country, subdivision) for public holidays."""
        rows = self.restaurants[self.restaurants[c.RESTAURANT_ID] == restaurant_id]
        if rows.empty:
            return None, None
        row = rows.iloc[0]
        country = row.get(c.COUNTRY)
        sub = row.get(c.SUBDIVISION)
        return (
            str(country) if isinstance(country, str) and country else None,
            str(sub) if isinstance(sub, str) and sub else None,
        )

    def events_for(self, restaurant_id: str, kinds: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Events that apply to the restaurant (its own and global ones)."""
        ev = self.events
        mask = ev[c.RESTAURANT_ID].isna() | (ev[c.RESTAURANT_ID] == restaurant_id)
        if kinds is not None:
            mask &= ev[c.EVENT_KIND].isin(kinds)
        return ev[mask]

    def closed_days(self, restaurant_id: str) -> pd.DatetimeIndex:
        """Dates the restaurant is closed by a closure event."""
        pairs = self.closures([restaurant_id])
        return pd.DatetimeIndex(np.unique(pairs[c.DS].to_numpy()))

    def closures(self, restaurants: Sequence[str]) -> pd.DataFrame:
        """Every (``restaurant_id``, ``ds``) a closure event closes, for ``restaurants``: their
        own closures and the global ones (no restaurant), one row per pair, in one pass over the
        events (a lookup per restaurant scanned every event for each: the square of a fleet)."""
        ev = self.events[self.events[c.EVENT_KIND] == c.EVENT_CLOSURE]
        empty = pd.DataFrame(
            {c.RESTAURANT_ID: pd.Series(dtype=object), c.DS: pd.Series(dtype="datetime64[ns]")}
        )
        if ev.empty or not len(restaurants):
            return empty
        start = pd.to_datetime(ev[c.START_DATE]).dt.normalize().to_numpy("datetime64[D]")
        end = pd.to_datetime(ev[c.END_DATE]).dt.normalize().to_numpy("datetime64[D]")
        lengths = np.maximum((end - start).astype(np.int64) + 1, 0)
        event = np.repeat(np.arange(len(ev)), lengths)
        offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        day = (np.repeat(start, lengths) + offset.astype("timedelta64[D]")).astype("datetime64[ns]")
        owner = ev[c.RESTAURANT_ID].to_numpy(dtype=object)[event]
        wanted = pd.Index(pd.unique(np.asarray(restaurants, dtype=object)))
        glob = pd.isna(owner)
        own = ~glob & (wanted.get_indexer(owner.astype(str)) >= 0)
        g_days = np.unique(day[glob])
        frame = pd.DataFrame(
            {
                c.RESTAURANT_ID: np.concatenate(
                    [owner[own], np.repeat(wanted.to_numpy(), len(g_days))]
                ),
                c.DS: np.concatenate([day[own], np.tile(g_days, len(wanted))]),
            }
        )
        if frame.empty:
            return empty
        return frame.drop_duplicates(ignore_index=True)


def future_frame(
    restaurants: list[str], start: pd.Timestamp, periods: int, freq: str = "D"
) -> pd.DataFrame:
    """Every (restaurant_id, ds) of a horizon starting at ``start``."""
    ds = pd.date_range(start, periods=periods, freq=freq)
    return pd.DataFrame(
        {c.RESTAURANT_ID: np.repeat(restaurants, len(ds)), c.DS: np.tile(ds, len(restaurants))}
    )


def check_fitted(model: BaseEstimator, attribute: str, name: str | None = None) -> None:
    """Raises :class:`NotFittedError` unless ``model`` has the learned ``attribute``.

    Args:
        model: The estimator.
        attribute: A learned attribute that ``fit`` sets (ends in ``_``).
        name: How the message names the model (default: its class name).
    """
    what = name or type(model).__name__
    check_is_fitted(model, attribute, msg=f"{what} is not fitted yet; call fit() first")


class Forecaster(BaseEstimator):  # type: ignore[misc]
    """Base class: validates input, keeps the common fitted state, clips forecasts at zero."""

    name: ClassVar[str] = "forecaster"
    scope: ClassVar[Literal["local", "global"]] = "local"

    def fit(
        self,
        series: SeriesFrame,
        calendar: Calendar | None = None,
        *,
        earlier: Forecaster | None = None,
    ) -> Self:
        """Learns from ``series`` (all rows are training data).

        Args:
            series: The history.
            calendar: Restaurants and events.
            earlier: The same model, fitted on an earlier cut of the same history (an
                ensemble's validation fit). A model that can continue from what it learned
                does (:meth:`_fit_from`); the others fit from scratch.

        Raises:
            FrameError: ``series`` is empty.
        """
        if not isinstance(series, SeriesFrame):
            raise TypeError("fit() takes a SeriesFrame (build one with SeriesFrame.from_frame)")
        if len(series) == 0:
            raise FrameError(f"{self.name}: cannot fit on an empty series")
        self.freq_ = series.freq
        self.cutoff_ = pd.Timestamp(series.data[c.DS].max())
        self.restaurants_ = series.restaurants
        self.failed_: dict[str, str] = {}
        if earlier is None:
            self._fit(series, calendar or Calendar())
        else:
            self._fit_from(earlier, series, calendar or Calendar())
        return self

    def predict(self, future: pd.DataFrame) -> ForecastFrame:
        """Forecasts the (restaurant_id, ds) rows of ``future``.

        Rows of restaurants the model could not fit (``failed_``) or never saw are left out;
        callers fall back to another model for them.
        """
        check_fitted(self, "cutoff_", self.name)
        missing = {c.RESTAURANT_ID, c.DS} - set(future.columns)
        if missing:
            raise FrameError(f"future: missing column(s) {', '.join(sorted(missing))}")
        keys = future[[c.RESTAURANT_ID, c.DS]].copy()
        keys[c.DS] = pd.to_datetime(keys[c.DS])
        known = set(self.restaurants_) - set(self.failed_)
        keys = keys[keys[c.RESTAURANT_ID].isin(known)].reset_index(drop=True)
        if keys.empty:
            empty = keys.copy()
            empty[c.MODEL] = pd.Series(dtype=object)
            empty[c.YHAT] = pd.Series(dtype=float)
            return ForecastFrame.from_frame(empty)
        yhat = np.asarray(self._predict(keys), dtype=float)
        yhat = np.where(np.isfinite(yhat), yhat, np.nan)
        out = keys.assign(**{c.MODEL: self.name, c.YHAT: np.clip(yhat, 0.0, None)})
        out = out[np.isfinite(out[c.YHAT].to_numpy())]
        return ForecastFrame.from_frame(out)

    # --- portable files (no pickles) ------------------------------------------------------------

    def to_files(self) -> dict[str, bytes]:
        """The fitted model as portable files: relative path -> bytes, named by the model itself
        (an ensemble refuses two members naming the same file).

        The default, no files, suits models that are cheap to refit: :meth:`from_files` refits
        them on the history when they are loaded.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        check_fitted(self, "cutoff_", self.name)
        return {}

    def files_state(self) -> dict[str, Any]:
        """Small JSON facts the model needs back beside its settings and files (default: none)."""
        return {}

    @classmethod
    def from_files(
        cls,
        files: Mapping[str, bytes],
        *,
        params: Mapping[str, Any],
        state: Mapping[str, Any],
        history: SeriesFrame,
        calendar: Calendar,
    ) -> Self:
        """A fitted model from :meth:`to_files`'s files, forecasting from the end of ``history``.

        Args:
            files: Every file saved beside it (each model reads the ones it named).
            params: The settings it was built with (``get_params()``).
            state: What :meth:`files_state` returned.
            history: The series up to the forecast origin (the as-of date).
            calendar: Restaurants and events.

        The default refits a new model with ``params`` on ``history``.
        """
        return cls(**params).fit(history, calendar)

    # Subclasses implement these two.
    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        raise NotImplementedError

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        """Point forecasts for every row of ``future`` (NaN where none can be made)."""
        raise NotImplementedError

    def _fit_from(self, earlier: Forecaster, series: SeriesFrame, calendar: Calendar) -> None:
        """:meth:`_fit`, continuing from ``earlier`` where the model can (default: it can't)."""
        self._fit(series, calendar)
