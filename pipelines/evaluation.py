"""Rolling-origin evaluation, pure: cutoffs, fitting per fold, the backtest frame, metrics.

``flux backtest`` (:mod:`pipelines.backtest`) reads the series, calls :func:`run_backtest` and
:func:`score_backtest`, and writes the outputs; no I/O here.

:func:`run_backtest` is :func:`partial_backtest` then :func:`finish_backtest`. The first fits and
forecasts, and stops before the conformal intervals of the models calibrated one by one
(:class:`~models.intervals.Calibrated`): it returns their point rows and their validation rows.
The second pools the validation rows of every part per fit, builds each model's residual table
once (:func:`models.intervals.pooled_table`) and applies it. A sharded backtest
(:mod:`pipelines.io.sagemaker_jobs`) runs the first on each host and the second once on all the
hosts' parts, so its intervals are the local run's. (The ensemble learns its weights and its
intervals inside its own fit, over the restaurants fitted together: a shard's, on a host.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from models import cold_start, metrics, registry
from models import columns as c
from models.base import Calendar
from models.ensemble import EnsembleForecaster
from models.frames import SERVED_BY, STEP, ForecastFrame, Freq, SeriesFrame, interval_columns
from models.intervals import (
    VALIDATION_COLUMNS,
    Calibrated,
    apply_intervals,
    default_origins,
    effective_horizon,
    period,
    pooled_table,
)
from models.spec import ENSEMBLE, ModelSpec
from pipelines.progress import Progress

FOLD = "fold"
GROUP = "group"
ESTABLISHED = "established"
FIT = "fit_cutoff"
"""Internal column of a :class:`Partial`: the origin of the fit that produced a row."""
FIT_LAST = "fit_last"
"""Internal column of a :class:`Partial`: the last date the fit trained on (interval steps count
from it)."""
CALIBRATED = "calibrated"
"""Column of :attr:`Partial.validation`: the compared model the validation rows calibrate."""
DEFAULT_MODELS = ("seasonal_naive", "weekday_median", "prophet", "xgboost", "ensemble")


@dataclass(frozen=True)
class BacktestSpec:
    """How to backtest: the protocol, and the model specification it scores.

    Attributes:
        models: Registry names to compare (``ensemble``: the spec's ensemble).
        model: What is fitted (members, settings, weighting, levels, seed, horizon): the same
            :class:`~models.spec.ModelSpec` ``flux train --like RUN`` trains.
        folds: Number of origins.
        step: Periods between origins (default: the horizon).
        refit_every: Refit every N folds; in between, the last fit forecasts further ahead.
        cutoffs: Explicit origins (overrides folds/step).
        jobs: Parallel workers for per-restaurant models.
        min_train_rows: Restaurants with fewer rows before an origin (but at least one) are
            *cold-start* restaurants there: with ``ensemble`` compared, they are fitted and
            scored, the ensemble's rows coming from :mod:`models.cold_start` (``served_by``
            ``cold_start``), and every row of theirs has the ``cold_start`` flag; otherwise
            they are not evaluated there.
    """

    models: tuple[str, ...] = DEFAULT_MODELS
    model: ModelSpec = field(default_factory=ModelSpec)
    folds: int = 3
    step: int | None = None
    refit_every: int = 1
    cutoffs: tuple[pd.Timestamp, ...] | None = None
    jobs: int = 1
    min_train_rows: int = 14
    validation_origins: tuple[int, ...] | None = None
    """Validation windows of the calibrated models' fit at each origin (oldest first); None:
    :func:`models.intervals.default_origins` of that fit's training rows, which depends on how
    many restaurants are fitted together. A sharded backtest fixes them from the whole fleet
    (:func:`fix_origins`), so every host calibrates on the windows a local fit uses."""

    @property
    def horizon(self) -> int:
        """Periods forecast after each origin (the spec's horizon)."""
        return self.model.horizon

    @property
    def levels(self) -> tuple[int, ...]:
        """Interval levels in percent (the spec's)."""
        return self.model.levels


def check_models(names: Sequence[str]) -> None:
    """Raises ValueError for a name that is not a forecaster."""
    valid = set(registry.available())
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(
            f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(sorted(valid))}"
        )


def make_cutoffs(series: SeriesFrame, spec: BacktestSpec) -> list[pd.Timestamp]:
    """Origins, oldest first: the last leaves exactly ``horizon`` periods of data after it."""
    if spec.cutoffs:
        return sorted(pd.Timestamp(x) for x in spec.cutoffs)
    unit = period(series.freq)
    last = pd.Timestamp(series.data[c.DS].max()) - spec.horizon * unit
    if series.freq == "D":
        last = last.normalize()
    step = spec.step or spec.horizon
    return sorted(last - i * step * unit for i in range(spec.folds))


