"""Sharded backtests and predictions on SageMaker: ``flux backtest|predict --backend sagemaker``.

They follow the training job's pattern (:mod:`pipelines.io.sagemaker`): the same image and entry
point (:mod:`flux_sagemaker.entry`), run as a training job whose ``mode`` hyperparameter is
``backtest`` or ``predict``; the restaurants' series are dealt into one ``series-<k>.parquet``
object per shard in the ``ShardedByS3Key`` channel ``train`` (one instance per shard), the calendar
is the ``FullyReplicated`` channel ``calendar``, and each host uploads what it wrote to
``jobs/<job>/output/<host>/model.tar.gz``. The CLI fetches every host's part, checks that the
hosts covered every exported restaurant exactly once, merges the parts, and the pipeline records
the run exactly as a local one (:mod:`pipelines.backtest`, :mod:`pipelines.predict`).

A host's output folder (``SM_MODEL_DIR``)::

    host.json          {"host": "algo-2", "restaurants": [...], "empty": null | reason}
    backtest.parquet   its rows of the backtest frame, the calibrated models' without intervals
                       (mode backtest; absent when ``empty``)
    validation.parquet those models' validation rows (mode backtest; absent when ``empty``)
    forecast.parquet   its rows of the daily forecast (mode predict)

Backtest. The CLI fixes the origins from the whole fleet (:func:`pipelines.evaluation.fix_origins`)
and sends them as explicit cutoffs, with the number of validation windows the calibrated models
use at each (a local fit chooses it from how many rows it validates on), so every host evaluates
and validates as a local run would;
each host runs :func:`pipelines.evaluation.partial_backtest` on its restaurants (a backtest stopped
before the conformal intervals of the models calibrated one by one) and returns its rows and those
models' validation rows; the CLI pools every host's validation rows and finishes the intervals
once (:func:`pipelines.evaluation.finish_backtest`, the code a local run finishes with). Models
fitted one restaurant at a time therefore give the rows, intervals and metrics a local run gives.
Models fitted across restaurants (XGBoost, and the ensemble, whose weights and intervals are
learned over the restaurants fitted together) are fitted across each shard's restaurants, as a
sharded training job fits them, so their rows are a shard's. A host whose restaurants all have
too little history writes no rows and says why in ``empty``.

Predict. The artefact's ``shards.json`` and the files of the artefact shards that hold the
forecast restaurants are copied into the ``FullyReplicated`` channel ``model`` (laid out as an
artefact store: ``artefacts/<id>/…``, checked against the manifest as the host reads them); each
host forecasts its restaurants with :func:`pipelines.predict.forecast_daily`, the code a local
``flux predict`` runs, from the same artefact shards, so the merged forecast equals the local one.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from models import columns as c
from models.artifact import MANIFEST_FILE, ArtifactManifest
from models.base import Calendar, future_frame
from models.frames import SeriesFrame
from models.spec import ModelSpec
from pipelines import evaluation
from pipelines.errors import DataError, TrainingJobError
from pipelines.io import artifacts
from pipelines.io import sagemaker as sm
from pipelines.io.artifact_store import ARTEFACTS, ArtifactStore
from pipelines.progress import Progress

__all__ = [
    "BACKTEST",
    "MODEL_CHANNEL",
    "MODE_KEY",
    "PREDICT",
    "BacktestJob",
    "PredictData",
    "PredictJob",
    "mode_of",
    "read_parts",
    "run_remote_backtest",
    "run_remote_predict",
    "write_part",
]

MODE_KEY = "mode"
BACKTEST = "backtest"
PREDICT = "predict"
MODEL_CHANNEL = "model"
HOST_FILE = "host.json"
PART_FILES = {BACKTEST: "backtest.parquet", PREDICT: "forecast.parquet"}
VALIDATION_FILE = "validation.parquet"


def mode_of(hps: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The job's mode (``train`` without one) and the other hyperparameters."""
    rest = dict(hps)
    mode = str(rest.pop(MODE_KEY, "train")).strip('"')
    return mode, rest


def _unknown(hps: Mapping[str, str], known: tuple[str, ...], mode: str) -> None:
    unknown = sorted(k for k in hps if k not in known and not k.startswith("sagemaker_"))
    if unknown:
        raise ValueError(
            f"unknown {mode} hyperparameter(s) {', '.join(unknown)}; Flux sends {', '.join(known)}"
        )


