"""Prophet, one model per restaurant (a local forecaster).

Each restaurant gets its own Prophet with the public holidays of its country and subdivision and
the calendar's holidays and events (:func:`models.calendar_features.prophet_holidays_of`). Fits are
MAP estimates with ``uncertainty_samples=0`` (Flux computes intervals itself), which makes them
deterministic and fast; the optimum of Prophet's objective is found in-process
(:mod:`models.prophet_map`, ``solver="map"``) or by Prophet's cmdstan (``solver="cmdstan"``); they
run in parallel over restaurants with joblib. Prophet and cmdstanpy
are silenced. Fitted models serialise to Prophet's own JSON
(:meth:`ProphetForecaster.to_json_dict`), one file per restaurant in an artefact
(``prophet/<restaurant>.json``, :meth:`ProphetForecaster.to_files`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import re
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, cast

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs

from models import columns as c
from models import progress, prophet_map
from models.base import Calendar, Forecaster, check_fitted
from models.calendar_features import prophet_holidays_of
from models.frames import SeriesFrame
from models.prophet_design import (
    fast_prophet_class,
    fourier,
    holiday_matrix,
    model_from_json,
    stan_json,
)
from models.regressors import feature_name, known_in_advance, regressor_features

if TYPE_CHECKING:
    from prophet import Prophet

__all__ = ["LoadedModels", "ProphetForecaster", "prophet_yhat", "silence_prophet"]

_NOISY_LOGGERS = ("cmdstanpy", "prophet", "prophet.plot", "prophet.models", "prophet.forecaster")
_HOLIDAY_REACH_DAYS = 400  # holidays are listed this far past the cutoff (the longest horizon)
_YEARLY_MIN_DAYS = 730  # "auto": yearly seasonality from two years of history (as Prophet)
_ROWS_PER_CHANGEPOINT = 10  # short histories get fewer trend changepoints
_MAX_CHANGEPOINTS = 25  # Prophet's default
_NEWTON_BELOW_ROWS = 100  # Prophet's choice of optimiser: Newton for short series, else L-BFGS
_MAX_LOG = 50.0  # expm1 overflow guard
_GUARD_ABOVE = 1.5  # forecasts stay below 1.5 x the largest observation
_GUARD_BELOW = 2.0  # and (log1p) above half the smallest


def silence_prophet() -> None:
    """Silences the prophet and cmdstanpy loggers (idempotent; also done in each worker)."""
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        logger.disabled = True
        logger.propagate = False
        logger.setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallows what Prophet writes to sys.stdout/sys.stderr and the warnings it raises."""
    silence_prophet()
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        yield


Solver = Literal["map", "cmdstan"]
"""How a Prophet fit finds its MAP optimum: ``map`` solves Prophet's objective in-process
(:mod:`models.prophet_map`; cmdstan where the model is not one it takes), ``cmdstan`` runs
Prophet's own Stan optimiser."""


@dataclass(frozen=True)
class _Settings:
    """What a worker needs to fit one restaurant (picklable)."""

    log1p: bool
    weekly_seasonality: bool
    yearly_seasonality: bool | Literal["auto"]
    changepoint_prior_scale: float
    seasonality_prior_scale: float
    holidays_prior_scale: float
    random_state: int
    regressor_columns: tuple[str, ...] = ()
    solver: Solver = "map"


def _yearly(setting: bool | Literal["auto"], span_days: int) -> bool:
    if setting == "auto":
        return span_days >= _YEARLY_MIN_DAYS
    return bool(setting)


