"""``flux predict``: forecast the horizon after an as-of date from a stored artefact.

Daily forecasts with intervals (and, with ``freq`` 15min or h, the daily figures split by each
restaurant's recent intraday profile). Closed days (closure events) are forecast as zero and
marked. The forecast run and its rows go to the database in one transaction; re-running the same
artefact and as-of date replaces them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from models import cold_start
from models import columns as c
from models.artifact import ArtifactManifest
from models.base import Calendar, future_frame
from models.ensemble import EnsembleForecaster
from models.frames import SERVED_BY, Freq, SeriesFrame
from models.intervals import quantile_columns_in, with_quantiles
from models.persistence import load_ensemble
from models.regressors import missing_values
from pipelines.errors import DataError, FluxError, UsageError
from pipelines.io import artifacts, forecasts, series
from pipelines.io.artifact_store import ArtifactStore
from pipelines.io.db import Database
from pipelines.io.files import atomic_write, check_writable
from pipelines.progress import Progress
from pipelines.settings import Settings

CLOSED = "closed"
OUTPUT_COLUMNS = (
    c.RESTAURANT_ID,
    c.DS,
    c.YHAT,
    "yhat_lower_80",
    "yhat_upper_80",
    "yhat_lower_95",
    "yhat_upper_95",
    SERVED_BY,
    CLOSED,
)


@dataclass(frozen=True)
class PredictRequest:
    """What to forecast."""

    artifact: str = "candidate"
    as_of: dt.date | None = None
    restaurants: frozenset[str] | None = None
    freq: str = "D"
    output: Path | None = None
    quantiles: tuple[float, ...] = ()
    """Quantile columns ``yhat_q<100q>`` to add (read off the intervals: 0.1 and 0.9 are the
    80% interval's bounds, 0.5 the point forecast)."""
    backend: Literal["local", "sagemaker"] = "local"
    shards: int | None = None
    """SageMaker instances (shards of the restaurants); None: ``sagemaker_instance_count``."""
    jobs: int = 1
    """Worker processes that read and forecast the restaurants' models (local backend)."""


@dataclass(frozen=True)
class PredictResult:
    """A stored forecast run."""

    forecast_run_id: str
    artifact_id: str
    as_of: dt.date
    target: str
    freq: str
    forecasts: pd.DataFrame
    skipped: dict[str, str]
    fallbacks: dict[str, str]
    seconds: float
    trained_until: dt.date | None = None
    left_out: dict[str, str] = field(default_factory=dict)
    """Restaurants in the database that this forecast does not cover, and why (a run without
    ``--restaurant`` covers the artefact's restaurants; see ``skipped`` for the others)."""


def _future(
    history: SeriesFrame, as_of: pd.Timestamp, horizon: int, calendar: Calendar
) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = future_frame(history.restaurants, as_of + pd.Timedelta(days=1), horizon)
    # One lookup of (restaurant, day) and (restaurant, weekday) pairs for the whole fleet, not a
    # scan of every key per restaurant (which grew with the square of the fleet).
    closures = calendar.closures(history.restaurants)
    weekly = recurring_closed_weekdays(history, as_of)
    weekdays = [(rid, d) for rid, ds in weekly.items() for d in ds]
    rids = keys[c.RESTAURANT_ID]
    closed = np.zeros(len(keys), dtype=bool)
    if not closures.empty:
        closed |= pd.MultiIndex.from_arrays([rids, keys[c.DS]]).isin(
            pd.MultiIndex.from_frame(closures)
        )
    if weekdays:
        closed |= pd.MultiIndex.from_arrays([rids, keys[c.DS].dt.day_of_week]).isin(weekdays)
    return keys[~closed].reset_index(drop=True), keys[closed].reset_index(drop=True)


def check_future_regressors(calendar: Calendar, keys: pd.DataFrame, names: Sequence[str]) -> None:
    """Refuses a forecast whose regressors known in advance lack values on forecast days.

    Raises:
        DataError: names the first such regressor and its missing dates (import them with
            ``flux import``, format ``regressors``, or train without the regressor).
    """
    if not names:
        return
    gaps = missing_values(calendar.regressors, keys, names)
    for name, days in gaps.items():
        shown = ", ".join(str(d.date()) for d in days[:5])
        more = f" and {len(days) - 5} more" if len(days) > 5 else ""
        raise DataError(
            f"regressor {name!r} is known in advance, so the forecast needs its values, but it "
            f"has none on {shown}{more}; import them (flux import FILE, format regressors) or "
            f"train without it (--set ensemble.regressors=...)"
        )


def recurring_closed_weekdays(
    history: SeriesFrame, as_of: pd.Timestamp, weeks: int = 8
) -> dict[str, list[int]]:
    """Weekdays on which a restaurant had no rows in any of the last ``weeks`` weeks (while it
    traded on other days): a recurring closure, such as closed on Mondays."""
    start = as_of - pd.Timedelta(weeks=weeks)
    recent = history.data[(history.data[c.DS] > start) & (history.data[c.DS] <= as_of)]
    out: dict[str, list[int]] = {}
    for rid, rows in recent.groupby(c.RESTAURANT_ID):
        if rows[c.DS].nunique() < 3 * weeks:  # too little recent trading to tell
            continue
        seen = set(rows[c.DS].dt.day_of_week)
        missing = [d for d in range(7) if d not in seen]
        if missing:
            out[str(rid)] = missing
    return out


def _with_cold_start(
    model: EnsembleForecaster, history: SeriesFrame, calendar: Calendar, keys: pd.DataFrame
) -> pd.DataFrame:
    """The ensemble's forecast of ``keys``; restaurants with fewer than ``cold_start.MIN_DAYS``
    days of history are forecast from the global member and their peers instead (served by
    ``cold_start``), new restaurants the artefact has no model of from their peers alone."""
    rows = model.predict(keys).data.copy()  # restaurants unknown to the model get no row
    cold = set(cold_start.cold_restaurants(history))
    if not cold or len(cold) == len(history.restaurants):
        return rows
    mine = keys[c.RESTAURANT_ID].isin(cold)
    new = cold_start.ensemble_rows(model, history, calendar, keys[mine])
    kept = rows[~rows[c.RESTAURANT_ID].isin(cold)]
    return pd.concat([kept, new[[col for col in new.columns if col in rows.columns]]])


def _daily(
    request: PredictRequest,
    settings: Settings,
    db: Database,
    as_of_hint: dt.date | None,
    backend: RemoteForecast | None = None,
) -> tuple[str, ArtifactManifest, pd.DataFrame, dict[str, str], dt.date, Calendar]:
    store = artifacts.open_artifacts(settings)
    artifact_id = store.resolve(request.artifact)
    manifest = store.read_manifest(artifact_id)
    shards = artifacts.read_shard_map(store, artifact_id)
    regressors = _recorded_regressors(manifest)
    with db.connect() as conn:
        calendar, history = series.read_open_days(
            conn,
            manifest.target,
            restaurants=request.restaurants,
            end=as_of_hint,
            regressors=regressors,
        )
    new = [] if backend is not None else _new_restaurants(history, shards)
    if new:  # each forecast from its peers by the first shard's ensemble (cold start)
        shards = {**shards, **dict.fromkeys(new, min(shards.values()))}
    wanted = set(shards) if request.restaurants is None else set(shards) & request.restaurants
    missing = sorted((request.restaurants or set()) - set(shards))
    if request.restaurants and not wanted:
        raise UsageError(
            f"artefact {artifact_id} has no model for {', '.join(missing)} (a new restaurant "
            "with under 14 days of history is forecast from its peers when they are "
            "forecast with it: leave out --restaurant, or name some of them too)"
        )
    history = history.for_restaurants(wanted)
    latest = None if history.data.empty else pd.Timestamp(history.data[c.DS].max())
    if as_of_hint is not None:
        check_as_of(settings, as_of_hint, None if latest is None else latest.date())
    as_of = (
        pd.Timestamp(history.data[c.DS].max()) if as_of_hint is None else pd.Timestamp(as_of_hint)
    )
    skipped = dict.fromkeys(missing, "not in the artefact")
    with_history = set(history.restaurants)
    skipped.update({r: "no history up to the as-of date" for r in wanted if r not in with_history})
    if backend is not None and history.restaurants:
        open_keys, _ = _future(history, as_of, manifest.horizon, calendar)
        check_future_regressors(calendar, open_keys, regressors)  # before any job starts
        out = backend(store, manifest, shards, history, calendar, as_of=as_of)
    else:
        out = forecast_daily(
            store, manifest, shards, history, calendar, as_of=as_of, jobs=request.jobs
        )
    return artifact_id, manifest, out, skipped, as_of.date(), calendar


def _new_restaurants(history: SeriesFrame, shards: dict[str, str]) -> list[str]:
    """Restaurants the artefact has no model of that a cold start can forecast: fewer than
    ``cold_start.MIN_DAYS`` days of history, with established restaurants in the artefact to
    take their peers from. (A sharded SageMaker prediction forecasts the artefact's only.)"""
    if not shards:
        return []
    cold = set(cold_start.cold_restaurants(history))
    established = set(history.restaurants) & set(shards) - cold
    return sorted(cold - set(shards)) if established else []


def _recorded_regressors(manifest: ArtifactManifest) -> tuple[str, ...]:
    """The regressors the artefact's spec names (none for artefacts older than regressors)."""
    recorded = manifest.spec.get("regressors")
    return tuple(str(r) for r in recorded) if isinstance(recorded, list) else ()


class RemoteForecast(Protocol):
    """Runs :func:`forecast_daily` elsewhere (SageMaker) and returns the merged forecast."""

    def __call__(
        self,
        store: ArtifactStore,
        manifest: ArtifactManifest,
        shards: dict[str, str],
        history: SeriesFrame,
        calendar: Calendar,
        *,
        as_of: pd.Timestamp,
    ) -> pd.DataFrame: ...


def forecast_daily(
    store: ArtifactStore,
    manifest: ArtifactManifest,
    shards: dict[str, str],
    history: SeriesFrame,
    calendar: Calendar,
    *,
    as_of: pd.Timestamp,
    jobs: int = 1,
) -> pd.DataFrame:
    """The daily forecast of every restaurant of ``history`` from the artefact (each from its
    own shard's ensemble, its members' workers ``jobs``), closed days as zero;
    ``OUTPUT_COLUMNS``, sorted by restaurant and day.

    This is what ``flux predict`` runs here and what each host of a sharded SageMaker
    prediction runs on its share of the restaurants (:mod:`flux_sagemaker.entry`).
    """
    frames = []
    regressors = _recorded_regressors(manifest)
    owned: dict[str, list[str]] = {}
    for rid in history.restaurants:
        if rid in shards:
            owned.setdefault(shards[rid], []).append(rid)
    for shard in sorted(owned):
        part = history.for_restaurants(owned[shard])
        files = artifacts.read_shard_files(store, manifest, shard)
        model = load_ensemble(files, part, calendar, jobs=jobs)
        del files  # the models keep what they need (the Prophet JSON as text)
        model.cutoff_ = as_of
        open_keys, closed_keys = _future(part, as_of, manifest.horizon, calendar)
        check_future_regressors(calendar, open_keys, regressors)
        rows = _with_cold_start(model, part, calendar, open_keys)
        rows[CLOSED] = False
        closed_rows = closed_keys.copy()
        closed_rows[c.YHAT] = 0.0
        closed_rows[SERVED_BY] = CLOSED
        closed_rows[CLOSED] = True
        frames += [rows, closed_rows]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OUTPUT_COLUMNS)
    for col in OUTPUT_COLUMNS:
        if col not in out:
            out[col] = np.nan if col.startswith(c.YHAT) else None
    for col in ("yhat_lower_80", "yhat_lower_95", "yhat_upper_80", "yhat_upper_95"):
        out.loc[out[CLOSED].astype(bool), col] = 0.0
    return out[list(OUTPUT_COLUMNS)].sort_values([c.RESTAURANT_ID, c.DS]).reset_index(drop=True)