def _text(hps: Mapping[str, str], key: str) -> str:
    """A hyperparameter as text (the training toolkit may have JSON-decoded it)."""
    if key not in hps:
        raise ValueError(f"missing hyperparameter {key!r}")
    value: Any = hps[key]
    if isinstance(value, str) and value.startswith('"'):
        value = json.loads(value)
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class BacktestJob:
    """What a backtest host runs (every field travels as a hyperparameter).

    Attributes:
        target: The demand target.
        spec: The protocol, with explicit ``cutoffs`` (the CLI fixes them from the whole fleet).
    """

    target: str
    spec: evaluation.BacktestSpec

    _KEYS = (
        "target",
        "models",
        "spec",
        "cutoffs",
        "refit_every",
        "jobs",
        "min_train_rows",
        "validation_origins",
    )

    def hyperparameters(self) -> dict[str, str]:
        spec = self.spec
        return {
            MODE_KEY: BACKTEST,
            "target": self.target,
            "models": ",".join(spec.models),
            "spec": json.dumps(spec.model.record(), sort_keys=True),
            "cutoffs": json.dumps([str(pd.Timestamp(x).date()) for x in spec.cutoffs or ()]),
            "refit_every": str(spec.refit_every),
            "jobs": str(spec.jobs),
            "min_train_rows": str(spec.min_train_rows),
            "validation_origins": json.dumps(list(spec.validation_origins or ())),
        }

    @classmethod
    def from_hyperparameters(cls, hps: Mapping[str, str]) -> BacktestJob:
        """Raises ValueError for a missing, unknown or invalid hyperparameter."""
        _unknown(hps, cls._KEYS, BACKTEST)
        cutoffs = json.loads(_text(hps, "cutoffs"))
        if not isinstance(cutoffs, list) or not cutoffs:
            raise ValueError("cutoffs must be a non-empty JSON list of dates")
        models = tuple(m for m in _text(hps, "models").split(",") if m)
        origins = json.loads(_text(hps, "validation_origins"))
        if not isinstance(origins, list) or (origins and len(origins) != len(cutoffs)):
            raise ValueError("validation_origins must be a JSON list, one count per cutoff")
        spec = evaluation.BacktestSpec(
            models=models,
            model=ModelSpec.model_validate_json(_text(hps, "spec")),
            folds=len(cutoffs),
            refit_every=int(_text(hps, "refit_every")),
            cutoffs=tuple(pd.Timestamp(x) for x in cutoffs),
            jobs=int(_text(hps, "jobs")),
            min_train_rows=int(_text(hps, "min_train_rows")),
            validation_origins=tuple(int(n) for n in origins) or None,
        )
        return cls(target=_text(hps, "target"), spec=spec)


@dataclass(frozen=True)
class PredictJob:
    """What a prediction host runs.

    Attributes:
        target: The artefact's target.
        artifact_id: The artefact (in the ``model`` channel).
        as_of: The forecast origin.
    """

    target: str
    artifact_id: str
    as_of: pd.Timestamp

    _KEYS = ("target", "artifact_id", "as_of")

    def hyperparameters(self) -> dict[str, str]:
        return {
            MODE_KEY: PREDICT,
            "target": self.target,
            "artifact_id": self.artifact_id,
            "as_of": str(self.as_of.date()),
        }

    @classmethod
    def from_hyperparameters(cls, hps: Mapping[str, str]) -> PredictJob:
        """Raises ValueError for a missing, unknown or invalid hyperparameter."""
        _unknown(hps, cls._KEYS, PREDICT)
        return cls(
            target=_text(hps, "target"),
            artifact_id=_text(hps, "artifact_id"),
            as_of=pd.Timestamp(_text(hps, "as_of")),
        )


# --- a host's part -------------------------------------------------------------------------------


