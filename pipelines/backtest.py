"""``flux backtest``: rolling-origin comparison of models on one demand series.

Reads the series and calendar, runs :func:`pipelines.evaluation.run_backtest`, scores every model
per fold, restaurant and horizon step, writes the frames, metrics and plots when asked, and
records the run in the database.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from models import columns as c
from models.base import Calendar
from models.frames import Freq, SeriesFrame
from models.spec import ENSEMBLE
from pipelines import comparison, coverage, evaluation, fitting, intraday_eval, regressor_effects
from pipelines.errors import DataError, UsageError
from pipelines.io import reports, runs, series
from pipelines.io.db import Database
from pipelines.progress import Progress
from pipelines.settings import Settings
from pipelines.version import flux_version


@dataclass(frozen=True)
class BacktestRequest:
    """What to backtest: the series, the protocol, and where the outputs go."""

    target: str = c.COVERS
    freq: Freq = "D"
    restaurants: frozenset[str] | None = None
    spec: evaluation.BacktestSpec = field(default_factory=evaluation.BacktestSpec)
    output: Path | None = None
    plot_restaurants: tuple[str, ...] | None = None
    rank_by: str = "rmsle"
    backend: Literal["local", "sagemaker"] = "local"
    shards: int | None = None
    """SageMaker instances (shards of the restaurants); None: ``sagemaker_instance_count``."""


@dataclass(frozen=True)
class BacktestResult:
    """The outcome of one backtest."""

    run_id: str
    target: str
    freq: str
    cutoffs: tuple[pd.Timestamp, ...]
    restaurants: int
    rows: int
    scores: evaluation.Scores
    fallbacks: pd.DataFrame
    frame: pd.DataFrame
    files: tuple[Path, ...]
    seconds: float
    left_out: dict[str, str] = field(default_factory=dict)
    """Restaurants in scope that the backtest did not score, and why."""
    regressor_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per regressor and model: RMSLE with it, without it, and the difference
    (:mod:`pipelines.regressor_effects`)."""
    intraday: intraday_eval.IntradayScores | None = None
    """With ``--freq 15min`` or ``h``: the daily forecasts split into slots by Flux's shape and
    by the weekday-slot-share baseline, scored against the intraday actuals."""


def _validate(request: BacktestRequest) -> None:
    spec = request.spec
    if spec.horizon < 1 or spec.folds < 1 or spec.refit_every < 1:
        raise UsageError("--horizon, --folds and --refit-every must be at least 1")
    try:
        evaluation.check_models(spec.models)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run(
    request: BacktestRequest, settings: Settings, progress: Progress | None = None
) -> BacktestResult:
    """Runs the backtest.

    Raises:
        UsageError: bad options. DataError: no data for the target, or too little history.
    """
    _validate(request)
    horizon = request.spec.horizon
    settings.limits.check("max_horizon_days", horizon, f"--horizon {horizon:,}")
    started = time.perf_counter()
    db = Database(settings)
    db.ensure_schema()
    with db.connect() as conn:
        calendar, data = series.read_open_days(
            conn,
            request.target,
            freq="D",
            restaurants=request.restaurants,
            regressors=request.spec.model.regressors,
        )
    try:
        frame = _backtest_frame(request, settings, data, calendar, progress)
        effects = regressor_effects.regressor_effects(data, calendar, request.spec, frame, progress)
    except ValueError as exc:
        raise DataError(f"backtest of {request.target!r}: {exc}") from None
    scores = evaluation.score_backtest(frame, data, request.spec.levels, request.rank_by)
    intraday = (
        None if request.freq == "D" else _score_intraday(db, request, frame, calendar, scores)
    )
    left_out = coverage.left_out(
        coverage.known_restaurants(calendar), data.restaurants, coverage.no_data(request.target)
    )
    left_out |= coverage.left_out(
        data.restaurants,
        frame[c.RESTAURANT_ID].unique(),
        f"too little history before every cutoff (under {request.spec.min_train_rows} days)",
    )
    run_id = str(uuid.uuid4())
    files = _write_outputs(request, data.data, frame, scores, intraday) if request.output else []
    with db.begin() as conn:
        runs.insert(
            conn,
            runs.BACKTEST,
            run_id,
            target=request.target,
            freq=request.freq,
            horizon=request.spec.horizon,
            folds=int(frame["fold"].nunique()),
            models=",".join(request.spec.models),
            restaurants=int(frame[c.RESTAURANT_ID].nunique()),
            best_model=scores.best_model,
            params_json=json.dumps(_params(request, data, frame), default=str),
            metrics_json=json.dumps(
                _metrics_record(scores, frame, intraday)
                | {"regressor_effects": reports.records(effects)},
                default=str,
            ),
            output_path=str(request.output) if request.output else None,
            flux_version=flux_version(),
        )
    db.dispose()
    return BacktestResult(
        run_id=run_id,
        target=request.target,
        freq=request.freq,
        cutoffs=tuple(sorted(pd.Timestamp(x) for x in frame[c.CUTOFF].unique())),
        restaurants=int(frame[c.RESTAURANT_ID].nunique()),
        rows=len(frame),
        scores=scores,
        fallbacks=evaluation.fallbacks(frame),
        frame=frame,
        files=tuple(files),
        seconds=time.perf_counter() - started,
        left_out=left_out,
        regressor_effects=effects,
        intraday=intraday,
    )


