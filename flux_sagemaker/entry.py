"""The SageMaker training entry point: one host trains (or backtests, or forecasts) its shard of
the restaurants.

SageMaker runs the training image as ``<entrypoint> train``; the image's entry point is
``python -m flux_sagemaker``, which calls :func:`main` (the ``train`` argument is accepted and
ignored). It trains with :func:`pipelines.fitting.fit_files`, the code ``flux train --backend
local`` runs, so local and remote training cannot drift apart.

The ``mode`` hyperparameter chooses the work (:mod:`pipelines.io.sagemaker_jobs`): ``train``
(also when absent), ``backtest`` (:func:`pipelines.evaluation.partial_backtest` at the origins
the job names: the rows before the calibrated models' intervals, which the CLI finishes over every
host's validation rows; writes ``backtest.parquet``, ``validation.parquet`` and ``host.json``) or
``predict``
(:func:`pipelines.predict.forecast_daily` from the artefact in the ``model`` channel,
``SM_CHANNEL_MODEL``; writes ``forecast.parquet`` and ``host.json``). Every mode uploads its
folder as below.

What a host reads (paths under ``/opt/ml`` unless the environment says otherwise)::

    SM_CHANNEL_TRAIN     input/data/train/series-<k>.parquet        restaurant_id, ds, y
                         (ShardedByS3Key: this host's share of the shards; all are read)
    SM_CHANNEL_CALENDAR  input/data/calendar/calendar-restaurants.parquet
                         input/data/calendar/calendar-events.parquet
                         (FullyReplicated: every host gets both; absent: an empty calendar)
    SM_HPS               the hyperparameters as a JSON object; without it
                         SM_INPUT_CONFIG_DIR/hyperparameters.json (all values strings),
                         read by :meth:`pipelines.fitting.TrainConfig.from_hyperparameters`:
                         target, freq, jobs, and spec (the :class:`models.spec.ModelSpec` as
                         JSON, the very spec ``flux train`` was given; validated in full)
    SM_HOSTS             JSON list of hosts, e.g. ["algo-1", "algo-2"]; SM_CURRENT_HOST this
                         host; without them SM_INPUT_CONFIG_DIR/resourceconfig.json (what a
                         container without the SageMaker training toolkit gets)

Directories: ``SM_INPUT_DIR`` (``/opt/ml/input``), ``SM_INPUT_CONFIG_DIR`` (``<input>/config``),
``SM_MODEL_DIR`` (``/opt/ml/model``), ``SM_OUTPUT_DIR`` (``/opt/ml/output``; else the parent of
``SM_OUTPUT_DATA_DIR``). Channels default to ``<input>/data/<channel>``.

What a host writes:

- ``SM_MODEL_DIR``: the ensemble's files plus ``trained.json`` (the host name and the
  :class:`~pipelines.fitting.Trained` fields but files); exit status 0.
- When ``FLUX_SM_SHARD_UPLOAD`` (``s3://…/jobs/<job>/output``, set by the job) is present, the
  model folder is also uploaded to ``<that URI>/<host>/model.tar.gz``, where
  :meth:`pipelines.io.sagemaker.SageMakerBackend.fetch_host_models` finds it
  (``FLUX_S3_ENDPOINT_URL`` points the upload at an S3-compatible endpoint).
- On any error: ``<output>/failure``, whose first line is the reason SageMaker shows as the job's
  ``FailureReason`` (a traceback follows for errors Flux did not expect), and a non-zero exit
  status (the error's exit code for Flux errors, else 1).

This module reads the environment because it is an edge; it imports no boto3 unless it uploads.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import evaluation
from pipelines.errors import EXIT_FAILURE, EXIT_OK, FluxError, UsageError
from pipelines.fitting import TrainConfig, fit_files
from pipelines.io import artifacts
from pipelines.io import sagemaker as layout
from pipelines.io import sagemaker_jobs as jobs
from pipelines.predict import forecast_daily

__all__ = ["TrainingEnv", "backtest", "main", "predict", "read_hyperparameters", "run", "train"]

log = logging.getLogger("flux_sagemaker")

ML_ROOT = Path("/opt/ml")
FAILURE_FILE = "failure"
HYPERPARAMETERS_FILE = "hyperparameters.json"
RESOURCE_FILE = "resourceconfig.json"
S3_ENDPOINT_ENV = "FLUX_S3_ENDPOINT_URL"
_COMMANDS = ((), ("train",))


@dataclass(frozen=True)
class TrainingEnv:
    """Where a host's inputs are and where its outputs go.

    Attributes:
        config_dir: ``hyperparameters.json`` and ``resourceconfig.json``.
        train_dir: The ``train`` channel.
        calendar_dir: The ``calendar`` channel.
        model_channel: The ``model`` channel (a prediction's artefact).
        model_dir: ``SM_MODEL_DIR``.
        output_dir: Holds the ``failure`` file.
        hps_json: ``SM_HPS``, if set.
        hosts: Every host of the job.
        current_host: This host.
        shard_upload_uri: ``FLUX_SM_SHARD_UPLOAD``: where to upload the model, if anywhere.
        s3_endpoint_url: Endpoint of an S3-compatible store for the upload.
    """

    config_dir: Path
    train_dir: Path
    calendar_dir: Path
    model_channel: Path
    model_dir: Path
    output_dir: Path
    hps_json: str | None
    hosts: tuple[str, ...]
    current_host: str
    shard_upload_uri: str | None = None
    s3_endpoint_url: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TrainingEnv:
        """Reads the ``SM_*`` variables (see the module docstring).

        Raises:
            UsageError: ``SM_HOSTS`` or ``resourceconfig.json`` is not valid.
        """
        input_dir = Path(environ.get("SM_INPUT_DIR", str(ML_ROOT / "input")))
        config_dir = Path(environ.get("SM_INPUT_CONFIG_DIR", str(input_dir / "config")))
        hosts, current = _hosts(environ, config_dir)
        return cls(
            config_dir=config_dir,
            train_dir=_channel(environ, input_dir, layout.TRAIN_CHANNEL),
            calendar_dir=_channel(environ, input_dir, layout.CALENDAR_CHANNEL),
            model_channel=_channel(environ, input_dir, jobs.MODEL_CHANNEL),
            model_dir=Path(environ.get("SM_MODEL_DIR", str(ML_ROOT / "model"))),
            output_dir=output_dir(environ),
            hps_json=environ.get("SM_HPS"),
            hosts=hosts,
            current_host=current,
            shard_upload_uri=environ.get(layout.SHARD_UPLOAD_ENV) or None,
            s3_endpoint_url=environ.get(S3_ENDPOINT_ENV) or None,
        )


def output_dir(environ: Mapping[str, str]) -> Path:
    """``SM_OUTPUT_DIR``, else the parent of ``SM_OUTPUT_DATA_DIR``, else ``/opt/ml/output``."""
    if environ.get("SM_OUTPUT_DIR"):
        return Path(environ["SM_OUTPUT_DIR"])
    if environ.get("SM_OUTPUT_DATA_DIR"):
        return Path(environ["SM_OUTPUT_DATA_DIR"]).parent
    return ML_ROOT / "output"


def _channel(environ: Mapping[str, str], input_dir: Path, name: str) -> Path:
    default = input_dir / "data" / name
    return Path(environ.get(f"SM_CHANNEL_{name.upper()}", str(default)))


def _hosts(environ: Mapping[str, str], config_dir: Path) -> tuple[tuple[str, ...], str]:
    """The job's hosts and this host, from ``SM_HOSTS``/``SM_CURRENT_HOST`` or the config file.

    Raises:
        UsageError: malformed JSON, or the current host is not one of the hosts.
    """
    resource: Any = {}
    path = config_dir / RESOURCE_FILE
    if ("SM_HOSTS" not in environ or "SM_CURRENT_HOST" not in environ) and path.is_file():
        resource = _json(path.read_text(encoding="utf-8"), str(path), dict)
    hosts: Any = (
        _json(environ["SM_HOSTS"], "SM_HOSTS", list)
        if "SM_HOSTS" in environ
        else resource.get("hosts")
    ) or ["algo-1"]
    if not all(isinstance(h, str) and h for h in hosts):
        raise UsageError(f"the hosts must be a list of names, not {hosts!r}")
    current = environ.get("SM_CURRENT_HOST") or resource.get("current_host") or hosts[0]
    if current not in hosts:
        raise UsageError(f"the current host {current!r} is not one of the hosts {hosts}")
    return tuple(hosts), str(current)


def _json(text: str, where: str, kind: type[Any]) -> Any:
    """``text`` parsed as JSON, which must be a ``kind`` (dict or list).

    Raises:
        UsageError: not valid JSON, or another kind of value.
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(value, kind):
        raise UsageError(f"{where}: not a JSON {'object' if kind is dict else 'list'}")
    return value


def read_hyperparameters(env: TrainingEnv) -> dict[str, str]:
    """The hyperparameters as strings, from ``SM_HPS`` or ``hyperparameters.json`` (else {}).

    ``SM_HPS`` (set by the SageMaker training toolkit) holds JSON-decoded values (numbers, objects);
    they are turned back into the strings :meth:`TrainConfig.from_hyperparameters` reads.

    Raises:
        UsageError: the hyperparameters are not a JSON object.
    """
    path = env.config_dir / HYPERPARAMETERS_FILE
    raw: dict[str, Any] = {}
    if env.hps_json is not None:
        raw = _json(env.hps_json, "SM_HPS", dict)
    elif path.is_file():
        raw = _json(path.read_text(encoding="utf-8"), str(path), dict)
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def run(env: TrainingEnv) -> None:
    """Runs this host's part of the job, by the ``mode`` hyperparameter: ``train`` (also when
    absent), ``backtest`` or ``predict`` (:mod:`pipelines.io.sagemaker_jobs`).

    Raises:
        UsageError: bad hyperparameters or host configuration.
        DataError: the channels hold no usable series.
        ArtifactError: the upload failed.
    """
    mode, hps = jobs.mode_of(read_hyperparameters(env))
    steps = {"train": train, jobs.BACKTEST: backtest, jobs.PREDICT: predict}
    if mode not in steps:
        raise UsageError(f"invalid hyperparameters: unknown mode {mode!r}; use {', '.join(steps)}")
    steps[mode](env, hps)


def _parsed[T](parse: Callable[[dict[str, str]], T], hps: dict[str, str]) -> T:
    try:
        return parse(hps)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"invalid hyperparameters: {exc}") from exc