def _eligible(train: SeriesFrame, min_rows: int) -> list[str]:
    counts = train.data.groupby(c.RESTAURANT_ID).size()
    return sorted(counts[counts >= min_rows].index.astype(str))


def _fold_train(
    series: SeriesFrame, spec: BacktestSpec, cutoff: pd.Timestamp
) -> tuple[SeriesFrame, list[str]] | None:
    """The rows fitted at ``cutoff`` (the restaurants with enough history, and with
    ``ensemble`` compared the cold-start ones) and the cold-start restaurants; None: none."""
    train = series.until(cutoff)
    restaurants = _eligible(train, spec.min_train_rows)
    if not restaurants:
        return None
    cold = (
        cold_start.cold_restaurants(train, spec.min_train_rows) if ENSEMBLE in spec.models else []
    )
    return train.for_restaurants(sorted([*restaurants, *cold])), cold


def fix_origins(series: SeriesFrame, spec: BacktestSpec) -> BacktestSpec:
    """``spec`` with explicit cutoffs and the calibrated models' validation windows at each,
    as a run over all of ``series`` chooses them (a sharded backtest's hosts get these)."""
    cutoffs = make_cutoffs(series, spec)
    origins = []
    for cutoff in cutoffs:
        fold = _fold_train(series, spec, cutoff)
        train = fold[0] if fold is not None else None
        origins.append(
            1 if train is None else default_origins(train, effective_horizon(train, spec.horizon))
        )
    return replace(spec, cutoffs=tuple(cutoffs), validation_origins=tuple(origins))


class _Fitted:
    """The models fitted at one origin."""

    def __init__(self, cutoff: pd.Timestamp) -> None:
        self.cutoff = cutoff
        self.ensemble: EnsembleForecaster | None = None
        self.single: dict[str, Calibrated] = {}

    def validation(self) -> pd.DataFrame:
        """The calibrated models' validation rows, tagged with :data:`FIT` and
        :data:`CALIBRATED`."""
        parts = []
        for name, model in self.single.items():
            part = model.validation_[list(VALIDATION_COLUMNS)].copy()
            part[FIT] = self.cutoff
            part[CALIBRATED] = name
            parts.append(part)
        return _concat(parts, [FIT, CALIBRATED, *VALIDATION_COLUMNS])


def _fit_all(
    train: SeriesFrame,
    calendar: Calendar,
    spec: BacktestSpec,
    cutoff: pd.Timestamp,
    origins: int | None = None,
) -> _Fitted:
    """Fits every compared model as the spec builds it. With ``ensemble`` compared, its members
    are scored as the ensemble fitted them (no second fit)."""
    fitted = _Fitted(cutoff)
    if ENSEMBLE in spec.models:
        fitted.ensemble = spec.model.build_ensemble(spec.jobs).fit(train, calendar)
    inside = set(spec.model.members) if fitted.ensemble is not None else set()
    for name in spec.models:
        if name == ENSEMBLE or name in inside:
            continue
        model = spec.model.build(name, spec.jobs)
        fitted.single[name] = Calibrated(
            model, validation_horizon=spec.horizon, levels=spec.levels, validation_origins=origins
        ).fit(train, calendar)
    return fitted


def _predict(
    fitted: _Fitted,
    keys: pd.DataFrame,
    spec: BacktestSpec,
    cold: tuple[SeriesFrame, Calendar, list[str]] | None = None,
) -> pd.DataFrame:
    """Every compared model's rows; with ``cold`` (the training series, calendar and cold-start
    restaurants), the ensemble's rows of the cold-start restaurants are their cold-start
    forecast."""
    frames = []
    if fitted.ensemble is not None:
        rows = fitted.ensemble.predict_all(keys).data
        wanted = set(spec.models) - set(fitted.single)
        rows = rows[rows[c.MODEL].isin(wanted)]
        if cold is not None and ENSEMBLE in wanted:
            train, calendar, ids = cold
            is_cold = keys[c.RESTAURANT_ID].isin(ids)
            new = cold_start.ensemble_rows(fitted.ensemble, train, calendar, keys[is_cold])
            drop = (rows[c.MODEL] == ENSEMBLE) & rows[c.RESTAURANT_ID].isin(ids)
            rows = pd.concat([rows[~drop], new], ignore_index=True)
        frames.append(rows)
    for name, model in fitted.single.items():
        out = model.predict_point(keys).data.copy()
        if SERVED_BY not in out:
            out[SERVED_BY] = out[c.MODEL]  # the model whose residual table it takes
        out[c.MODEL] = name
        out[FIT] = fitted.cutoff
        out[FIT_LAST] = model.cutoff_
        frames.append(out)
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[c.RESTAURANT_ID, c.DS, c.MODEL, c.YHAT])
    return pd.concat(frames, ignore_index=True)