def _backtest_frame(
    request: BacktestRequest,
    settings: Settings,
    data: SeriesFrame,
    calendar: Calendar,
    progress: Progress | None,
) -> pd.DataFrame:
    """The backtest frame, computed here or by a sharded SageMaker job."""
    if request.backend != "sagemaker":
        return evaluation.run_backtest(data, calendar, request.spec, progress)
    from pipelines.io import sagemaker, sagemaker_jobs

    remote = sagemaker_jobs.run_remote_backtest(
        data,
        calendar,
        request.spec,
        request.target,
        sagemaker.settings_from(settings),
        shards=request.shards,
        progress=progress,
    )
    return remote.frame


def _score_intraday(
    db: Database,
    request: BacktestRequest,
    frame: pd.DataFrame,
    calendar: Calendar,
    scores: evaluation.Scores,
) -> intraday_eval.IntradayScores:
    """The daily backtest's forecasts (the ensemble's when compared, else the best model's)
    split into ``request.freq`` slots and scored (:mod:`pipelines.intraday_eval`)."""
    restaurants = set(frame[c.RESTAURANT_ID].astype(str))
    with db.connect() as conn:
        meta = series.read_restaurants(conn).set_index(c.RESTAURANT_ID)
        slots = series.read_series(conn, request.target, freq=request.freq, restaurants=restaurants)
    model = ENSEMBLE if ENSEMBLE in request.spec.models else scores.best_model
    first = pd.Timestamp(slots.data[c.DS].min())
    last = pd.Timestamp(frame[c.DS].max())
    try:
        return intraday_eval.score_intraday(
            frame,
            slots,
            model,
            cutoff_hour={str(k): int(v) for k, v in meta[c.CUTOFF_HOUR].items()},
            zones={str(k): str(v) for k, v in meta[c.TIMEZONE].items()},
            holidays=intraday_eval.holidays_by_restaurant(
                calendar, sorted(restaurants), first, last
            ),
        )
    except ValueError as exc:
        raise DataError(f"backtest of {request.target!r} at {request.freq}: {exc}") from None


ERRORS_MAX_ROWS = 200_000
"""Up to this many backtest rows, the run record keeps every row's forecast (what
``flux backtest compare`` bootstraps over days); above it, the per-restaurant metrics only."""


def _metrics_record(
    scores: evaluation.Scores,
    frame: pd.DataFrame,
    intraday: intraday_eval.IntradayScores | None = None,
) -> dict[str, object]:
    record: dict[str, object] = {
        "overall": reports.records(scores.overall),
        "by_restaurant": reports.records(scores.by_restaurant),
    }
    if intraday is not None:
        record["intraday"] = {"model": intraday.model, **{"table": reports.records(intraday.table)}}
    if not scores.by_group.empty:
        record["by_group"] = reports.records(scores.by_group)
    if len(frame) <= ERRORS_MAX_ROWS:
        record["rows"] = {
            str(model): {
                "restaurant_id": part[c.RESTAURANT_ID].astype(str).tolist(),
                "cutoff": [str(d.date()) for d in pd.to_datetime(part[c.CUTOFF])],
                "ds": [str(d.date()) for d in pd.to_datetime(part[c.DS])],
                "y": part[c.Y].astype(float).round(6).tolist(),
                "yhat": part[c.YHAT].astype(float).round(6).tolist(),
            }
            for model, part in frame.groupby(c.MODEL, sort=True)
        }
    return record


