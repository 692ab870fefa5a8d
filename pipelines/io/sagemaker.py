"""Training on SageMaker: the data and model layout both halves share, and the CLI's side of it.

``flux train --backend sagemaker`` (:func:`run_remote_training`) exports the series to S3, creates
a training job, waits for it, fetches every host's model and merges them into one artefact's
files. The training image runs :mod:`flux_sagemaker.entry`, which reads the channels and writes
the model with the helpers here, so the two halves agree on one layout by construction.

Under the staging prefix ``s3_prefix`` (``s3://bucket/prefix``) each job owns ``jobs/<job>/``::

    input/train/series-<k>.parquet                shard k: restaurant_id, ds, y (one per shard)
    input/calendar/calendar-restaurants.parquet   restaurant_id, country, subdivision, ...
    input/calendar/calendar-events.parquet        restaurant_id, kind, name, start_date, ...
    input/calendar/calendar-regressors.parquet    restaurant_id, ds, name, value, known_in_advance
    output/model.tar.gz                           SageMaker's own upload (unused by Flux)
    output/<host>/model.tar.gz                    each host's model: what Flux fetches

The job's ``OutputDataConfig.S3OutputPath`` is ``<s3_prefix>/jobs``; SageMaker appends
``<job>/output/model.tar.gz``, so its own upload sits beside the per-host folders.

Channels. ``train`` is ``ShardedByS3Key``: SageMaker gives each of the N instances a share of the
``series-<k>.parquet`` objects, and the job asks for as many instances as there are shards, so
each host trains its own restaurants. ``calendar`` is ``FullyReplicated`` (every host needs the
restaurants' countries and the events). In the container they appear as ``SM_CHANNEL_TRAIN`` and
``SM_CHANNEL_CALENDAR`` (``/opt/ml/input/data/<channel>``).

Per-host models. SageMaker uploads a single ``model.tar.gz`` per job, not one per host. So the
job sets ``FLUX_SM_SHARD_UPLOAD=<s3_prefix>/jobs/<job>/output`` in the container environment, and
every host's entry point, after writing its model into ``SM_MODEL_DIR``, packs that folder and
uploads it to ``<that URI>/<host>/model.tar.gz`` itself (:func:`upload_host_model`, credentials
from the job's execution role). Hosts are named ``algo-1`` … ``algo-N`` by SageMaker. A host's
model folder is one shard of the artefact (:func:`pipelines.io.artifacts.shard_files`): the
ensemble's files (:func:`pipelines.fitting.fit_files`) plus ``trained.json``. The CLI reads the
hosts' models back into :class:`~pipelines.fitting.Trained` records
(:func:`pipelines.io.artifacts.merge_shards`); :mod:`pipelines.train` stores them as one artefact,
the same layout as a local run with its single ``local`` shard.

Sharded backtests and predictions (``flux backtest|predict --backend sagemaker``) are training
jobs of the same image with a ``mode`` hyperparameter, built on :func:`job_request` and this
backend; their layout is in :mod:`pipelines.io.sagemaker_jobs`.

S3 requests go through :class:`~pipelines.io.artifact_s3.S3Store` (retries, scrubbed errors);
SageMaker API calls reuse its session and retry rules. boto3 is imported only when a
:class:`SageMakerBackend` is built or a model is uploaded.
"""

from __future__ import annotations

import io
import logging
import tarfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pandas as pd

from models import columns as c
from models.artifact import check_relpath
from models.base import Calendar
from models.frames import FREQS, FrameError, SeriesFrame
from pipelines.errors import ArtifactError, ConfigError, DataError, TrainingJobError
from pipelines.fitting import TrainConfig, Trained
from pipelines.io import artifacts
from pipelines.io.artifact_store import RetryPolicy
from pipelines.progress import Progress
from pipelines.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import (
        ChannelTypeDef,
        CreateTrainingJobRequestTypeDef,
        DescribeTrainingJobResponseTypeDef,
    )

    from pipelines.io.artifact_s3 import S3Store