def _concat(parts: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({col: pd.Series(dtype=object) for col in columns})
    return pd.DataFrame(pd.concat(parts, ignore_index=True))


@dataclass(frozen=True)
class Partial:
    """A backtest stopped before the calibrated models' intervals (:func:`partial_backtest`).

    Attributes:
        frame: The backtest rows; the calibrated models' rows without intervals, with
            :data:`FIT` and :data:`FIT_LAST` (other rows have them empty).
        validation: The calibrated models' validation rows per fit: :data:`FIT`,
            :data:`CALIBRATED` and :data:`models.intervals.VALIDATION_COLUMNS`.
    """

    frame: pd.DataFrame
    validation: pd.DataFrame


def run_backtest(
    series: SeriesFrame,
    calendar: Calendar,
    spec: BacktestSpec,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The backtest frame: one row per (restaurant, cutoff, ds, model) with ``y``, ``yhat``,
    intervals, ``served_by``, ``step`` and ``fold``. Only rows that exist (open days) after each
    origin are forecast and scored."""
    part = partial_backtest(series, calendar, spec, progress)
    return finish_backtest([part], spec, series.freq)


def partial_backtest(
    series: SeriesFrame,
    calendar: Calendar,
    spec: BacktestSpec,
    progress: Progress | None = None,
) -> Partial:
    """:func:`run_backtest` up to the calibrated models' intervals (see :class:`Partial`).

    Raises:
        ValueError: no fold had data to evaluate.
    """
    check_models(spec.models)
    cutoffs = make_cutoffs(series, spec)
    unit = period(series.freq)
    fitted: _Fitted | None = None
    frames = []
    validation = []
    for i, cutoff in enumerate(cutoffs):
        if progress:
            progress(f"fold {i + 1}/{len(cutoffs)}: fitting", i, len(cutoffs))
        fold = _fold_train(series, spec, cutoff)
        if fold is None:
            continue
        train, cold = fold
        restaurants = train.restaurants
        if fitted is None or i % max(spec.refit_every, 1) == 0:
            origins = spec.validation_origins[i] if spec.validation_origins else None
            fitted = _fit_all(train, calendar, spec, cutoff, origins)
            validation.append(fitted.validation())
        test = series.between(cutoff, cutoff + spec.horizon * unit).for_restaurants(restaurants)
        if len(test) == 0:
            continue
        keys = test.data[[c.RESTAURANT_ID, c.DS]]
        pred = _predict(fitted, keys, spec, (train, calendar, cold) if cold else None)
        pred = pred.merge(test.data, on=[c.RESTAURANT_ID, c.DS], how="inner")
        pred[cold_start.COLD_START] = pred[c.RESTAURANT_ID].isin(cold)
        pred[c.CUTOFF] = cutoff
        pred[FOLD] = i + 1
        pred[STEP] = np.rint((pred[c.DS] - cutoff) / unit).astype(int)
        frames.append(pred)
    if progress:
        progress("scoring", len(cutoffs), len(cutoffs))
    if not frames:
        raise ValueError("no fold had data to evaluate (history too short for these cutoffs?)")
    out = pd.concat(frames, ignore_index=True)
    return Partial(
        frame=out.sort_values(_ORDER).reset_index(drop=True),
        validation=_concat(validation, [FIT, CALIBRATED, *VALIDATION_COLUMNS]),
    )


_ORDER = [c.MODEL, FOLD, c.RESTAURANT_ID, c.DS]
_LEAD = [c.RESTAURANT_ID, c.CUTOFF, FOLD, c.DS, STEP, c.Y, c.MODEL, c.YHAT]


def finish_backtest(parts: Sequence[Partial], spec: BacktestSpec, freq: Freq) -> pd.DataFrame:
    """The backtest frame of one or more parts (a local run's one, a sharded run's hosts'):
    their rows, with each calibrated model's intervals from the residual table of its
    validation rows pooled over every part, per fit (as one local fit pools them)."""
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    frame = frame.sort_values(_ORDER).reset_index(drop=True)
    validation = _concat([p.validation for p in parts], [FIT, CALIBRATED, *VALIDATION_COLUMNS])
    bounds = [col for level in sorted(spec.levels) for col in interval_columns(level)]
    if FIT not in frame:  # no calibrated model compared (the ensemble's members only)
        frame[FIT] = frame[FIT_LAST] = pd.NaT
    calibrated = frame[frame[FIT].notna()]
    missing = [col for col in bounds if col not in frame]
    if missing and not calibrated.empty:  # where a calibrated forecast has them: before served_by
        at = list(frame.columns).index(SERVED_BY)
        for k, col in enumerate(missing):
            frame.insert(at + k, col, np.nan)
    for (fit, name), rows in calibrated.groupby([FIT, c.MODEL], sort=True):
        own = validation[(validation[FIT] == fit) & (validation[CALIBRATED] == name)]
        table = pooled_table(own[list(VALIDATION_COLUMNS)], spec.levels)
        if table.empty:
            continue
        last = pd.Timestamp(calibrated.loc[calibrated[FIT] == fit, FIT_LAST].max())
        point = ForecastFrame.from_frame(
            rows[[c.RESTAURANT_ID, c.DS, c.MODEL, c.YHAT, SERVED_BY]].reset_index(drop=True)
        )
        out = apply_intervals(point, table, spec.levels, cutoff=last, freq=freq).data
        frame.loc[rows.index, bounds] = out[bounds].to_numpy()
    frame = frame.drop(columns=[FIT, FIT_LAST])
    if missing and frame[missing].isna().all().all():  # no residual table: no intervals
        frame = frame.drop(columns=missing)
    rest = [col for col in frame.columns if col not in _LEAD]
    return frame[_LEAD + rest]


@dataclass(frozen=True)
class Scores:
    """Metrics of a backtest at three levels of detail."""

    overall: pd.DataFrame  # one row per model
    by_fold: pd.DataFrame  # model x fold (+ each model over all folds)
    by_restaurant: pd.DataFrame  # model x restaurant
    by_step: pd.DataFrame  # model x step
    best_model: str
    by_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Model x ``group`` (``established`` | ``cold_start``), when cold-start restaurants were
    scored (else empty)."""


def score_backtest(
    frame: pd.DataFrame, series: SeriesFrame, levels: Sequence[int], rank_by: str = "rmsle"
) -> Scores:
    """Scores every model; the best has the lowest ``rank_by`` over all rows."""
    first_cutoff = pd.Timestamp(frame[c.CUTOFF].min())
    scale = metrics.seasonal_scale(series.until(first_cutoff).data)
    overall = metrics.score(frame, by=[c.MODEL], levels=levels, scale=scale)
    by_fold = metrics.score(frame, by=[c.MODEL, FOLD], levels=levels, scale=scale)
    by_restaurant = metrics.score(frame, by=[c.MODEL, c.RESTAURANT_ID], levels=levels, scale=scale)
    by_step = metrics.score(frame, by=[c.MODEL, STEP], levels=levels, scale=scale)
    best = str(overall.sort_values(rank_by).iloc[0][c.MODEL])
    by_group = pd.DataFrame()
    if cold_start.COLD_START in frame and frame[cold_start.COLD_START].any():
        grouped = frame.assign(
            **{
                GROUP: np.where(
                    frame[cold_start.COLD_START].astype(bool), cold_start.COLD_START, ESTABLISHED
                )
            }
        )
        by_group = metrics.score(grouped, by=[c.MODEL, GROUP], levels=levels, scale=scale)
    return Scores(
        overall=overall,
        by_fold=by_fold,
        by_restaurant=by_restaurant,
        by_step=by_step,
        best_model=best,
        by_group=by_group,
    )


def fallbacks(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows served by another model than the one named (the ensemble's fallback chain)."""
    if SERVED_BY not in frame:
        return frame.iloc[0:0]
    fell = frame[frame[SERVED_BY].notna() & (frame[SERVED_BY] != frame[c.MODEL])]
    return fell.groupby([c.MODEL, c.RESTAURANT_ID, SERVED_BY]).size().rename("rows").reset_index()


def interval_columns_present(frame: pd.DataFrame, levels: Sequence[int]) -> list[str]:
    """The interval columns of ``levels`` that ``frame`` has."""
    cols: list[str] = []
    for level in levels:
        cols.extend(col for col in interval_columns(level) if col in frame)
    return cols


__all__ = [
    "DEFAULT_MODELS",
    "FOLD",
    "BacktestSpec",
    "Freq",
    "Partial",
    "Scores",
    "fallbacks",
    "finish_backtest",
    "fix_origins",
    "make_cutoffs",
    "partial_backtest",
    "run_backtest",
    "score_backtest",
]