def _params(request: BacktestRequest, data: SeriesFrame, frame: pd.DataFrame) -> dict[str, object]:
    """What the run record keeps beside its metrics: the protocol, the model spec (what
    ``flux train --like RUN`` trains) and the data it ran on (so comparisons can tell)."""
    spec = request.spec
    return {
        "models": list(spec.models),
        "folds": spec.folds,
        "horizon": spec.horizon,
        "step": spec.step,
        "refit_every": spec.refit_every,
        "jobs": spec.jobs,
        "restaurants": sorted(request.restaurants or []),
        "cutoffs": [str(x) for x in spec.cutoffs or ()],
        "cutoffs_scored": sorted(str(pd.Timestamp(x).date()) for x in frame[c.CUTOFF].unique()),
        "spec": spec.model.record(),
        "data": {
            "start": str(pd.Timestamp(data.data[c.DS].min()).date()),
            "end": str(pd.Timestamp(data.data[c.DS].max()).date()),
            "restaurants": list(data.restaurants),
            "fingerprint": fitting.fingerprint(data),
        },
    }


def _plot_choice(request: BacktestRequest, history: pd.DataFrame) -> list[str]:
    if request.plot_restaurants:
        return list(request.plot_restaurants)
    volume = history.groupby(c.RESTAURANT_ID)[c.Y].sum().sort_values(ascending=False)
    return [str(r) for r in volume.index[:4]]


def _write_outputs(
    request: BacktestRequest,
    history: pd.DataFrame,
    frame: pd.DataFrame,
    scores: evaluation.Scores,
    intraday: intraday_eval.IntradayScores | None = None,
) -> list[Path]:
    folder = request.output
    assert folder is not None
    folder.mkdir(parents=True, exist_ok=True)
    files = reports.write_frame(frame, folder, "backtest")
    files += reports.write_metrics(
        {
            "overall": scores.overall,
            "by_fold": scores.by_fold,
            "by_restaurant": scores.by_restaurant,
            "by_step": scores.by_step,
            **({"by_group": scores.by_group} if not scores.by_group.empty else {}),
            **({"intraday": intraday.table} if intraday is not None else {}),
        },
        folder,
    )
    others = [m for m in request.spec.models if m not in (scores.best_model, "weekday_median")]
    models = [scores.best_model, *others[:2]]
    level = request.spec.levels[0]
    files.append(
        reports.plot_forecasts(
            frame,
            history,
            _plot_choice(request, history),
            models,
            level=level,
            path=folder / "forecast_vs_actual.png",
            target=request.target,
        )
    )
    files.append(reports.plot_error_by_step(scores.by_step, folder / "error_by_step.png"))
    files.append(
        reports.plot_coverage(scores.overall, request.spec.levels, folder / "interval_coverage.png")
    )
    return files


# --- reading recorded runs ------------------------------------------------------------------------


def recorded(settings: Settings, limit: int | None = None) -> list[runs.BacktestRecord]:
    """The recorded backtest runs, newest first (``flux backtest list``)."""
    db = Database(settings)
    db.ensure_schema()
    with db.connect() as conn:
        out = runs.list_backtests(conn, limit)
    db.dispose()
    return out


def record(settings: Settings, ref: str) -> runs.BacktestRecord:
    """One recorded run by id or unique prefix (``flux backtest show``).

    Raises:
        UsageError: no run, or more than one, matches.
    """
    db = Database(settings)
    db.ensure_schema()
    with db.connect() as conn:
        out = runs.read_backtest(conn, ref)
    db.dispose()
    return out


def compare_runs(
    settings: Settings,
    ref_a: str,
    ref_b: str,
    *,
    model: str | None = None,
    plot: Path | None = None,
    seed: int = 0,
) -> comparison.Comparison:
    """Run B against run A (``flux backtest compare``); writes the plot when asked.

    Raises:
        UsageError: a run is unknown, or did not score ``model``.
    """
    a, b = record(settings, ref_a), record(settings, ref_b)
    result = comparison.compare(a, b, model_a=model, model_b=model, seed=seed)
    if plot is not None:
        reports.plot_comparison(result, plot)
    return result