def _new_prophet(
    settings: _Settings, history: pd.DataFrame, holidays: pd.DataFrame | None
) -> Prophet:
    with _quiet():
        prophet_class = fast_prophet_class()

    ds = history[c.DS].to_numpy()
    span = int((ds.max() - ds.min()) // np.timedelta64(1, "D")) if len(ds) else 0
    return prophet_class(
        growth="linear",
        n_changepoints=min(_MAX_CHANGEPOINTS, len(history) // _ROWS_PER_CHANGEPOINT),
        yearly_seasonality=_yearly(settings.yearly_seasonality, span),
        weekly_seasonality=settings.weekly_seasonality,
        daily_seasonality=False,
        holidays=holidays if holidays is not None and len(holidays) else None,
        changepoint_prior_scale=settings.changepoint_prior_scale,
        seasonality_prior_scale=settings.seasonality_prior_scale,
        holidays_prior_scale=settings.holidays_prior_scale,
        uncertainty_samples=0,
    )


@functools.cache
def _fast_backend_class() -> type[Any]:
    """Prophet's cmdstanpy backend, solving in-process where it can and writing Stan's JSON fast.

    With ``solver="map"``, a model :func:`models.prophet_map.supports` (Flux's: linear growth,
    additive terms) is solved by :func:`models.prophet_map.solve`: Prophet's own objective, the
    same optimum or a lower one, without cmdstan's process and file round trip. Should its
    linear algebra fail on a degenerate design, or give a non-finite value, cmdstan fits it.

    Otherwise it runs cmdstan as Prophet does, with one change: Prophet hands cmdstanpy nested
    lists, which it serialises with the pure-Python JSON encoder (about 40% of a fit); this
    backend writes the same JSON text to files (:func:`models.prophet_design.stan_json`, each
    distinct float formatted once) and passes their paths, so the data, inits, arguments and
    fitted parameters are identical.
    """
    from prophet.models import CmdStanPyBackend

    class _FastJsonBackend(CmdStanPyBackend):
        def __init__(self, original: Any, solver: Solver) -> None:  # reuses the loaded model
            self.model = original.model
            self.stan_fit = None
            self.newton_fallback = original.newton_fallback
            self.solver = solver

        def fit(
            self, stan_init: dict[str, Any], stan_data: dict[str, Any], **kwargs: Any
        ) -> OrderedDict[str, np.ndarray]:
            if self.solver == "map" and prophet_map.supports(stan_data):
                self.stan_fit = None
                try:
                    solved = prophet_map.solve(stan_data, stan_init)
                except (np.linalg.LinAlgError, RuntimeError):  # a degenerate design: cmdstan's
                    pass
                else:
                    if all(np.isfinite(value).all() for value in solved.values()):
                        return solved
            inits = {  # as prepare_data's, without its conversion of the whole data
                "k": stan_init["k"],
                "m": stan_init["m"],
                "delta": np.asarray(stan_init["delta"]).tolist(),
                "beta": np.asarray(stan_init["beta"]).tolist(),
                "sigma_obs": stan_init["sigma_obs"],
            }
            with tempfile.TemporaryDirectory(prefix="flux-prophet-") as tmp:
                data_path, inits_path = Path(tmp) / "data.json", Path(tmp) / "inits.json"
                data_path.write_text(stan_json(stan_data))
                inits_path.write_text(json.dumps(inits))
                args: dict[str, Any] = {
                    "data": str(data_path),
                    "inits": str(inits_path),
                    "algorithm": "Newton" if int(stan_data["T"]) < _NEWTON_BELOW_ROWS else "LBFGS",
                    "iter": int(1e4),
                    "output_dir": tmp,
                } | kwargs
                try:
                    self.stan_fit = self.model.optimize(**args)
                except RuntimeError:
                    if not self.newton_fallback or args["algorithm"] == "Newton":
                        raise
                    self.stan_fit = self.model.optimize(**(args | {"algorithm": "Newton"}))
                params: dict[str, np.ndarray] = self.stan_to_dict_numpy(
                    self.stan_fit.column_names, self.stan_fit.optimized_params_np
                )
            self.stan_fit = None  # its files are gone; Prophet only needs the parameters
            return OrderedDict((name, value.reshape((1, -1))) for name, value in params.items())

    return _FastJsonBackend


def _fit_prophet(model: Prophet, frame: pd.DataFrame, seed: int, solver: Solver = "map") -> None:
    """``model.fit(frame)`` through the fast backend (the model keeps its own backend)."""
    original = model.stan_backend
    model.stan_backend = _fast_backend_class()(original, solver)
    try:
        with _quiet():
            model.fit(frame, seed=seed)
    finally:
        model.stan_backend = original


def _fit_one(
    restaurant_id: str, history: pd.DataFrame, holidays: pd.DataFrame | None, settings: _Settings
) -> tuple[str, Prophet | None, str | None]:
    """Fits one restaurant; returns (id, model, None) or (id, None, the reason it failed)."""
    try:
        model = _new_prophet(settings, history, holidays)
        for column in settings.regressor_columns:
            model.add_regressor(column)
        y = history[c.Y].to_numpy(dtype=float)
        columns = {c.DS: history[c.DS].to_numpy(), c.Y: np.log1p(y) if settings.log1p else y}
        columns |= {name: history[name].to_numpy() for name in settings.regressor_columns}
        frame = pd.DataFrame(columns)
        _fit_prophet(model, frame, settings.random_state, settings.solver)
    except Exception as exc:  # one restaurant never fails the whole fit
        return restaurant_id, None, f"prophet fit failed: {type(exc).__name__}: {exc}"
    return restaurant_id, model, None


def prophet_yhat(
    model: Prophet,
    ds: pd.Series | np.ndarray,
    *,
    flat_trend: bool = False,
    regressors: pd.DataFrame | None = None,
) -> np.ndarray:
    """``model.predict(ds)["yhat"]`` in the order of ``ds``, without the per-component breakdown
    Prophet also builds.

    The same arithmetic as ``Prophet.predict`` (the trend, then the feature matrix times
    ``beta``, split into additive and multiplicative terms). A linear-growth model without
    extra regressors (Flux's default) is computed on arrays alone (:func:`_linear_yhat`, about
    ten times faster than Prophet's frames); others through Prophet's own frames.

    Args:
        model: a fitted Prophet without conditional seasonalities.
        ds: the dates to forecast.
        flat_trend: hold the trend at its value on the last training date instead of
            extrapolating its slope (a fully damped trend).
        regressors: the model's extra regressors' values at ``ds`` (a column each, aligned).

    Raises:
        ValueError: the model has conditional seasonalities, or extra regressors whose values
            ``regressors`` lacks.
    """
    if any(props["condition_name"] is not None for props in model.seasonalities.values()):
        raise ValueError("prophet_yhat: conditional seasonalities unsupported")
    names = list(model.extra_regressors)
    if names and (regressors is None or not set(names) <= set(regressors.columns)):
        raise ValueError(f"prophet_yhat: the values of regressors {', '.join(names)} are needed")
    dates = pd.to_datetime(np.asarray(ds))
    if _on_arrays(model):
        return _linear_yhat(model, dates, flat_trend)
    given = (
        {n: regressors[n].to_numpy(dtype=float) for n in names} if regressors is not None else {}
    )
    with _quiet():
        df = model.setup_dataframe(pd.DataFrame({c.DS: dates, **given}))
        trend_df = df
        if flat_trend:  # t grows with ds, so the last date's t caps it (as setup_dataframe)
            trend_df = df.assign(t=np.minimum(df["t"].to_numpy(), _last_t(model)))
        trend = np.asarray(model.predict_trend(trend_df), dtype=float)
        # Prophet's own feature matrix (regressors standardised), as in training
        features, _, terms, _ = model.make_all_seasonality_features(df)
    x = features.to_numpy(dtype=float)
    beta = np.asarray(model.params["beta"], dtype=float)[0]
    additive = x @ (beta * terms["additive_terms"].to_numpy()) * model.y_scale
    multiplicative = x @ (beta * terms["multiplicative_terms"].to_numpy())
    yhat = np.empty(len(dates))  # setup_dataframe sorted the rows by ds: back to row order
    yhat[np.argsort(dates.to_numpy(), kind="mergesort")] = trend * (1 + multiplicative) + additive
    return yhat


def _last_t(model: Prophet) -> float:
    """The scaled time ``t`` of the model's last training date (``setup_dataframe``'s)."""
    last = np.datetime64(_last_ds({"": model}), "ns").astype(np.int64)
    return float(_scaled_t(model, np.asarray([last]))[0])


def _scaled_t(model: Prophet, ns: np.ndarray) -> np.ndarray:
    """``setup_dataframe``'s ``t = (ds - start) / t_scale`` of int64 nanosecond dates."""
    start = cast(pd.Timestamp, model.start).as_unit("ns").value
    return np.asarray((ns - start) / cast(pd.Timedelta, model.t_scale).as_unit("ns").value)


def _on_arrays(model: Prophet) -> bool:
    """Whether :func:`prophet_yhat` forecasts ``model`` on arrays alone (:func:`_linear_yhat`)."""
    return not model.extra_regressors and model.growth == "linear" and _holidays_as_trained(model)


def _holidays_as_trained(model: Prophet) -> bool:
    """Whether ``model.holidays`` is the whole holiday table of its fit (no country holidays
    added by Prophet, every holiday it was fitted with still listed), so the holiday columns at
    any dates are the training columns."""
    if model.country_holidays is not None:
        return False
    trained = model.train_holiday_names
    if model.holidays is None or trained is None:
        return model.holidays is None and trained is None
    listed = set(model.holidays["holiday"].tolist())
    return set(trained.tolist()) == listed


def _linear_yhat(model: Prophet, dates: pd.DatetimeIndex, flat_trend: bool) -> np.ndarray:
    """Prophet's ``yhat`` of a linear-growth model without extra regressors, in row order, on
    arrays: ``setup_dataframe``'s ``t``, ``predict_trend``'s piecewise-linear trend (floor 0),
    ``make_all_seasonality_features``' columns (each seasonality's Fourier terms, then the
    holiday columns) times ``beta``."""
    ns = dates.as_unit("ns").asi8
    t = _scaled_t(model, ns)
    if flat_trend:
        t = np.minimum(t, _last_t(model))
    k = float(np.nanmean(model.params["k"]))
    m = float(np.nanmean(model.params["m"]))
    deltas = np.nanmean(model.params["delta"], axis=0)
    changepoints = np.asarray(model.changepoints_t, dtype=float)
    trend = model.piecewise_linear(t, deltas, k, m, changepoints) * cast(float, model.y_scale)
    parts = [
        fourier(ns, props["period"], props["fourier_order"])
        for props in model.seasonalities.values()
    ]
    if model.holidays is not None and len(model.holidays) > 0:
        day = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        parts.append(holiday_matrix(model, day, model.holidays)[1])
    columns = model.train_component_cols
    if not parts or columns is None:
        return np.asarray(trend, dtype=float)
    x = np.hstack(parts)
    if x.shape[1] != len(columns):
        raise ValueError(f"prophet_yhat: {x.shape[1]} feature columns, the fit had {len(columns)}")
    beta = np.asarray(model.params["beta"], dtype=float)[0]
    additive = x @ (beta * columns["additive_terms"].to_numpy()) * model.y_scale
    multiplicative = x @ (beta * columns["multiplicative_terms"].to_numpy())
    return np.asarray(trend * (1 + multiplicative) + additive, dtype=float)


def _guard(model: Prophet, yhat: np.ndarray, log1p: bool) -> np.ndarray:
    """Keeps forecasts within reach of the history (a guard against runaway extrapolation).

    On the log scale: from the smallest observed value minus log(2) to the largest plus
    log(1.5); on the original scale: from 0 to 1.5 times the largest.
    """
    history = model.history
    if history is None or history.empty:
        return yhat
    y = history[c.Y].to_numpy(dtype=float)
    if log1p:
        low, high = y.min() - np.log(_GUARD_BELOW), y.max() + np.log(_GUARD_ABOVE)
    else:
        low, high = 0.0, y.max() * _GUARD_ABOVE
    return np.asarray(np.clip(yhat, low, high), dtype=float)


class LoadedModels(Mapping[str, "Prophet"]):
    """Restaurants' Prophet models read from their JSON on first use (:func:`model_from_json`),
    each once.

    Reading a model costs a few milliseconds (a minute for 10,000 restaurants), so a loaded
    forecaster keeps the JSON and reads a model only when it is asked for; a parallel forecast
    reads each in the worker that forecasts it (:meth:`ProphetForecaster._predict`) and the
    JSON goes back out as it came (:meth:`ProphetForecaster.to_json_dict`).
    """

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.texts = dict(texts)
        self._read: dict[str, Prophet] = {}

    def __getitem__(self, rid: str) -> Prophet:
        model = self._read.get(rid)
        if model is None:
            text = self.texts[rid]  # KeyError for an unknown restaurant, as a dict
            with _quiet():
                model = self._read[rid] = model_from_json(text)
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    def __contains__(self, rid: object) -> bool:
        return rid in self.texts

    def unread(self, rid: str) -> str | None:
        """The JSON of a model not read yet (None once it has been)."""
        return None if rid in self._read else self.texts[rid]


def _predict_texts(
    texts: list[str],
    dates: list[pd.Series],
    log1p: bool,
    flat_trend: bool,
    regressors: list[pd.DataFrame | None],
) -> list[np.ndarray]:
    """:func:`_predict_one` of models given as JSON (a worker's batch: reading a model costs
    more than forecasting it, so both happen where the forecast is made)."""
    with _quiet():
        models = [model_from_json(text) for text in texts]
    return [
        _predict_one(model, ds, log1p, flat_trend, regs)
        for model, ds, regs in zip(models, dates, regressors, strict=True)
    ]


def _predict_one(
    model: Prophet,
    ds: pd.Series,
    log1p: bool,
    flat_trend: bool,
    regressors: pd.DataFrame | None = None,
) -> np.ndarray:
    """Point forecasts of one restaurant's model at ``ds`` (original scale, >= 0)."""
    yhat = prophet_yhat(model, ds, flat_trend=flat_trend, regressors=regressors)
    yhat = _guard(model, yhat, log1p)
    if log1p:
        yhat = np.expm1(np.minimum(yhat, _MAX_LOG))
    return np.asarray(np.clip(yhat, 0.0, None), dtype=float)


_SAFE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HASHED_PREFIX = "_id_"


def file_stem(restaurant_id: str) -> str:
    """The file name (without ``.json``) of a restaurant's model: the id itself when it is a
    plain name (letters, digits, ``.``, ``_``, ``-``; starting with a letter or digit; up to 64
    characters), else ``_id_`` and a hash of it, so that no id (``../x``, a quote, a newline, an
    emoji, 5,000 characters) can build an unsafe or over-long path. Distinct ids get distinct
    names: a plain id never starts with ``_``."""
    if _SAFE_STEM.fullmatch(restaurant_id) and not restaurant_id.endswith("."):
        return restaurant_id
    return HASHED_PREFIX + hashlib.sha256(restaurant_id.encode("utf-8")).hexdigest()[:32]


class ProphetForecaster(Forecaster):
    """One Prophet per restaurant, optionally on ``log1p(y)``.

    Args:
        log1p: fit ``log1p(y)`` and forecast ``expm1`` of it (multiplicative effects).
        holidays: add public holidays and the calendar's holidays and events.
        weekly_seasonality: fit a weekly seasonality.
        yearly_seasonality: True, False, or "auto" (on from two years of a restaurant's history;
            with 1-2 years it overfits: fold 3 of Recruit, RMSLE 0.547 with vs 0.534 without).
        changepoint_prior_scale: trend flexibility.
        seasonality_prior_scale: seasonality strength.
        holidays_prior_scale: holiday effect strength.
        min_rows: restaurants with fewer rows are not fitted (recorded in ``failed_``).
        n_jobs: parallel worker processes (joblib; -1: all cores).
        random_state: the Stan optimiser's seed.
        flat_trend: forecast with the trend held at its last fitted value instead of
            extrapolating its slope (the slope of a short or stale history runs away; Recruit
            fold 3: RMSLE 0.534 and WAPE 0.350 flat vs 0.565 and 0.481 extrapolated).
        horizon: days forecast (the spec's): how far back a regressor that is not known in
            advance is read.
        regressors: names of the calendar's regressors to add (``add_regressor``), the spec's:
            one known in advance at the target date, any other through its value ``horizon``
            days before it and never after the origin (:mod:`models.regressors`).
    """

    name: ClassVar[str] = "prophet"
    scope: ClassVar[Literal["local", "global"]] = "local"
    FILES_DIR: ClassVar[str] = "prophet"
    """Its files: ``prophet/<restaurant>.json``, each restaurant's Prophet JSON."""

    def __init__(
        self,
        *,
        log1p: bool = True,
        holidays: bool = True,
        weekly_seasonality: bool = True,
        yearly_seasonality: bool | Literal["auto"] = "auto",
        changepoint_prior_scale: float = 0.05,
        seasonality_prior_scale: float = 10.0,
        holidays_prior_scale: float = 10.0,
        min_rows: int = 14,
        n_jobs: int = 1,
        random_state: int = 0,
        flat_trend: bool = True,
        horizon: int = 28,
        regressors: tuple[str, ...] = (),
        solver: Solver = "map",
    ) -> None:
        self.log1p = log1p
        self.holidays = holidays
        self.weekly_seasonality = weekly_seasonality
        self.yearly_seasonality = yearly_seasonality
        self.changepoint_prior_scale = changepoint_prior_scale
        self.seasonality_prior_scale = seasonality_prior_scale
        self.holidays_prior_scale = holidays_prior_scale
        self.min_rows = min_rows
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.flat_trend = flat_trend
        self.horizon = horizon
        self.regressors = regressors
        self.solver = solver

    def _settings(self) -> _Settings:
        return _Settings(
            log1p=self.log1p,
            weekly_seasonality=self.weekly_seasonality,
            yearly_seasonality=self.yearly_seasonality,
            changepoint_prior_scale=self.changepoint_prior_scale,
            seasonality_prior_scale=self.seasonality_prior_scale,
            holidays_prior_scale=self.holidays_prior_scale,
            random_state=self.random_state,
            regressor_columns=tuple(self._regressor_columns()),
            solver=self.solver,
        )

    def _regressor_columns(self) -> list[str]:
        known = getattr(self, "regressors_known_", {})
        return [feature_name(name, flag, self.horizon) for name, flag in known.items()]

    def _regressor_frame(self, keys: pd.DataFrame) -> pd.DataFrame | None:
        """The regressor columns of ``keys`` (from the cutoff), or None without regressors."""
        known = getattr(self, "regressors_known_", {})
        if not known:
            return None
        return regressor_features(self.regressor_values_, keys, known, self.horizon, self.cutoff_)

    def _tasks(
        self, series: SeriesFrame, calendar: Calendar
    ) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame | None]]:
        """(id, history, holidays) of each restaurant with enough rows; records the others."""
        histories: dict[str, pd.DataFrame] = {}
        for rid, rows in series.data.groupby(c.RESTAURANT_ID, sort=True):
            if len(rows) < self.min_rows:
                self.failed_[str(rid)] = f"only {len(rows)} rows (min_rows is {self.min_rows})"
                continue
            histories[str(rid)] = rows.reset_index(drop=True)
        holidays = (
            prophet_holidays_of(
                calendar,
                {rid: pd.Timestamp(rows[c.DS].min()) for rid, rows in histories.items()},
                self.cutoff_ + pd.Timedelta(days=_HOLIDAY_REACH_DAYS),
            )
            if self.holidays
            else {}
        )
        for rid, history in histories.items():
            regs = self._regressor_frame(history)
            yield (
                rid,
                history if regs is None else pd.concat([history, regs], axis=1),
                holidays.get(rid),
            )

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        self.regressors_known_ = known_in_advance(calendar.regressors, tuple(self.regressors))
        self.regressor_values_ = calendar.regressors
        settings = self._settings()
        silence_prophet()
        tasks = list(self._tasks(series, calendar))
        total = len(series.restaurants)
        done = total - len(tasks)  # too short to fit: settled already
        progress.report(self.name, done, total)
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_fit_one)(rid, history, hol, settings) for rid, history, hol in tasks
        )
        models: dict[str, Prophet] = {}
        for rid, model, error in results:
            done += 1
            progress.report(self.name, done, total)
            if model is None:
                self.failed_[rid] = str(error)
            else:
                models[rid] = model
        self.models_: Mapping[str, Prophet] = models

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        yhat = np.full(len(future), np.nan)
        ds = future[c.DS]
        regs = self._regressor_frame(future.reset_index(drop=True))
        indices = future.groupby(c.RESTAURANT_ID, sort=False).indices.items()
        mine = [(str(rid), np.asarray(rows)) for rid, rows in indices if str(rid) in self.models_]
        if isinstance(self.models_, LoadedModels) and self.n_jobs != 1:
            unread = [(rid, rows) for rid, rows in mine if self.models_.unread(rid) is not None]
            if len(unread) > 1:  # read and forecast in the workers, in a batch each
                self._predict_unread(unread, ds, regs, yhat)
                read = {rid for rid, _ in unread}
                mine = [(rid, rows) for rid, rows in mine if rid not in read]
        groups = [(rows, self.models_[rid]) for rid, rows in mine]
        tasks = [
            delayed(_predict_one)(
                model,
                ds.iloc[rows],
                self.log1p,
                self.flat_trend,
                None if regs is None else regs.iloc[rows],
            )
            for rows, model in groups
        ]
        # on arrays a forecast takes about a millisecond, less than sending the model to a worker
        in_process = all(_on_arrays(model) for _, model in groups)
        results = Parallel(n_jobs=1 if in_process else self.n_jobs)(tasks)
        for (rows, _), values in zip(groups, results, strict=True):
            yhat[rows] = values
        return yhat

    def _predict_unread(
        self,
        unread: list[tuple[str, np.ndarray]],
        ds: pd.Series,
        regs: pd.DataFrame | None,
        yhat: np.ndarray,
    ) -> None:
        """Fills ``yhat`` at each restaurant's rows with the forecast of its model read from its
        JSON in a worker (``n_jobs`` of them, a few batches each)."""
        assert isinstance(self.models_, LoadedModels)
        texts = self.models_.texts
        workers = effective_n_jobs(self.n_jobs)
        size = max(1, -(-len(unread) // (4 * workers)))
        batches = [unread[i : i + size] for i in range(0, len(unread), size)]
        results = Parallel(n_jobs=workers)(
            delayed(_predict_texts)(
                [texts[rid] for rid, _ in batch],
                [ds.iloc[rows] for _, rows in batch],
                self.log1p,
                self.flat_trend,
                [None if regs is None else regs.iloc[rows] for _, rows in batch],
            )
            for batch in batches
        )
        for batch, values in zip(batches, results, strict=True):
            for (_, rows), part in zip(batch, values, strict=True):
                yhat[rows] = part

    # --- serialisation --------------------------------------------------------------------------

    def to_files(self) -> dict[str, bytes]:
        """Each fitted restaurant's Prophet JSON as ``prophet/<restaurant>.json`` (an id that
        is not a safe file name, e.g. ``../x``, a space or an emoji, as ``prophet/<its
        hash>.json``; :meth:`files_state` maps those names back)."""
        return {
            f"{self.FILES_DIR}/{file_stem(rid)}.json": text.encode()
            for rid, text in self.to_json_dict().items()
        }

    def files_state(self) -> dict[str, Any]:
        """The restaurants the fit could not model, with reasons (they have no file), and the
        restaurant of each file named by a hash."""
        hashed = {file_stem(rid): rid for rid in self.models_ if file_stem(rid) != rid}
        known = getattr(self, "regressors_known_", {})
        return {
            "failed": dict(self.failed_),
            **({"file_ids": hashed} if hashed else {}),
            **({"regressors_known": dict(known)} if known else {}),
        }

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
        """The restaurants' models from their ``prophet/<restaurant>.json`` files, with the
        cutoff moved to the end of ``history``."""
        prefix = f"{cls.FILES_DIR}/"
        ids: Mapping[str, str] = state.get("file_ids") or {}
        texts: dict[str, str] = {}
        for path, data in files.items():
            if path.startswith(prefix):
                stem = path.removeprefix(prefix).removesuffix(".json")
                texts[ids.get(stem, stem)] = data.decode()
        cutoff = pd.Timestamp(history.data[c.DS].max())
        model = cls.from_json_dict(texts, failed=state.get("failed"), cutoff=cutoff, **params)
        model.regressors_known_ = {
            str(k): bool(v) for k, v in (state.get("regressors_known") or {}).items()
        }
        model.regressor_values_ = calendar.regressors
        return model

    def to_json_dict(self) -> dict[str, str]:
        """Each fitted restaurant's model as Prophet JSON (``prophet.serialize.model_to_json``)."""
        check_fitted(self, "models_", self.name)
        with _quiet():
            from prophet.serialize import model_to_json

            models = self.models_
            if isinstance(models, LoadedModels):  # as read, unless a model was read (and so
                # could have been changed)
                return {
                    rid: models.unread(rid) or str(model_to_json(models[rid]))
                    for rid in sorted(models)
                }
            return {rid: str(model_to_json(m)) for rid, m in sorted(models.items())}

    @classmethod
    def from_json_dict(
        cls,
        models: Mapping[str, str],
        *,
        failed: Mapping[str, str] | None = None,
        cutoff: pd.Timestamp | None = None,
        **params: Any,
    ) -> Self:
        """A fitted forecaster from :meth:`to_json_dict`'s output.

        Args:
            models: restaurant id → Prophet JSON.
            failed: restaurants the original fit could not model, with reasons.
            cutoff: the training cutoff (default: the last ``ds`` any model saw).
            **params: constructor parameters (``log1p`` must match the original fit).
        """
        loaded = LoadedModels({str(rid): text for rid, text in models.items()})
        if "regressors" in params:  # JSON has lists
            params["regressors"] = tuple(params["regressors"])
        self = cls(**params)
        self.models_ = loaded
        self.failed_ = dict(failed or {})
        self.freq_ = "D"
        self.restaurants_ = sorted(set(loaded) | set(self.failed_))
        self.cutoff_ = pd.Timestamp(cutoff) if cutoff is not None else _last_ds(loaded)
        return self


def _last_ds(models: Mapping[str, Prophet]) -> pd.Timestamp:
    """The last ``ds`` any of the models was fitted on.

    Raises:
        ValueError: no model has a history (pass ``cutoff`` explicitly).
    """
    last = [  # the largest date on the array (Series.max costs a third of a forecast on arrays)
        pd.Timestamp(m.history[c.DS].to_numpy(dtype="datetime64[ns]").max())
        for m in models.values()
        if m.history is not None
    ]
    if not last:
        raise ValueError("no fitted model to take the cutoff from; pass cutoff=")
    return max(last)