__all__ = [
    "CALENDAR_CHANNEL",
    "SHARD_UPLOAD_ENV",
    "TRAIN_CHANNEL",
    "RemoteTraining",
    "SageMakerBackend",
    "SageMakerSettings",
    "assign_shards",
    "host_names",
    "job_request",
    "new_job_name",
    "pack_model_dir",
    "read_channels",
    "run_remote_training",
    "training_job_request",
    "unpack_model",
    "upload_host_model",
    "write_model_dir",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


TRAIN_CHANNEL = "train"
CALENDAR_CHANNEL = "calendar"
SERIES_PATTERN = "series-*.parquet"
RESTAURANTS_FILE = "calendar-restaurants.parquet"
EVENTS_FILE = "calendar-events.parquet"
REGRESSORS_FILE = "calendar-regressors.parquet"
MODEL_TAR = "model.tar.gz"
SHARD_UPLOAD_ENV = "FLUX_SM_SHARD_UPLOAD"
PARQUET_TYPE = "application/x-parquet"
_DONE = frozenset({"Completed"})
_FAILED = frozenset({"Failed", "Stopped"})


def _flux_default(name: str) -> Any:
    """The default of the setting ``sagemaker_<name>`` (one definition for both classes)."""
    return Settings.model_fields[f"sagemaker_{name}"].default


@dataclass(frozen=True)
class SageMakerSettings:
    """Where and how training jobs run. :func:`settings_from` fills every field that has a
    ``FLUX_SAGEMAKER_<FIELD>`` setting from it (and ``s3_endpoint_url`` from
    ``FLUX_S3_ENDPOINT_URL``); the other fields are fixed here.

    Attributes:
        image_uri: The training image (ECR URI of the ``Dockerfile`` image).
        role_arn: The execution role the job runs as (reads and writes ``s3_prefix``).
        s3_prefix: Staging area for job inputs and outputs, ``s3://bucket/prefix``.
        instance_type: E.g. ``ml.m5.xlarge``.
        instance_count: Most instances (shards) per job; fewer when there are fewer restaurants.
        region: AWS region (None: boto3's default chain).
        endpoint_url: SageMaker API endpoint (None: AWS; tests point it at moto).
        s3_endpoint_url: S3 endpoint (None: AWS).
        volume_size_gb: Storage per instance.
        max_runtime_seconds: The job's ``StoppingCondition``; SageMaker stops it after this.
        max_wait_seconds: How long :meth:`SageMakerBackend.wait_for_job` waits (including
            provisioning) before stopping the job and giving up.
        poll_seconds: Seconds between status polls.
        retry: Retries of throttling, 5xx and network errors on every request.
    """

    image_uri: str
    role_arn: str
    s3_prefix: str
    instance_type: str = _flux_default("instance_type")
    instance_count: int = _flux_default("instance_count")
    region: str | None = None
    endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    volume_size_gb: int = 30
    max_runtime_seconds: int = 6 * 3600
    max_wait_seconds: int = _flux_default("max_wait_seconds")
    poll_seconds: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


# --- the layout, shared with the entry point (no boto3) ------------------------------------------


def new_job_name(now: datetime | None = None, kind: str = "train") -> str:
    """A unique, valid training job name, e.g. ``flux-train-20261129T143000Z-1a2b3c4d``
    (``kind`` backtest or predict: ``flux-backtest-…``, ``flux-predict-…``)."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"flux-{kind}-{stamp}-{uuid.uuid4().hex[:8]}"


def host_names(count: int) -> list[str]:
    """SageMaker's host names for ``count`` instances: ``algo-1`` … ``algo-<count>``."""
    return [f"algo-{i}" for i in range(1, count + 1)]


def series_file(shard: int) -> str:
    """The object name of shard ``shard`` (zero-padded so names sort by shard)."""
    return f"series-{shard:04d}.parquet"


def assign_shards(restaurants: list[str], shards: int) -> dict[str, int]:
    """Restaurant → shard: sorted ids dealt round-robin (deterministic and balanced)."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    return {rid: i % shards for i, rid in enumerate(sorted(restaurants))}


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _read_parquet(path: Path, channel: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (ValueError, OSError) as exc:
        raise DataError(
            f"{channel} channel: {path.name} is not a readable Parquet file: {exc}"
        ) from exc


def read_channels(
    train_dir: Path, calendar_dir: Path | None, *, freq: str, target: str
) -> tuple[SeriesFrame, Calendar]:
    """The series shard(s) and calendar a host received, validated.

    Args:
        train_dir: The ``train`` channel: ``series-<k>.parquet`` files.
        calendar_dir: The ``calendar`` channel (None or absent: an empty calendar).
        freq: The series' frequency.
        target: The series' target.

    Raises:
        DataError: no shard, an unreadable file, or a series that breaks its contract.
    """
    paths = sorted(train_dir.glob(SERIES_PATTERN)) if train_dir.is_dir() else []
    if not paths:
        raise DataError(f"train channel {train_dir}: no {SERIES_PATTERN} file (empty shard?)")
    frame = pd.concat([_read_parquet(p, TRAIN_CHANNEL) for p in paths], ignore_index=True)
    if freq not in FREQS:
        raise DataError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)}")
    try:
        series = SeriesFrame.from_frame(frame, freq=freq, target=target)
    except FrameError as exc:
        raise DataError(f"train channel ({', '.join(p.name for p in paths)}): {exc}") from exc
    return series, _read_calendar(calendar_dir)


def _read_calendar(folder: Path | None) -> Calendar:
    if folder is None or not folder.is_dir():
        log.info("no calendar channel: training without restaurants' countries or events")
        return Calendar()
    default = Calendar()
    restaurants, events = folder / RESTAURANTS_FILE, folder / EVENTS_FILE
    regressors = folder / REGRESSORS_FILE
    return Calendar(
        restaurants=(
            _read_parquet(restaurants, CALENDAR_CHANNEL)
            if restaurants.is_file()
            else default.restaurants
        ),
        events=_read_parquet(events, CALENDAR_CHANNEL) if events.is_file() else default.events,
        regressors=(
            _read_parquet(regressors, CALENDAR_CHANNEL).astype({c.DS: "datetime64[ns]"})
            if regressors.is_file()
            else default.regressors
        ),
    )


def write_model_dir(model_dir: Path, trained: Trained, host: str) -> None:
    """Writes a host's shard (the fitted files and ``trained.json``) into its ``SM_MODEL_DIR``."""
    for rel, data in sorted(artifacts.shard_files(trained, host).items()):
        path = model_dir.joinpath(*check_relpath(rel).split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def pack_model_dir(model_dir: Path) -> bytes:
    """The regular files under ``model_dir`` as a ``model.tar.gz`` (relative POSIX names)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(p for p in model_dir.rglob("*") if p.is_file() and not p.is_symlink()):
            tar.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
    return buffer.getvalue()


def unpack_model(data: bytes, where: str) -> dict[str, bytes]:
    """A ``model.tar.gz``'s regular files as relative path → bytes.

    Raises:
        ValueError: not a gzip'd tar, or a member with an unsafe path or a link.
    """
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                if member.isdir():
                    continue
                name = member.name.removeprefix("./")
                if not member.isfile():
                    raise ValueError(f"{where}: {name} is not a regular file")
                handle = tar.extractfile(member)
                if handle is None:  # pragma: no cover - isfile() members always have data
                    raise ValueError(f"{where}: cannot read {name}")
                files[check_relpath(name)] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(f"{where}: not a readable model.tar.gz ({exc})") from exc
    return files


def upload_host_model(
    model_dir: Path,
    output_uri: str,
    host: str,
    *,
    s3_endpoint_url: str | None = None,
    retry: RetryPolicy | None = None,
) -> str:
    """Packs a host's model folder and uploads it to ``<output_uri>/<host>/model.tar.gz``.

    Args:
        model_dir: The host's ``SM_MODEL_DIR``.
        output_uri: ``s3://bucket/prefix/jobs/<job>/output`` (``FLUX_SM_SHARD_UPLOAD``).
        host: This host's name (``SM_CURRENT_HOST``).
        s3_endpoint_url: An S3-compatible endpoint (None: AWS).
        retry: How requests are retried.

    Returns:
        The object's ``s3://`` URI.

    Raises:
        ConfigError: ``output_uri`` is not an ``s3://`` URI.
        ArtifactError: the upload failed.
    """
    store = _s3_store(output_uri, s3_endpoint_url, retry)
    key = f"{host}/{MODEL_TAR}"
    store.put_bytes(key, pack_model_dir(model_dir))
    return f"{store.uri}/{key}"


def _s3_store(uri: str, endpoint_url: str | None, retry: RetryPolicy | None) -> S3Store:
    if not uri.startswith("s3://"):
        raise ConfigError(f"{uri}: the SageMaker staging area must be an s3://bucket/prefix URI")
    from pipelines.io.artifact_s3 import S3Store

    store = artifacts.open_store(uri, s3_endpoint_url=endpoint_url, retry=retry)
    assert isinstance(store, S3Store)
    return store


# --- the training job ----------------------------------------------------------------------------


def training_job_request(
    settings: SageMakerSettings,
    job_name: str,
    config: TrainConfig,
    inputs: tuple[str, str],
    instance_count: int,
) -> CreateTrainingJobRequestTypeDef:
    """The ``CreateTrainingJob`` request of a training job (pure).

    Args:
        settings: Image, role, instances, limits.
        job_name: The job's name.
        config: Sent as the hyperparameters (all strings).
        inputs: The ``train`` and ``calendar`` channel URIs (:meth:`export_training_data`).
        instance_count: Instances, one per shard.
    """
    return job_request(settings, job_name, config.hyperparameters(), inputs, instance_count)


def job_request(
    settings: SageMakerSettings,
    job_name: str,
    hyperparameters: dict[str, str],
    inputs: tuple[str, str],
    instance_count: int,
    *,
    kind: str = "train",
    replicated: dict[str, str] | None = None,
) -> CreateTrainingJobRequestTypeDef:
    """The ``CreateTrainingJob`` request of any Flux job (pure): training, or a sharded backtest
    or prediction (:mod:`pipelines.io.sagemaker_jobs`), which run as training jobs of the same
    image with a ``mode`` hyperparameter.

    Args:
        settings: Image, role, instances, limits.
        job_name: The job's name.
        hyperparameters: All strings.
        inputs: The ``train`` (sharded) and ``calendar`` (replicated) channel URIs.
        instance_count: Instances, one per shard.
        kind: The job's ``flux:kind`` tag.
        replicated: More ``FullyReplicated`` channels, name -> URI (e.g. the artefact).
    """
    train_uri, calendar_uri = inputs
    jobs_uri = f"{settings.s3_prefix.rstrip('/')}/jobs"
    more = [_channel(n, u, "FullyReplicated") for n, u in sorted((replicated or {}).items())]
    return {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": settings.image_uri,
            "TrainingInputMode": "File",
        },
        "RoleArn": settings.role_arn,
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            _channel(TRAIN_CHANNEL, train_uri, "ShardedByS3Key"),
            _channel(CALENDAR_CHANNEL, calendar_uri, "FullyReplicated"),
            *more,
        ],
        "OutputDataConfig": {"S3OutputPath": jobs_uri},
        "ResourceConfig": {
            "InstanceType": cast(Any, settings.instance_type),
            "InstanceCount": instance_count,
            "VolumeSizeInGB": settings.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "Environment": {SHARD_UPLOAD_ENV: f"{jobs_uri}/{job_name}/output"},
        "Tags": [{"Key": "flux:kind", "Value": kind}],
    }


def _channel(name: str, uri: str, distribution: str) -> ChannelTypeDef:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": cast(Any, distribution),
            }
        },
        "ContentType": PARQUET_TYPE,
        "InputMode": "File",
    }


class SageMakerBackend:
    """The CLI's side of a training job: staging data, the job's life cycle, fetching models.

    Args:
        settings: Where and how jobs run.
        sleep: Waits between polls (tests pass their own).
        clock: Monotonic seconds (tests pass their own).

    Raises:
        ConfigError: ``settings.s3_prefix`` is not an ``s3://bucket/prefix`` URI.
    """

    def __init__(
        self,
        settings: SageMakerSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from botocore.config import Config

        from pipelines.io.artifact_s3 import _new_session

        self.settings = settings
        self.staging = _s3_store(settings.s3_prefix, settings.s3_endpoint_url, settings.retry)
        self._sleep = sleep
        self._clock = clock
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=settings.retry.timeout,
            read_timeout=settings.retry.timeout,
        )
        self.client: SageMakerClient = _new_session().client(
            "sagemaker",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=config,
        )

    # --- requests --------------------------------------------------------------------------------

    def _call(self, job_name: str, action: str, fn: Callable[[], T]) -> T:
        """Runs one SageMaker request with retries; a boto error becomes a TrainingJobError."""
        from botocore.exceptions import BotoCoreError, ClientError
        from tenacity import (
            Retrying,
            retry_if_exception,
            stop_after_attempt,
            wait_exponential,
            wait_random,
        )

        from pipelines.io.artifact_s3 import _reason, is_transient

        policy = self.settings.retry
        retrying = Retrying(
            stop=stop_after_attempt(max(policy.attempts, 1)),
            wait=wait_exponential(multiplier=policy.wait_initial, max=policy.wait_max)
            + wait_random(0, policy.wait_initial),
            retry=retry_if_exception(is_transient),
            reraise=True,
        )
        try:
            return retrying(fn)
        except (ClientError, BotoCoreError) as exc:
            reason = self.staging._scrub(_reason(exc, policy.attempts, ""))
            raise TrainingJobError(job_name, f"{action}: {reason}") from exc

    def _uri(self, key: str) -> str:
        return f"{self.staging.uri}/{key}"

    # --- the steps -------------------------------------------------------------------------------

    def export_training_data(
        self, series: SeriesFrame, calendar: Calendar, job_name: str, shards: int
    ) -> tuple[str, str]:
        """Uploads the series (one Parquet object per shard) and the calendar for a job.

        Args:
            series: The training data.
            calendar: Restaurants and events (replicated to every host).
            job_name: The job the data is for (its folder under ``jobs/``).
            shards: Number of shards; restaurants are dealt by :func:`assign_shards`.

        Returns:
            The ``train`` and ``calendar`` channel URIs (prefixes ending in ``/``).

        Raises:
            DataError: fewer restaurants than shards.
            ArtifactError: an upload failed.
        """
        restaurants = series.restaurants
        if len(restaurants) < shards:
            raise DataError(f"{len(restaurants)} restaurant(s) cannot fill {shards} shard(s)")
        shard_of = assign_shards(restaurants, shards)
        data = series.data[[c.RESTAURANT_ID, c.DS, c.Y]]
        keys = data[c.RESTAURANT_ID].map(shard_of)
        train, cal = f"jobs/{job_name}/input/{TRAIN_CHANNEL}", f"jobs/{job_name}/input/calendar"
        for shard, part in data.groupby(keys, sort=True):
            self.staging.put_bytes(f"{train}/{series_file(int(shard))}", _parquet(part))
        self.staging.put_bytes(f"{cal}/{RESTAURANTS_FILE}", _parquet(calendar.restaurants))
        self.staging.put_bytes(f"{cal}/{EVENTS_FILE}", _parquet(calendar.events))
        self.staging.put_bytes(f"{cal}/{REGRESSORS_FILE}", _parquet(calendar.regressors))
        return self._uri(f"{train}/"), self._uri(f"{cal}/")

    def export_files(self, job_name: str, channel: str, files: dict[str, bytes]) -> str:
        """Uploads files (relative path -> bytes) as the channel ``channel`` of a job; returns
        the channel's URI (a prefix ending in ``/``).

        Raises:
            ArtifactError: an upload failed.
        """
        folder = f"jobs/{job_name}/input/{channel}"
        for rel, data in sorted(files.items()):
            self.staging.put_bytes(f"{folder}/{check_relpath(rel)}", data)
        return self._uri(f"{folder}/")

    def create_training_job(
        self, job_name: str, config: TrainConfig, inputs: tuple[str, str], instance_count: int
    ) -> str:
        """Creates the training job (see :func:`training_job_request`); returns its ARN.

        Raises:
            TrainingJobError: SageMaker refused the job (e.g. a bad role or image).
        """
        request = training_job_request(self.settings, job_name, config, inputs, instance_count)
        return self.create_job(request)

    def create_job(self, request: CreateTrainingJobRequestTypeDef) -> str:
        """Creates the job a request describes (:func:`job_request`); returns its ARN.

        Raises:
            TrainingJobError: SageMaker refused the job.
        """
        job_name = request["TrainingJobName"]
        response = self._call(
            job_name, "cannot create the job", lambda: self.client.create_training_job(**request)
        )
        log.info("training job created", extra={"job_name": job_name})
        return response["TrainingJobArn"]

    def describe(self, job_name: str) -> DescribeTrainingJobResponseTypeDef:
        """``DescribeTrainingJob``, with retries."""
        return self._call(
            job_name,
            "cannot describe the job",
            lambda: self.client.describe_training_job(TrainingJobName=job_name),
        )

    def wait_for_job(
        self, job_name: str, progress: Progress | None = None
    ) -> DescribeTrainingJobResponseTypeDef:
        """Polls the job until it completes, reporting its status through ``progress``.

        Returns:
            The final description.

        Raises:
            TrainingJobError: the job failed (with SageMaker's ``FailureReason``), was stopped, or
                did not finish within ``max_wait_seconds`` (it is then asked to stop).
        """
        deadline = self._clock() + self.settings.max_wait_seconds
        while True:
            job = self.describe(job_name)
            status = job["TrainingJobStatus"]
            if progress:
                detail = job.get("SecondaryStatus", "")
                label = f"SageMaker job {job_name}: {status}{f' ({detail})' if detail else ''}"
                progress(label, int(status in _DONE), 1)
            if status in _DONE:
                return job
            if status in _FAILED:
                raise TrainingJobError(job_name, _failure_text(job), status=status)
            if self._clock() >= deadline:
                self._stop(job_name)
                raise TrainingJobError(
                    job_name,
                    f"did not finish within {self.settings.max_wait_seconds} s (last status "
                    f"{status}); it was asked to stop",
                    status=status,
                )
            self._sleep(self.settings.poll_seconds)

    def _stop(self, job_name: str) -> None:
        """Asks SageMaker to stop a job (best effort: it may have just finished)."""
        try:
            self._call(
                job_name,
                "cannot stop the job",
                lambda: self.client.stop_training_job(TrainingJobName=job_name),
            )
        except TrainingJobError as exc:
            log.warning("%s", exc)

    def fetch_host_models(self, job_name: str) -> dict[str, dict[str, bytes]]:
        """Every host's model: host → (relative path → bytes), from ``output/<host>/``.

        Raises:
            TrainingJobError: a host's ``model.tar.gz`` is missing or unreadable.
        """
        count = self.describe(job_name)["ResourceConfig"]["InstanceCount"]
        return {host: self._fetch_host(job_name, host) for host in host_names(count)}

    def _fetch_host(self, job_name: str, host: str) -> dict[str, bytes]:
        key = f"jobs/{job_name}/output/{host}/{MODEL_TAR}"
        try:
            data = self.staging.get_bytes(key)
        except ArtifactError as exc:
            raise TrainingJobError(job_name, f"host {host} left no model: {exc}") from exc
        try:
            return unpack_model(data, self._uri(key))
        except ValueError as exc:
            raise TrainingJobError(job_name, str(exc)) from exc


def _failure_text(job: DescribeTrainingJobResponseTypeDef) -> str:
    reason = job.get("FailureReason", "").strip()
    if job["TrainingJobStatus"] == "Stopped":
        return f"was stopped{f': {reason}' if reason else ''}"
    return f"failed: {reason or 'SageMaker gave no FailureReason'}"


@dataclass(frozen=True)
class RemoteTraining:
    """What a training job produced.

    Attributes:
        job_name: The SageMaker training job.
        shards: Host -> what it trained (every exported restaurant by exactly one host).
    """

    job_name: str
    shards: dict[str, Trained]


def run_remote_training(
    series: SeriesFrame,
    calendar: Calendar,
    config: TrainConfig,
    sm_settings: SageMakerSettings,
    progress: Progress | None = None,
) -> RemoteTraining:
    """Trains on SageMaker: export → create job → wait → fetch every host's model → merge.

    Uses one instance per shard: ``min(instance_count, restaurants)``.

    Returns:
        The job's name and each host's :class:`Trained` (its files and facts), ready to be laid
        out as one artefact (:func:`pipelines.io.artifacts.artifact_files`).

    Raises:
        TrainingJobError: the job failed, was stopped, timed out, or its models do not cover every
            restaurant exactly once (nothing is returned then).
        ArtifactError: staging data or fetching models from S3 failed.
    """
    backend = SageMakerBackend(sm_settings)
    job_name = new_job_name()
    shards = max(1, min(sm_settings.instance_count, len(series.restaurants)))
    _step(progress, f"exporting {len(series.restaurants)} restaurant(s) in {shards} shard(s)", 0)
    inputs = backend.export_training_data(series, calendar, job_name, shards)
    _step(progress, f"creating SageMaker job {job_name}", 1)
    backend.create_training_job(job_name, config, inputs, shards)
    backend.wait_for_job(job_name, _within_step(progress, 2))
    _step(progress, "fetching the hosts' models", 3)
    models = backend.fetch_host_models(job_name)
    try:
        trained = artifacts.merge_shards(models)
    except ValueError as exc:
        raise TrainingJobError(job_name, str(exc)) from exc
    covered = [r for shard in trained.values() for r in shard.restaurants]
    _check_coverage(job_name, series.restaurants, covered)
    _step(progress, "merged the hosts' models", 4)
    return RemoteTraining(job_name=job_name, shards=trained)


def _step(progress: Progress | None, label: str, done: int) -> None:
    if progress:
        progress(label, done, 4)


def _within_step(progress: Progress | None, done: int) -> Progress | None:
    """``progress`` for a sub-task: its labels, reported as step ``done`` of the 4 steps."""
    if progress is None:
        return None
    report = progress
    return lambda label, _done, _total: report(label, done, 4)


def _check_coverage(job_name: str, expected: list[str], trained: list[str]) -> None:
    """Every exported restaurant was trained by some host, and no other one was."""
    missing = sorted(set(expected) - set(trained))
    unexpected = sorted(set(trained) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:5]}" if missing else f"unexpected {unexpected[:5]}"
        raise TrainingJobError(
            job_name, f"the hosts' models do not cover the restaurants: {detail}"
        )


def settings_from(settings: Settings) -> SageMakerSettings:
    """The SageMaker settings from Flux's settings.

    Raises:
        ConfigError: the image, role or S3 prefix is not configured.
    """
    missing = [
        f"FLUX_SAGEMAKER_{name.upper()}"
        for name in ("image_uri", "role_arn", "s3_prefix")
        if not getattr(settings, f"sagemaker_{name}")
    ]
    if missing:
        raise ConfigError(f"--backend sagemaker needs {', '.join(missing)} (env or flux.toml)")
    configured = {
        f.name: getattr(settings, f"sagemaker_{f.name}")
        for f in fields(SageMakerSettings)
        if f"sagemaker_{f.name}" in Settings.model_fields
    }
    return SageMakerSettings(**configured, s3_endpoint_url=settings.s3_endpoint_url)