def _intraday(
    db: Database,
    daily: pd.DataFrame,
    target: str,
    freq: Freq,
    as_of: dt.date,
    *,
    calendar: Calendar,
) -> pd.DataFrame:
    """The daily forecast split into slots by each restaurant's learned intraday shape
    (:class:`models.intraday.IntradayShape`, what ``flux backtest --freq`` scores)."""
    from models.intraday import IntradayShape, business_day_slots, split_daily
    from pipelines.intraday_eval import holidays_by_restaurant

    with db.connect() as conn:
        meta = series.read_restaurants(conn).set_index(c.RESTAURANT_ID)
        history = series.read_series(
            conn, target, freq=freq, restaurants=set(daily[c.RESTAURANT_ID]), end=as_of
        )
    cutoffs = meta[c.CUTOFF_HOUR].astype(int).to_dict()
    zones = meta[c.TIMEZONE].astype(str).to_dict()
    parts = []
    for rid, day_rows in daily.groupby(c.RESTAURANT_ID):
        cutoff = int(cutoffs[rid])
        days = pd.DataFrame({c.RESTAURANT_ID: rid, c.DS: day_rows[c.DS].to_numpy()})
        slots = business_day_slots(
            days,
            freq,
            cutoff_hour=cutoff,
            tz=zones[rid],
        )
        hist = history.data[history.data[c.RESTAURANT_ID] == rid]
        split_by: pd.DataFrame | IntradayShape = hist
        if not hist.empty:
            first = min(pd.Timestamp(hist[c.DS].min()), pd.Timestamp(day_rows[c.DS].min()))
            holidays = holidays_by_restaurant(
                calendar, [str(rid)], first, pd.Timestamp(day_rows[c.DS].max())
            )
            split_by = IntradayShape(holidays=holidays).fit(hist, cutoff_hour=cutoff)
        split = split_daily(day_rows.drop(columns=[CLOSED]), slots, split_by, cutoff_hour=cutoff)
        closed_days = set(day_rows.loc[day_rows[CLOSED].astype(bool), c.DS])
        split[CLOSED] = split[c.BUSINESS_DATE].isin(closed_days)
        parts.append(split)
    out = pd.concat(parts, ignore_index=True)
    return out[[col for col in [*OUTPUT_COLUMNS, *quantile_columns_in(out)] if col in out]]


