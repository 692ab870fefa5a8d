"""``flux train``: fit the ensemble and store it as an immutable artefact.

The fit runs here (:func:`pipelines.fitting.fit_files`, one shard) or as a SageMaker training
job (:func:`pipelines.io.sagemaker.run_remote_training`, one shard per host); either way
:mod:`pipelines.io.artifacts` lays the shards out and assembles the manifest, which the store
writes last, so a killed run leaves nothing that listing shows. The run is recorded in
``train_runs`` (:mod:`pipelines.io.runs`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Literal

import structlog

from models import columns as c
from models.artifact import ArtifactManifest
from models.base import Calendar
from models.frames import SeriesFrame
from models.spec import ModelSpec
from pipelines import coverage, fitting
from pipelines.errors import UsageError
from pipelines.io import artifacts, locks, runs, series
from pipelines.io.db import Database
from pipelines.progress import Progress
from pipelines.settings import Settings


@dataclass(frozen=True)
class TrainRequest:
    """What to train."""

    target: str = c.COVERS
    freq: str = "D"
    spec: ModelSpec = field(default_factory=ModelSpec)
    restaurants: frozenset[str] | None = None
    backend: Literal["local", "sagemaker"] = "local"
    jobs: int = 1
    alias: str | None = "candidate"
    like: str | None = None
    """A backtest run id (or unique prefix): train its target and spec instead of these."""


@dataclass(frozen=True)
class TrainResult:
    """The stored artefact."""

    artifact_id: str
    manifest: ArtifactManifest
    failed: dict[str, str]
    seconds: float
    left_out: dict[str, str] = field(default_factory=dict)
    """Restaurants in scope that had nothing to train on, and why."""


@dataclass(frozen=True)
class _Fit:
    """What a backend produced: the shards, and the facts the manifest needs beside them."""

    shards: dict[str, fitting.Trained]
    trained_on: Literal["local", "sagemaker"]
    fingerprint: str
    job_name: str | None = None


def _fit(
    request: TrainRequest,
    *,
    data: SeriesFrame,
    calendar: Calendar,
    config: fitting.TrainConfig,
    settings: Settings,
    progress: Progress | None,
) -> _Fit:
    if request.backend == "sagemaker":
        from pipelines.io import sagemaker

        remote = sagemaker.run_remote_training(
            data, calendar, config, sagemaker.settings_from(settings), progress
        )
        # Each host fingerprinted only its own restaurants: the artefact's covers them all.
        return _Fit(remote.shards, "sagemaker", fitting.fingerprint(data), remote.job_name)
    trained = fitting.fit_files(data, calendar, config)
    return _Fit({artifacts.LOCAL_SHARD: trained}, "local", trained.fingerprint)


def run(request: TrainRequest, settings: Settings, progress: Progress | None = None) -> TrainResult:
    """Trains and stores the artefact; moves ``request.alias`` to it.

    Raises:
        UsageError: bad options. DataError: no data. TrainingJobError: a remote job failed.
    """
    if request.freq != "D":
        raise UsageError("models train on daily series (--freq D); intraday forecasts split them")
    horizon = request.spec.horizon
    settings.limits.check("max_horizon_days", horizon, f"--horizon {horizon:,}")
    started = time.perf_counter()
    db = Database(settings)
    db.ensure_schema()
    with db.connect() as conn:
        if request.like:
            scored = runs.read_backtest(conn, request.like)
            request = replace(request, target=scored.target, spec=scored.spec)
        calendar, data = series.read_open_days(
            conn,
            request.target,
            restaurants=request.restaurants,
            regressors=request.spec.regressors,
        )
    config = fitting.TrainConfig(
        target=request.target, freq="D", spec=request.spec, jobs=request.jobs
    )
    store = artifacts.open_artifacts(settings)
    artifact_id = store.new_id()
    scope = sorted(request.restaurants or [])
    if locks.held(request.target, request.restaurants):
        abandoned = runs.abandon_stale(db, runs.TRAIN, request.target, request.restaurants)
        if abandoned:
            structlog.get_logger("flux.train").warning(
                "train runs left running by a killed process marked abandoned", run_ids=abandoned
            )
    record = runs.start(
        db,
        runs.TRAIN,
        str(uuid.uuid4()),
        artifact_id=None,
        backend=request.backend,
        target=request.target,
        freq="D",
        horizon=request.spec.horizon,
        restaurant_scope=",".join(scope),
    )
    try:
        if progress:
            progress(f"training {len(data.restaurants)} restaurant(s)", 0, 1)
        fit = _fit(
            request,
            data=data,
            calendar=calendar,
            config=config,
            settings=settings,
            progress=progress,
        )
        manifest = artifacts.build_manifest(
            artifact_id,
            config,
            fit.shards,
            trained_on=fit.trained_on,
            fingerprint=fit.fingerprint,
            extra={
                "job_name": fit.job_name,
                "seed": request.spec.seed,
                "restaurant_scope": scope,
                "like": request.like,
            },
        )
        stored = store.write_artifact(artifact_id, artifacts.artifact_files(fit.shards), manifest)
        if request.alias:
            store.set_alias(request.alias, artifact_id)
    except BaseException as exc:
        record.finish("failed", message=runs.failure_message(exc))
        raise
    record.finish("ok", artifact_id=artifact_id, job_name=fit.job_name)
    db.dispose()
    return TrainResult(
        artifact_id=artifact_id,
        manifest=stored,
        failed=artifacts.failures(fit.shards),
        seconds=time.perf_counter() - started,
        left_out=coverage.left_out(
            coverage.known_restaurants(calendar), data.restaurants, coverage.no_data(request.target)
        ),
    )
