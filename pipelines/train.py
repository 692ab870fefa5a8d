"""``flux train``: fit the ensemble and store it as an immutable artefact.

Artefact files: ``shards.json`` (restaurant -> shard) and, per shard, the ensemble's portable files
under ``shards/<shard>/`` (one shard locally; one per SageMaker host remotely). The manifest is
written last, so a killed run leaves nothing that listing shows.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from models import columns as c
from models.artifact import ArtifactManifest, MemberSpec
from models.base import Calendar
from models.frames import SeriesFrame
from pipelines import fitting
from pipelines.errors import UsageError
from pipelines.fitting import SHARDS_DIR, SHARDS_FILE
from pipelines.io import schema, series
from pipelines.io.artifacts import ArtifactStore, open_store
from pipelines.io.db import Database
from pipelines.progress import Progress
from pipelines.settings import Settings
from pipelines.version import flux_version, library_versions

LOCAL_SHARD = "local"
LIBRARIES = ("pandas", "numpy", "prophet", "xgboost", "scikit-learn", "holidays")


@dataclass(frozen=True)
class TrainRequest:
    """What to train."""

    target: str = c.COVERS
    freq: str = "D"
    horizon: int = 28
    restaurants: frozenset[str] | None = None
    backend: Literal["local", "sagemaker"] = "local"
    jobs: int = 1
    seed: int = 0
    alias: str | None = "candidate"
    member_params: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult:
    """The stored artefact."""

    artifact_id: str
    manifest: ArtifactManifest
    failed: dict[str, str]
    seconds: float


def open_artifacts(settings: Settings) -> ArtifactStore:
    """The configured artefact store."""
    return open_store(settings.resolved_artifacts_uri, s3_endpoint_url=settings.s3_endpoint_url)


def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def shard_files(shard: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """A shard's files under ``shards/<shard>/``."""
    return {f"{SHARDS_DIR}/{shard}/{name}": data for name, data in files.items()}


def _record(db: Database, run_id: str, values: dict[str, Any], *, new: bool) -> None:
    t = schema.train_runs
    with db.begin() as conn:
        if new:
            conn.execute(sa.insert(t).values(run_id=run_id, **values))
        else:
            conn.execute(sa.update(t).where(t.c.run_id == run_id).values(**values))


def _local(
    data: SeriesFrame, calendar: Calendar, config: fitting.TrainConfig
) -> tuple[dict[str, bytes], fitting.Trained]:
    trained = fitting.fit_files(data, calendar, config)
    files = shard_files(LOCAL_SHARD, trained.files)
    files[SHARDS_FILE] = json.dumps(dict.fromkeys(trained.restaurants, LOCAL_SHARD)).encode()
    return files, trained


def run(request: TrainRequest, settings: Settings, progress: Progress | None = None) -> TrainResult:
    """Trains and stores the artefact; moves ``request.alias`` to it.

    Raises:
        UsageError: bad options. DataError: no data. TrainingJobError: a remote job failed.
    """
    if request.freq != "D":
        raise UsageError("models train on daily series (--freq D); intraday forecasts split them")
    if request.horizon < 1:
        raise UsageError("--horizon must be at least 1")
    started = time.perf_counter()
    db = Database(settings)
    db.ensure_schema()
    with db.connect() as conn:
        calendar, data = series.read_open_days(
            conn, request.target, restaurants=request.restaurants
        )
    config = fitting.TrainConfig(
        target=request.target,
        freq="D",
        horizon=request.horizon,
        jobs=request.jobs,
        seed=request.seed,
        member_params=request.member_params,
    )
    store = open_artifacts(settings)
    artifact_id = store.new_id()
    run_id = str(uuid.uuid4())
    _record(
        db,
        run_id,
        {
            "artifact_id": None,
            "created_at": dt.datetime.now(dt.UTC),
            "backend": request.backend,
            "status": "running",
            c.TARGET: request.target,
            "freq": "D",
            "horizon": request.horizon,
            "restaurant_scope": ",".join(sorted(request.restaurants or [])),
        },
        new=True,
    )
    try:
        if progress:
            progress(f"training {len(data.restaurants)} restaurant(s)", 0, 1)
        if request.backend == "sagemaker":
            from pipelines.io import sagemaker

            files, summary = sagemaker.run_remote_training(
                data, calendar, config, sagemaker.settings_from(settings), progress
            )
            trained_on: Literal["local", "sagemaker"] = "sagemaker"
            weights: dict[str, Any] = summary.get("weights", {})
            failed: dict[str, str] = summary.get("failed", {})
            metrics: dict[str, Any] = summary.get("validation_metrics", {})
            params = config.member_params
            job = summary.get("job_name")
        else:
            files, trained = _local(data, calendar, config)
            trained_on, weights, failed = "local", trained.weights, trained.failed
            metrics, params, job = trained.validation_metrics, trained.member_params, None
        manifest = ArtifactManifest(
            artifact_id=artifact_id,
            created_at=dt.datetime.now(dt.UTC),
            flux_version=flux_version(),
            library_versions=library_versions(LIBRARIES),
            git_sha=_git_sha(),
            trained_on=trained_on,
            target=request.target,
            freq="D",
            horizon=request.horizon,
            training_start=dt.datetime.fromisoformat(str(data.data[c.DS].min().date())),
            training_end=dt.datetime.fromisoformat(str(data.data[c.DS].max().date())),
            restaurants=data.restaurants,
            data_fingerprint=fitting.fingerprint(data),
            members=[
                MemberSpec(
                    name=m,
                    params=params.get(m, {}),
                    files=sorted(f for f in files if _member_file(f, m)),
                )
                for m in config.members
            ],
            weights=json.loads(json.dumps(weights, default=str)),
            backtest_metrics=json.loads(json.dumps(metrics, default=str)),
            levels=list(config.levels),
            extra={
                "failed": failed,
                "job_name": job,
                "seed": request.seed,
                "restaurant_scope": sorted(request.restaurants or []),
            },
        )
        stored = store.write_artifact(artifact_id, files, manifest)
        if request.alias:
            store.set_alias(request.alias, artifact_id)
    except BaseException as exc:
        _record(
            db,
            run_id,
            {
                "status": "failed",
                "finished_at": dt.datetime.now(dt.UTC),
                "message": f"{type(exc).__name__}: {exc}"[:2000],
            },
            new=False,
        )
        raise
    _record(
        db,
        run_id,
        {
            "status": "ok",
            "artifact_id": artifact_id,
            "job_name": job,
            "finished_at": dt.datetime.now(dt.UTC),
        },
        new=False,
    )
    db.dispose()
    return TrainResult(
        artifact_id=artifact_id,
        manifest=stored,
        failed=failed,
        seconds=time.perf_counter() - started,
    )


def _member_file(path: str, member: str) -> bool:
    name = path.rsplit("/", 2)
    if member == "prophet":
        return "/prophet/" in path
    if member == "xgboost":
        return path.endswith("xgboost.ubj")
    return member in name[-1]