def train(env: TrainingEnv, hps: dict[str, str] | None = None) -> None:
    """Trains this host's shard and writes the model (and uploads it when asked)."""
    raw = read_hyperparameters(env) if hps is None else hps
    config = _parsed(TrainConfig.from_hyperparameters, raw)
    series, calendar = layout.read_channels(
        env.train_dir, env.calendar_dir, freq=config.freq, target=config.target
    )
    log.info(
        "host %s of %d: training %d restaurant(s)",
        env.current_host,
        len(env.hosts),
        len(series.restaurants),
    )
    trained = fit_files(series, calendar, config)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    layout.write_model_dir(env.model_dir, trained, env.current_host)
    _upload(env)


def backtest(env: TrainingEnv, hps: dict[str, str]) -> None:
    """Backtests this host's restaurants at the job's origins and writes its rows."""
    job = _parsed(jobs.BacktestJob.from_hyperparameters, hps)
    series, calendar = layout.read_channels(
        env.train_dir, env.calendar_dir, freq="D", target=job.target
    )
    log.info("host %s: backtesting %d restaurant(s)", env.current_host, len(series.restaurants))
    part: evaluation.Partial | None = None
    try:  # the CLI pools every host's validation rows and finishes the intervals
        part, empty = evaluation.partial_backtest(series, calendar, job.spec), None
    except ValueError as exc:  # e.g. no restaurant of this shard has enough history
        empty = str(exc)
    jobs.write_part(
        env.model_dir,
        jobs.BACKTEST,
        host=env.current_host,
        restaurants=series.restaurants,
        frame=None if part is None else part.frame,
        empty=empty,
        validation=None if part is None else part.validation,
    )
    _upload(env)