def write_output(frame: pd.DataFrame, path: Path) -> None:
    """The forecast as CSV, Parquet or JSON, by the file's suffix (written atomically)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        with atomic_write(path, "wb") as fh:
            frame.to_parquet(fh, index=False)
    elif suffix == ".json":
        with atomic_write(path) as fh:
            frame.to_json(fh, orient="records", date_format="iso", indent=1)
    elif suffix == ".csv":
        with atomic_write(path) as fh:
            frame.to_csv(fh, index=False)
    else:
        raise UsageError(f"{path}: --output must end in .csv, .parquet or .json")


def run(
    request: PredictRequest, settings: Settings, progress: Progress | None = None
) -> PredictResult:
    """Forecasts and stores the run.

    Raises:
        UsageError: bad options or an unknown artefact. DataError: no history.
    """
    if request.freq not in ("D", "h", "15min"):
        raise UsageError("--freq must be D, h or 15min")
    if request.output is not None and request.output.suffix.lower() not in (
        ".csv",
        ".parquet",
        ".json",
    ):
        raise UsageError(f"{request.output}: --output must end in .csv, .parquet or .json")
    if request.output is not None:
        check_writable(request.output, "--output")
    started = time.perf_counter()
    db = Database(settings)
    db.ensure_schema()
    if progress:
        progress("forecasting", 0, 1)
    remote = _remote(request, settings, progress) if request.backend == "sagemaker" else None
    artifact_id, manifest, daily, skipped, as_of, calendar = _daily(
        request, settings, db, request.as_of, remote
    )
    if daily.empty:
        raise DataError(f"no forecast could be made from artefact {artifact_id} at {as_of}")
    if request.quantiles:
        try:
            daily = with_quantiles(daily, request.quantiles)
        except ValueError as exc:
            raise UsageError(f"--quantiles: {exc}") from None
    target = manifest.target
    freq: Freq = "15min" if request.freq == "15min" else "h" if request.freq == "h" else "D"
    rows = daily if freq == "D" else _intraday(db, daily, target, freq, as_of, calendar=calendar)
    fallbacks = {
        str(r): str(s)
        for r, s in daily.loc[
            ~daily[SERVED_BY].isin(["ensemble", CLOSED]), [c.RESTAURANT_ID, SERVED_BY]
        ]
        .drop_duplicates()
        .itertuples(index=False)
    }
    run_row = {
        "forecast_run_id": str(uuid.uuid4()),
        "artifact_id": artifact_id,
        "as_of": as_of,
        c.TARGET: target,
        "freq": request.freq,
        "horizon": manifest.horizon,
        "created_at": dt.datetime.now(dt.UTC),
        "restaurants": int(rows[c.RESTAURANT_ID].nunique()),
        "summary_json": json.dumps({"skipped": skipped, "fallbacks": fallbacks}),
    }
    with db.begin() as conn:
        run_id = forecasts.store_forecast_run(conn, run_row, rows, request.restaurants)
        known: list[str] = (
            [str(r) for r in series.read_restaurants(conn)[c.RESTAURANT_ID]]
            if request.restaurants is None
            else []
        )
        if request.output is not None:  # inside the transaction: a failed write stores no run
            try:
                write_output(rows, request.output)
            except OSError as exc:
                raise UsageError(
                    f"{request.output}: --output could not be written "
                    f"({exc.strerror or type(exc).__name__}); the forecast run was not stored"
                ) from None
    db.dispose()
    covered = set(manifest.restaurants) | set(rows[c.RESTAURANT_ID].astype(str))
    return PredictResult(
        forecast_run_id=run_id,
        artifact_id=artifact_id,
        as_of=as_of,
        target=target,
        freq=request.freq,
        forecasts=rows,
        skipped=skipped,
        fallbacks=fallbacks,
        seconds=time.perf_counter() - started,
        trained_until=manifest.training_end.date(),
        left_out={  # a restaurant in the rows but not the artefact was served by a cold start
            str(r): f"no model in artefact {artifact_id}" for r in known if str(r) not in covered
        },
    )


def _remote(
    request: PredictRequest, settings: Settings, progress: Progress | None
) -> RemoteForecast:
    """:func:`forecast_daily` as a sharded SageMaker job."""
    from pipelines.io import sagemaker, sagemaker_jobs

    sm_settings = sagemaker.settings_from(settings)  # a configuration error before any reading

    def forecast(
        store: ArtifactStore,
        manifest: ArtifactManifest,
        shards: dict[str, str],
        history: SeriesFrame,
        calendar: Calendar,
        *,
        as_of: pd.Timestamp,
    ) -> pd.DataFrame:
        return sagemaker_jobs.run_remote_predict(
            store,
            manifest,
            sagemaker_jobs.PredictData(shards, history, calendar, as_of),
            sm_settings,
            shards=request.shards,
            progress=progress,
        ).frame

    return forecast


@dataclass(frozen=True)
class BackfillDay:
    """One as-of date of a backfill: ``ok``, ``partial`` (fell back or skipped restaurants) or
    ``failed`` (nothing stored for that day)."""

    as_of: dt.date
    status: str
    forecast_run_id: str | None
    rows: int
    detail: str
    seconds: float


def check_backfill(settings: Settings, start: dt.date, end: dt.date) -> None:
    """Refuses a backfill of more as-of dates than ``limits.max_backfill_days`` (one forecast
    run each).

    Raises:
        UsageError: too many days (exit 2).
    """
    days = (end - start).days + 1
    settings.limits.check(
        "max_backfill_days", days, f"--from {start} --to {end} ({days:,} as-of dates)"
    )


def check_as_of(settings: Settings, as_of: dt.date, latest: dt.date | None) -> None:
    """Refuses an explicit as-of date more than ``limits.max_as_of_gap_days`` after the latest
    data (a forecast from history that ends long before its origin is no forecast).

    Raises:
        UsageError: too far after the data (exit 2).
    """
    if latest is None or as_of <= latest:
        return
    gap = (as_of - latest).days
    settings.limits.check(
        "max_as_of_gap_days",
        gap,
        f"--as-of {as_of} is {gap:,} days after the latest data ({latest}), which",
    )


def backfill(
    request: PredictRequest,
    start: dt.date,
    end: dt.date,
    settings: Settings,
    on_day: Callable[[BackfillDay], None] | None = None,
) -> list[BackfillDay]:
    """Forecasts as of every date from ``start`` to ``end`` (inclusive), each from the history
    up to that date, as the nightly job would have. A failed day is recorded and the rest go on.

    With ``request.output``, every day's rows are written to one file with an ``as_of`` column.

    Raises:
        UsageError: ``end`` is before ``start``, or a bad option.
    """
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}")
    if request.backend == "sagemaker":
        raise UsageError("a backfill runs here (--backend local): one SageMaker job per day")
    check_backfill(settings, start, end)
    if request.output is not None:
        check_writable(request.output, "--output")
    days: list[BackfillDay] = []
    frames: list[pd.DataFrame] = []
    for offset in range((end - start).days + 1):
        as_of = start + dt.timedelta(days=offset)
        started = time.perf_counter()
        try:
            result = run(replace(request, as_of=as_of, output=None), settings)
        except Exception as exc:  # one bad day must not stop a backfill; the error is reported
            reason = str(exc) if isinstance(exc, FluxError) else f"{type(exc).__name__}: {exc}"
            day = BackfillDay(as_of, "failed", None, 0, reason, time.perf_counter() - started)
        else:
            notes = [f"{r}: {m} (fallback)" for r, m in sorted(result.fallbacks.items())]
            notes += [f"{r}: skipped ({why})" for r, why in sorted(result.skipped.items())]
            if result.trained_until and result.trained_until > as_of:
                notes.append(
                    f"artefact trained on data up to {result.trained_until}, after this date"
                )
            partial = bool(result.fallbacks or result.skipped)
            day = BackfillDay(
                as_of,
                "partial" if partial else "ok",
                result.forecast_run_id,
                len(result.forecasts),
                "; ".join(notes),
                result.seconds,
            )
            if request.output is not None:
                frames.append(result.forecasts.assign(as_of=pd.Timestamp(as_of)))
        days.append(day)
        if on_day:
            on_day(day)
    if request.output is not None and frames:
        write_output(pd.concat(frames, ignore_index=True), request.output)
    return days


def artifact_target(settings: Settings, ref: str) -> str:
    """The target of the artefact ``ref`` (an id or alias); for taking locks before a run."""
    store = artifacts.open_artifacts(settings)
    return str(store.read_manifest(store.resolve(ref)).target)