def write_part(
    model_dir: Path,
    mode: str,
    *,
    host: str,
    restaurants: list[str],
    frame: pd.DataFrame | None,
    empty: str | None = None,
    validation: pd.DataFrame | None = None,
) -> None:
    """Writes a host's part (its rows, unless ``empty`` says why there are none, and in mode
    backtest its validation rows)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    if frame is not None:
        frame.to_parquet(model_dir / PART_FILES[mode], index=False)
    if validation is not None:
        validation.to_parquet(model_dir / VALIDATION_FILE, index=False)
    record = {"host": host, "restaurants": sorted(restaurants), "empty": empty}
    (model_dir / HOST_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")


def read_parts(
    job_name: str,
    mode: str,
    models: Mapping[str, Mapping[str, bytes]],
    expected: list[str],
    name: str | None = None,
) -> tuple[list[pd.DataFrame], list[str]]:
    """The hosts' rows (in host order) and the reasons of hosts that had none.

    Args:
        job_name: The job (for errors).
        mode: ``backtest`` or ``predict``.
        models: Each host's output files.
        expected: The restaurants the hosts must cover.
        name: The file to read from each host that has rows (default: the mode's rows).

    Raises:
        TrainingJobError: a part is missing or unreadable, a ``host.json`` names another host,
            or the hosts did not cover every exported restaurant exactly once.
    """
    frames: list[pd.DataFrame] = []
    reasons: list[str] = []
    owner: dict[str, str] = {}
    for host, files in models.items():
        try:
            record = json.loads(files[HOST_FILE])
        except (KeyError, ValueError) as exc:
            raise TrainingJobError(job_name, f"host {host}: no readable {HOST_FILE}") from exc
        if record.get("host") != host:
            raise TrainingJobError(
                job_name, f"host {host}: {HOST_FILE} was written by {record.get('host')!r}"
            )
        for rid in record.get("restaurants", []):
            if rid in owner:
                raise TrainingJobError(
                    job_name, f"restaurant {rid} was handled by both {owner[rid]} and {host}"
                )
            owner[rid] = host
        if record.get("empty"):
            reasons.append(str(record["empty"]))
            continue
        name = name or PART_FILES[mode]
        if name not in files:
            raise TrainingJobError(job_name, f"host {host}: its output has no {name}")
        try:
            frames.append(pd.read_parquet(io.BytesIO(files[name])))
        except (ValueError, OSError) as exc:
            raise TrainingJobError(job_name, f"host {host}: {name} is unreadable: {exc}") from exc
    sm._check_coverage(job_name, expected, list(owner))
    return frames, reasons


# --- the CLI's side ------------------------------------------------------------------------------


def _merge(frames: list[pd.DataFrame], order: list[str], units: dict[str, Any]) -> pd.DataFrame:
    """The hosts' rows as one frame, sorted by ``order``, with the date columns in ``units``
    (the dtypes a local run gives them: Parquet stores ``datetime64[s]`` as milliseconds, and
    the hosts parse their origins from text, so the units the hosts had differ)."""
    columns = list(frames[0].columns)
    merged = pd.concat([f[columns] for f in frames], ignore_index=True)
    for col, dtype in units.items():
        merged[col] = merged[col].astype(dtype)
    return merged.sort_values(order).reset_index(drop=True)


def _with_units(frame: pd.DataFrame, units: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with the date columns in ``units`` (see :func:`_merge`)."""
    return frame.astype({col: dtype for col, dtype in units.items() if col in frame})


def _run_job(
    backend: sm.SageMakerBackend,
    job_name: str,
    *,
    mode: str,
    hyperparameters: dict[str, str],
    data: tuple[SeriesFrame, Calendar],
    shards: int,
    progress: Progress | None,
    replicated: dict[str, dict[str, bytes]] | None = None,
) -> dict[str, dict[str, bytes]]:
    """Export → create → wait → fetch: every host's output files."""
    series, calendar = data
    sm._step(progress, f"exporting {len(series.restaurants)} restaurant(s) in {shards} shard(s)", 0)
    inputs = backend.export_training_data(series, calendar, job_name, shards)
    channels = {
        name: backend.export_files(job_name, name, files)
        for name, files in (replicated or {}).items()
    }
    request = sm.job_request(
        backend.settings,
        job_name,
        hyperparameters,
        inputs,
        shards,
        kind=mode,
        replicated=channels,
    )
    sm._step(progress, f"creating SageMaker job {job_name}", 1)
    backend.create_job(request)
    backend.wait_for_job(job_name, sm._within_step(progress, 2))
    sm._step(progress, "fetching the hosts' parts", 3)
    return backend.fetch_host_models(job_name)


def _shards(settings: sm.SageMakerSettings, shards: int | None, restaurants: int) -> int:
    return max(1, min(shards or settings.instance_count, restaurants))


@dataclass(frozen=True)
class RemoteRun:
    """What a sharded job produced: its name and the merged frame."""

    job_name: str
    frame: pd.DataFrame


def run_remote_backtest(
    series: SeriesFrame,
    calendar: Calendar,
    spec: evaluation.BacktestSpec,
    target: str,
    sm_settings: sm.SageMakerSettings,
    *,
    shards: int | None = None,
    progress: Progress | None = None,
) -> RemoteRun:
    """The backtest frame of ``series``, computed by a sharded SageMaker job.

    Args:
        series: The fleet's series.
        calendar: Restaurants and events.
        spec: The protocol (its cutoffs are fixed here from the whole fleet).
        target: The demand target.
        sm_settings: Where the job runs.
        shards: Instances (default ``instance_count``); at most one per restaurant.
        progress: Step reports.

    Returns:
        The merged frame, ordered as :func:`pipelines.evaluation.run_backtest` orders its own.

    Raises:
        ValueError: no host had data to evaluate (the local run's error).
        TrainingJobError: the job failed or its parts do not cover the restaurants.
    """
    count = _shards(sm_settings, shards, len(series.restaurants))
    fixed = evaluation.fix_origins(series, spec)  # the origins and windows a local run uses
    cutoffs = list(fixed.cutoffs or ())
    backend = sm.SageMakerBackend(sm_settings)
    job_name = sm.new_job_name(kind=BACKTEST)
    hps = BacktestJob(target=target, spec=fixed).hyperparameters()
    models = _run_job(
        backend,
        job_name,
        mode=BACKTEST,
        hyperparameters=hps,
        data=(series, calendar),
        shards=count,
        progress=progress,
    )
    frames, reasons = read_parts(job_name, BACKTEST, models, series.restaurants)
    if not frames:
        raise ValueError(reasons[0] if reasons else "no host returned rows")
    validation, _ = read_parts(job_name, BACKTEST, models, series.restaurants, VALIDATION_FILE)
    units = {c.DS: series.data[c.DS].dtype, c.CUTOFF: pd.Series(cutoffs).dtype}
    parts = [
        evaluation.Partial(_with_units(f, units), _with_units(v, {c.DS: units[c.DS]}))
        for f, v in zip(frames, validation, strict=True)
    ]
    merged = evaluation.finish_backtest(parts, fixed, series.freq)
    sm._step(progress, "merged the hosts' parts", 4)
    return RemoteRun(job_name, merged)


def artifact_channel(
    store: ArtifactStore, manifest: ArtifactManifest, shard_of: dict[str, str], wanted: list[str]
) -> dict[str, bytes]:
    """The ``model`` channel: the manifest, the shard map and the files of the artefact shards
    that hold ``wanted``, laid out as an artefact store."""
    shard_dirs = {f"{artifacts.SHARDS_DIR}/{shard_of[r]}/" for r in wanted if r in shard_of}
    rels = [
        rel
        for rel in sorted(manifest.files)
        if rel == artifacts.SHARDS_FILE or any(rel.startswith(d) for d in shard_dirs)
    ]
    folder = f"{ARTEFACTS}/{manifest.artifact_id}"
    files = {f"{folder}/{rel}": store.read_verified(manifest, rel) for rel in rels}
    files[f"{folder}/{MANIFEST_FILE}"] = manifest.to_json().encode()
    return files


@dataclass(frozen=True)
class PredictData:
    """What a prediction forecasts: the artefact's shard map (restaurant -> artefact shard),
    the history to the as-of date, the calendar, and the as-of date."""

    shard_of: dict[str, str]
    history: SeriesFrame
    calendar: Calendar
    as_of: pd.Timestamp


def run_remote_predict(
    store: ArtifactStore,
    manifest: ArtifactManifest,
    data: PredictData,
    sm_settings: sm.SageMakerSettings,
    *,
    shards: int | None = None,
    progress: Progress | None = None,
) -> RemoteRun:
    """The daily forecast of ``history``'s restaurants, computed by a sharded SageMaker job.

    Returns:
        The merged forecast, sorted by restaurant and day as
        :func:`pipelines.predict.forecast_daily` sorts its own.

    Raises:
        DataError: no history to forecast.
        TrainingJobError: the job failed or its parts do not cover the restaurants.
    """
    history = data.history
    if not history.restaurants:
        raise DataError(f"no history to forecast from artefact {manifest.artifact_id}")
    count = _shards(sm_settings, shards, len(history.restaurants))
    backend = sm.SageMakerBackend(sm_settings)
    job_name = sm.new_job_name(kind=PREDICT)
    job = PredictJob(target=manifest.target, artifact_id=manifest.artifact_id, as_of=data.as_of)
    model = artifact_channel(store, manifest, data.shard_of, history.restaurants)
    models = _run_job(
        backend,
        job_name,
        mode=PREDICT,
        hyperparameters=job.hyperparameters(),
        data=(history, data.calendar),
        shards=count,
        progress=progress,
        replicated={MODEL_CHANNEL: model},
    )
    frames, _ = read_parts(job_name, PREDICT, models, history.restaurants)
    days = future_frame(history.restaurants[:1], data.as_of + pd.Timedelta(days=1), 1)
    merged = _merge(frames, [c.RESTAURANT_ID, c.DS], {c.DS: days[c.DS].dtype})  # a local run's
    sm._step(progress, "merged the hosts' parts", 4)
    return RemoteRun(job_name, merged)