def predict(env: TrainingEnv, hps: dict[str, str]) -> None:
    """Forecasts this host's restaurants from the artefact in the ``model`` channel."""
    job = _parsed(jobs.PredictJob.from_hyperparameters, hps)
    series, calendar = layout.read_channels(
        env.train_dir, env.calendar_dir, freq="D", target=job.target
    )
    store = artifacts.open_store(str(env.model_channel))
    manifest = store.read_manifest(job.artifact_id)
    shards = artifacts.read_shard_map(store, job.artifact_id)
    log.info("host %s: forecasting %d restaurant(s)", env.current_host, len(series.restaurants))
    frame = forecast_daily(store, manifest, shards, series, calendar, as_of=job.as_of)
    jobs.write_part(
        env.model_dir,
        jobs.PREDICT,
        host=env.current_host,
        restaurants=series.restaurants,
        frame=frame,
    )
    _upload(env)


def _upload(env: TrainingEnv) -> None:
    if env.shard_upload_uri:
        uri = layout.upload_host_model(
            env.model_dir,
            env.shard_upload_uri,
            env.current_host,
            s3_endpoint_url=env.s3_endpoint_url,
        )
        log.info("uploaded the model to %s", uri)


def failure_text(exc: BaseException) -> str:
    """The failure file: one line of reason, then (for unexpected errors) the traceback."""
    message = " ".join(str(exc).split()) or "no details"
    if isinstance(exc, FluxError):
        return f"{message}\n"
    trace = "".join(traceback.format_exception(exc))
    return f"{type(exc).__name__}: {message}\n\n{trace}"


def _write_failure(folder: Path, exc: BaseException) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FAILURE_FILE).write_text(failure_text(exc), encoding="utf-8")
    except OSError as err:  # the reason still reaches the logs
        log.error("cannot write %s: %s", folder / FAILURE_FILE, err)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Runs one host's training; returns the exit status (see the module docstring).

    Args:
        argv: Arguments after the program name (default ``sys.argv[1:]``): none or ``train``.
        environ: The environment (default ``os.environ``).
    """
    args = tuple(sys.argv[1:] if argv is None else argv)
    env_vars = os.environ if environ is None else environ
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args not in _COMMANDS:
            raise UsageError(f"unexpected arguments {' '.join(args)!r}; the image only trains")
        run(TrainingEnv.from_environ(env_vars))
    except Exception as exc:
        _write_failure(output_dir(env_vars), exc)
        log.error("training failed: %s", failure_text(exc).splitlines()[0])
        return exc.exit_code if isinstance(exc, FluxError) else EXIT_FAILURE
    return EXIT_OK
