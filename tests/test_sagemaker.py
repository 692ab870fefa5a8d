"""SageMaker training, both halves, against moto's real HTTP server (S3 and the SageMaker API).

moto accepts a training job and marks it Completed at once, but runs no container and writes no
model. So the two halves are tested for real on either side of that gap: the CLI side exports the
data and creates the job through moto; then the entry point runs here, once per simulated host,
against an /opt/ml-shaped folder holding the shard SageMaker would have given that host; its model
goes to the job's output keys (one host uploads it itself, as in a real job, the other is packed
by the test); and the CLI side fetches, merges and checks the hosts' models.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest

from flux_sagemaker import entry
from models import columns as c
from models.base import Calendar
from models.frames import SeriesFrame
from models.persistence import load_ensemble
from models.spec import ModelSpec
from pipelines.errors import EXIT_FAILURE, EXIT_USAGE, ConfigError, DataError, TrainingJobError
from pipelines.fitting import TrainConfig
from pipelines.io import artifacts
from pipelines.io import sagemaker as sm
from pipelines.io.artifact_store import RetryPolicy
from pipelines.settings import Settings, load_settings
from tests.conftest import AWS_ACCESS_KEY, AWS_REGION, AWS_SECRET_KEY
from tests.synthetic_series import horizon, synthetic_series

ROOT = Path(__file__).resolve().parents[1]
ACCESS_KEY, SECRET_KEY, REGION = AWS_ACCESS_KEY, AWS_SECRET_KEY, AWS_REGION
FAST = RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.02, timeout=5)
CONFIG = TrainConfig(
    spec=ModelSpec(
        horizon=14,
        members=("prophet", "xgboost"),
        params={"xgboost": {"n_estimators": 30, "origins_span": 84}},
    )
)
HOSTS = ["algo-1", "algo-2"]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _test_credentials(aws_env: None) -> None:
    """Test credentials only (``aws_env``), for every test here."""


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture
def settings(s3: Any, moto_endpoint: str) -> sm.SageMakerSettings:
    """Two instances, a staging prefix in a new bucket, everything pointed at moto."""
    bucket = f"flux-sm-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return sm.SageMakerSettings(
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/flux-train:test",
        role_arn="arn:aws:iam::123456789012:role/flux-sagemaker",
        s3_prefix=f"s3://{bucket}/flux/staging",
        instance_type="ml.m5.large",
        instance_count=2,
        region=REGION,
        endpoint_url=moto_endpoint,
        s3_endpoint_url=moto_endpoint,
        poll_seconds=0,
        retry=FAST,
    )


@pytest.fixture(scope="module")
def series() -> SeriesFrame:
    return synthetic_series(4, 150)


@pytest.fixture(scope="module")
def calendar(series: SeriesFrame) -> Calendar:
    ids = series.restaurants
    restaurants = pd.DataFrame(
        {c.RESTAURANT_ID: ids, c.COUNTRY: ["US"] * len(ids), c.SUBDIVISION: [None] * len(ids)}
    )
    events = pd.DataFrame(
        {
            c.RESTAURANT_ID: ["r1", None],
            c.EVENT_KIND: [c.EVENT_CLOSURE, c.EVENT_LOCAL],
            c.NAME: ["refit", "festival"],
            c.START_DATE: pd.to_datetime(["2024-03-04", "2024-04-20"]),
            c.END_DATE: pd.to_datetime(["2024-03-06", "2024-04-21"]),
            c.LOWER_WINDOW: [0, 0],
            c.UPPER_WINDOW: [0, 1],
        }
    )
    return Calendar(restaurants=restaurants, events=events)


def _keys(s3: Any, settings: sm.SageMakerSettings, under: str) -> list[str]:
    bucket, prefix = settings.s3_prefix.removeprefix("s3://").split("/", 1)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/{under}")
    return sorted(o["Key"].removeprefix(f"{prefix}/") for o in listed.get("Contents", []))


def _split(uri: str) -> tuple[str, str]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bucket, key


def _moto_job(job_name: str) -> Any:
    """moto's record of a training job (the server runs in this process)."""
    from moto.sagemaker.models import sagemaker_backends

    for regions in sagemaker_backends.values():
        for backend in regions.values():
            if job_name in backend.training_jobs:
                return backend.training_jobs[job_name]
    raise KeyError(job_name)


# --- simulated hosts -----------------------------------------------------------------------------


def _download(s3: Any, uri: str, objects: list[str], dest: Path) -> None:
    """Copies objects under the prefix ``uri`` into ``dest``, as SageMaker's File mode does."""
    bucket, prefix = _split(uri)
    dest.mkdir(parents=True, exist_ok=True)
    for key in objects:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        path = dest / key.removeprefix(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def _objects(s3: Any, uri: str) -> list[str]:
    bucket, prefix = _split(uri)
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"])


def _host_environ(root: Path, host: str, hosts: list[str]) -> dict[str, str]:
    """The SM_* variables the SageMaker training toolkit sets, under a fake /opt/ml."""
    return {
        "SM_INPUT_DIR": str(root / "input"),
        "SM_INPUT_CONFIG_DIR": str(root / "input" / "config"),
        "SM_MODEL_DIR": str(root / "model"),
        "SM_OUTPUT_DATA_DIR": str(root / "output" / "data"),
        "SM_CHANNEL_TRAIN": str(root / "input" / "data" / "train"),
        "SM_CHANNEL_CALENDAR": str(root / "input" / "data" / "calendar"),
        "SM_HOSTS": json.dumps(hosts),
        "SM_CURRENT_HOST": host,
    }


def _sagemaker_tar(folder: Path) -> bytes:
    """A folder packed the way SageMaker packs /opt/ml/model (``./``-relative names)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


def run_hosts(s3: Any, job_name: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    """Does SageMaker's part of a job: gives host k shard k of each ShardedByS3Key channel and
    every object of each FullyReplicated one (``train`` and ``calendar``; a prediction's
    ``model``) under ``input/data/<channel>``, writes hyperparameters.json, runs the entry point
    per host (algo-1 told its hosts by SM_HOSTS/SM_CURRENT_HOST, the others by
    resourceconfig.json), and gets each host's output to ``output/<host>/model.tar.gz``. Returns
    each host's environment."""
    job = _moto_job(job_name)
    channels = {ch["ChannelName"]: ch["DataSource"]["S3DataSource"] for ch in job.input_data_config}
    hosts = sm.host_names(job.resource_config["InstanceCount"])
    upload_uri = f"{job.output_data_config['S3OutputPath']}/{job_name}/output"  # the job's env
    environs = {}
    for k, host in enumerate(hosts):
        root = tmp_path / host / "opt" / "ml"
        environ = _host_environ(root, host, hosts)
        for name, source in channels.items():
            objects = _objects(s3, source["S3Uri"])
            if source["S3DataDistributionType"] == "ShardedByS3Key":
                objects = objects[k :: len(hosts)]
            _download(s3, source["S3Uri"], objects, root / "input" / "data" / name)
        config_dir = root / "input" / "config"
        config_dir.mkdir(parents=True)
        (config_dir / "hyperparameters.json").write_text(json.dumps(job.hyper_parameters))
        if host != "algo-1":  # no training toolkit here: the hosts come from resourceconfig.json
            del environ["SM_HOSTS"], environ["SM_CURRENT_HOST"]
            resource = {"current_host": host, "hosts": hosts}
            (config_dir / "resourceconfig.json").write_text(json.dumps(resource))
        if host == "algo-1":  # uploads its own model, as every host of a real job does
            environ |= {sm.SHARD_UPLOAD_ENV: upload_uri, "FLUX_S3_ENDPOINT_URL": _endpoint(s3)}
        assert entry.main(["train"], environ) == 0, (root / "output/failure").read_text()
        if host != "algo-1":  # packed like SageMaker packs /opt/ml/model
            bucket, key = _split(f"{upload_uri}/{host}/model.tar.gz")
            s3.put_object(Bucket=bucket, Key=key, Body=_sagemaker_tar(root / "model"))
        environs[host] = environ
    return environs


def _endpoint(s3: Any) -> str:
    return str(s3.meta.endpoint_url)


# --- the CLI side: export and create -------------------------------------------------------------


def test_export_writes_one_parquet_object_per_shard(
    settings: sm.SageMakerSettings, s3: Any, series: SeriesFrame, calendar: Calendar
) -> None:
    backend = sm.SageMakerBackend(settings)
    train_uri, calendar_uri = backend.export_training_data(series, calendar, "job-a", 2)
    assert train_uri == f"{settings.s3_prefix}/jobs/job-a/input/train/"
    assert calendar_uri == f"{settings.s3_prefix}/jobs/job-a/input/calendar/"
    assert _keys(s3, settings, "jobs/job-a/") == [
        "jobs/job-a/input/calendar/calendar-events.parquet",
        "jobs/job-a/input/calendar/calendar-regressors.parquet",
        "jobs/job-a/input/calendar/calendar-restaurants.parquet",
        "jobs/job-a/input/train/series-0000.parquet",
        "jobs/job-a/input/train/series-0001.parquet",
    ]
    shards = []
    for key in _objects(s3, train_uri):
        body = s3.get_object(Bucket=_split(train_uri)[0], Key=key)["Body"].read()
        shards.append(pd.read_parquet(io.BytesIO(body)))
    owners = [set(frame[c.RESTAURANT_ID]) for frame in shards]
    assert owners == [{"r0", "r2"}, {"r1", "r3"}]  # sorted ids dealt round-robin
    assert list(shards[0].columns) == [c.RESTAURANT_ID, c.DS, c.Y]
    rebuilt = SeriesFrame.from_frame(pd.concat(shards, ignore_index=True))
    pd.testing.assert_frame_equal(rebuilt.data, series.data)
    with pytest.raises(DataError, match=r"4 restaurant\(s\) cannot fill 5 shard"):
        backend.export_training_data(series, calendar, "job-b", 5)


def test_the_calendar_channel_carries_the_regressors_to_every_host(
    settings: sm.SageMakerSettings,
    s3: Any,
    series: SeriesFrame,
    calendar: Calendar,
    tmp_path: Path,
) -> None:
    # Two hand-written rows: one restaurant's promotion (known in advance) and rain for all.
    regressors = pd.DataFrame(
        {
            c.RESTAURANT_ID: ["r0", "*"],
            c.DS: pd.to_datetime(["2024-03-01", "2024-03-02"]).astype("datetime64[ns]"),
            c.NAME: ["promo", "rain_mm"],
            c.VALUE: [1.0, 4.5],
            c.KNOWN_IN_ADVANCE: [True, False],
        }
    )
    with_regressors = replace(calendar, regressors=regressors)
    backend = sm.SageMakerBackend(settings)
    train_uri, calendar_uri = backend.export_training_data(series, with_regressors, "job-r", 2)
    for uri, folder in ((train_uri, tmp_path / "train"), (calendar_uri, tmp_path / "calendar")):
        folder.mkdir()
        bucket = _split(uri)[0]
        for key in _objects(s3, uri):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            (folder / key.rsplit("/", 1)[-1]).write_bytes(body)
    _, received = sm.read_channels(
        tmp_path / "train", tmp_path / "calendar", freq="D", target=series.target
    )
    pd.testing.assert_frame_equal(received.regressors, regressors)


def test_create_training_job_registers_channels_and_hyperparameters(
    settings: sm.SageMakerSettings, series: SeriesFrame, calendar: Calendar
) -> None:
    backend = sm.SageMakerBackend(settings)
    inputs = backend.export_training_data(series, calendar, "job-c", 2)
    arn = backend.create_training_job("job-c", CONFIG, inputs, 2)
    assert arn.endswith(":training-job/job-c")
    job = backend.describe("job-c")
    assert job["AlgorithmSpecification"]["TrainingImage"] == settings.image_uri
    assert job["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert job["RoleArn"] == settings.role_arn
    channels = {
        ch["ChannelName"]: ch["DataSource"]["S3DataSource"] for ch in job["InputDataConfig"]
    }
    assert channels["train"]["S3Uri"] == inputs[0]
    assert channels["train"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert channels["calendar"]["S3Uri"] == inputs[1]
    assert channels["calendar"]["S3DataDistributionType"] == "FullyReplicated"
    assert job["OutputDataConfig"]["S3OutputPath"] == f"{settings.s3_prefix}/jobs"
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert job["ResourceConfig"]["InstanceCount"] == 2
    assert job["HyperParameters"] == CONFIG.hyperparameters()
    assert TrainConfig.from_hyperparameters(job["HyperParameters"]) == CONFIG
    # moto drops the Environment; the request carries it (checked on the request itself).
    request = sm.training_job_request(settings, "job-c", CONFIG, inputs, 2)
    assert request["Environment"] == {
        sm.SHARD_UPLOAD_ENV: f"{settings.s3_prefix}/jobs/job-c/output"
    }


# --- both halves: two simulated hosts ------------------------------------------------------------


def test_two_hosts_train_their_shards_and_the_cli_merges_them(
    settings: sm.SageMakerSettings,
    s3: Any,
    series: SeriesFrame,
    calendar: Calendar,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_wait = sm.SageMakerBackend.wait_for_job

    def wait_then_run_hosts(
        self: sm.SageMakerBackend, job_name: str, progress: sm.Progress | None = None
    ) -> Any:
        done = real_wait(self, job_name, progress)  # moto: Completed at once
        run_hosts(s3, job_name, tmp_path)  # what the instances would have done meanwhile
        return done

    monkeypatch.setattr(sm.SageMakerBackend, "wait_for_job", wait_then_run_hosts)
    steps: list[tuple[str, int, int]] = []
    remote = sm.run_remote_training(series, calendar, CONFIG, settings, lambda *a: steps.append(a))
    files = artifacts.artifact_files(remote.shards)

    job_name = remote.job_name
    assert _keys(s3, settings, f"jobs/{job_name}/output/") == [
        f"jobs/{job_name}/output/algo-1/model.tar.gz",
        f"jobs/{job_name}/output/algo-2/model.tar.gz",
    ]
    owners = json.loads(files["shards.json"])
    assert sorted(owners) == series.restaurants  # every restaurant exactly once
    assert owners == {"r0": "algo-1", "r1": "algo-2", "r2": "algo-1", "r3": "algo-2"}
    for host in HOSTS:
        assert f"shards/{host}/ensemble.json" in files
        assert f"shards/{host}/xgboost.ubj" in files
        record = json.loads(files[f"shards/{host}/trained.json"])
        assert record["host"] == host
        assert sorted(record["restaurants"]) == sorted(r for r, h in owners.items() if h == host)
        assert set(record) >= {"failed", "weights", "validation_metrics", "fingerprint"}
    assert {rel.split("/")[-1] for rel in files if "/prophet/" in rel} == {
        f"{r}.json" for r in series.restaurants
    }
    assert list(remote.shards) == HOSTS
    assert sorted(r for s in remote.shards.values() for r in s.restaurants) == series.restaurants
    assert all(s.weights for s in remote.shards.values())
    assert [s[1:] for s in steps] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert "Completed" in steps[2][0]

    # Each shard is a loadable ensemble that forecasts its own restaurants.
    for host in HOSTS:
        prefix = f"shards/{host}/"
        mine = series.for_restaurants(r for r, h in owners.items() if h == host)
        shard = {k.removeprefix(prefix): v for k, v in files.items() if k.startswith(prefix)}
        forecast = load_ensemble(shard, mine, calendar).predict(horizon(mine, 14)).data
        assert set(forecast[c.RESTAURANT_ID]) == set(mine.restaurants)


def test_missing_or_conflicting_host_models_are_refused(
    settings: sm.SageMakerSettings, series: SeriesFrame, calendar: Calendar, s3: Any
) -> None:
    backend = sm.SageMakerBackend(settings)
    with pytest.raises(TrainingJobError, match=r"host algo-1 left no model: .*not found"):
        backend.fetch_host_models(_created_job(backend, series, calendar))
    one = {"trained.json": json.dumps({"host": "algo-1", "restaurants": ["r0", "r1"]}).encode()}
    two = {"trained.json": json.dumps({"host": "algo-2", "restaurants": ["r1"]}).encode()}
    with pytest.raises(ValueError, match=r"restaurant r1 was trained by both algo-1 and algo-2"):
        artifacts.merge_shards({"algo-1": one, "algo-2": two})
    with pytest.raises(ValueError, match=r"host algo-2: trained.json was written by 'algo-1'"):
        artifacts.merge_shards({"algo-2": one})
    with pytest.raises(ValueError, match=r"host algo-1: its model has no trained.json"):
        artifacts.merge_shards({"algo-1": {"ensemble.json": b"{}"}})


def _created_job(backend: sm.SageMakerBackend, series: SeriesFrame, calendar: Calendar) -> str:
    job_name = sm.new_job_name()
    inputs = backend.export_training_data(series, calendar, job_name, 2)
    backend.create_training_job(job_name, CONFIG, inputs, 2)
    return job_name


# --- failed, stopped and slow jobs ---------------------------------------------------------------


REASON = "AlgorithmError: DataError: train channel: series: y has negative values"


def test_a_failed_job_raises_with_its_failure_reason(
    settings: sm.SageMakerSettings, series: SeriesFrame, calendar: Calendar
) -> None:
    """The job runs (InProgress) and fails while the CLI polls; the status flip is made on moto's
    own record of the job, and every read goes through a real DescribeTrainingJob call."""
    backend = sm.SageMakerBackend(settings, sleep=lambda _s: _fail(job_name))
    job_name = _created_job(backend, series, calendar)
    record = _moto_job(job_name)
    record.training_job_status, record.secondary_status = "InProgress", "Training"
    seen: list[str] = []
    with pytest.raises(TrainingJobError) as err:
        backend.wait_for_job(job_name, lambda label, *_: seen.append(label))
    assert str(err.value) == f"SageMaker training job {job_name}: failed: {REASON}"
    assert err.value.status == "Failed" and err.value.reason == f"failed: {REASON}"
    assert err.value.exit_code == 1
    assert seen == [
        f"SageMaker job {job_name}: InProgress (Training)",
        f"SageMaker job {job_name}: Failed (Failed)",
    ]


def _fail(job_name: str) -> None:
    record = _moto_job(job_name)
    record.training_job_status = record.secondary_status = "Failed"
    record.failure_reason = REASON


def test_run_remote_training_on_a_failed_job_returns_no_files(
    settings: sm.SageMakerSettings,
    series: SeriesFrame,
    calendar: Calendar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_create = sm.SageMakerBackend.create_training_job

    def create_then_fail(self: sm.SageMakerBackend, job_name: str, *args: Any) -> str:
        arn = real_create(self, job_name, *args)
        _fail(job_name)
        return arn

    monkeypatch.setattr(sm.SageMakerBackend, "create_training_job", create_then_fail)
    fetched: list[str] = []
    monkeypatch.setattr(sm.SageMakerBackend, "fetch_host_models", lambda s, j: fetched.append(j))
    with pytest.raises(TrainingJobError, match=r"failed: AlgorithmError: DataError"):
        sm.run_remote_training(series, calendar, CONFIG, settings)
    assert fetched == []


def test_a_stopped_or_slow_job_raises(
    settings: sm.SageMakerSettings,
    series: SeriesFrame,
    calendar: Calendar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]

    def tick(seconds: float) -> None:
        now[0] += 60

    slow = replace(settings, max_wait_seconds=100, poll_seconds=60)
    backend = sm.SageMakerBackend(slow, sleep=tick, clock=lambda: now[0])
    job_name = _created_job(backend, series, calendar)
    _moto_job(job_name).training_job_status = "InProgress"
    stopped: list[str] = []  # moto has no StopTrainingJob: this one call is recorded instead
    monkeypatch.setattr(
        backend.client, "stop_training_job", lambda **kw: stopped.append(kw["TrainingJobName"])
    )
    with pytest.raises(TrainingJobError, match=r"did not finish within 100 s \(last status "):
        backend.wait_for_job(job_name)
    assert stopped == [job_name] and now[0] == 120
    _moto_job(job_name).training_job_status = "Stopped"
    with pytest.raises(TrainingJobError, match=r": was stopped$"):
        backend.wait_for_job(job_name)


def test_sagemaker_api_errors_are_training_job_errors(settings: sm.SageMakerSettings) -> None:
    backend = sm.SageMakerBackend(settings)
    with pytest.raises(TrainingJobError, match=r"job-x: cannot describe the job: .*Could not find"):
        backend.describe("job-x")


# --- the entry point on its own ------------------------------------------------------------------


def _host_folder(root: Path, frame: pd.DataFrame, hps: dict[str, str]) -> dict[str, str]:
    environ = _host_environ(root, "algo-1", ["algo-1"])
    train = Path(environ["SM_CHANNEL_TRAIN"])
    train.mkdir(parents=True)
    frame.to_parquet(train / "series-0000.parquet", index=False)
    Path(environ["SM_INPUT_CONFIG_DIR"]).mkdir(parents=True)
    (Path(environ["SM_INPUT_CONFIG_DIR"]) / "hyperparameters.json").write_text(json.dumps(hps))
    return environ


def test_the_entry_point_reports_bad_input_in_the_failure_file(
    tmp_path: Path, series: SeriesFrame
) -> None:
    frame = series.data.copy()
    frame.loc[3, c.Y] = -1.0
    environ = _host_folder(tmp_path / "ml", frame, CONFIG.hyperparameters())
    assert entry.main([], environ) == EXIT_USAGE
    failure = (tmp_path / "ml" / "output" / "failure").read_text()
    assert failure.splitlines()[0] == (
        "train channel (series-0000.parquet): series: y has negative values"
    )
    assert not (tmp_path / "ml" / "model" / "trained.json").exists()


def test_the_entry_point_refuses_bad_settings_and_arguments(tmp_path: Path) -> None:
    environ = _host_folder(tmp_path / "ml", pd.DataFrame({"x": [1]}), {"jobs": "soon"})
    assert entry.main(["train"], environ) == EXIT_USAGE
    failure = tmp_path / "ml" / "output" / "failure"
    assert failure.read_text().startswith("invalid hyperparameters: invalid literal for int()")
    assert entry.main(["serve"], environ) == EXIT_USAGE
    assert failure.read_text() == "unexpected arguments 'serve'; the image only trains\n"
    environ["SM_HOSTS"] = '["algo-1"'
    assert entry.main(["train"], environ) == EXIT_USAGE
    assert failure.read_text().startswith("SM_HOSTS: not valid JSON")


def test_a_bug_in_training_leaves_its_traceback(
    tmp_path: Path, series: SeriesFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(entry, "fit_files", boom)
    environ = _host_folder(tmp_path / "ml", series.data, CONFIG.hyperparameters())
    assert entry.main(["train"], environ) == EXIT_FAILURE
    lines = (tmp_path / "ml" / "output" / "failure").read_text().splitlines()
    assert lines[0] == "RuntimeError: boom second line"
    assert lines[2] == "Traceback (most recent call last):"


def test_python_m_flux_sagemaker_runs_without_boto3(tmp_path: Path) -> None:
    """The image's ENTRYPOINT (``python -m flux_sagemaker train``) with boto3 unimportable: an
    empty shard fails cleanly, so neither the import nor the failure path needs boto3."""
    environ = _host_environ(tmp_path / "ml", "algo-2", HOSTS)
    code = (
        "import runpy, sys; sys.modules['boto3'] = sys.modules['botocore'] = None; "
        "sys.argv = ['flux_sagemaker', 'train']; "
        "runpy.run_module('flux_sagemaker', run_name='__main__', alter_sys=True)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **environ},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_USAGE, done.stderr
    failure = (tmp_path / "ml" / "output" / "failure").read_text()
    assert failure.startswith("train channel ") and "no series-*.parquet file" in failure
    assert "training failed: train channel" in done.stderr


def test_hyperparameters_from_the_toolkit_and_from_the_file(tmp_path: Path) -> None:
    environ = _host_folder(tmp_path / "ml", pd.DataFrame(), CONFIG.hyperparameters())
    from_file = entry.read_hyperparameters(entry.TrainingEnv.from_environ(environ))
    assert TrainConfig.from_hyperparameters(from_file) == CONFIG
    # The SageMaker training toolkit JSON-decodes every value it can before setting SM_HPS.
    decoded = {k: _decode(v) for k, v in CONFIG.hyperparameters().items()}
    environ["SM_HPS"] = json.dumps(decoded)
    from_toolkit = entry.read_hyperparameters(entry.TrainingEnv.from_environ(environ))
    assert TrainConfig.from_hyperparameters(from_toolkit) == CONFIG


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def test_hosts_come_from_resourceconfig_without_the_toolkit(tmp_path: Path) -> None:
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-2", "hosts": HOSTS})
    )
    env = entry.TrainingEnv.from_environ({"SM_INPUT_DIR": str(tmp_path / "input")})
    assert (env.hosts, env.current_host) == (tuple(HOSTS), "algo-2")
    assert env.train_dir == tmp_path / "input" / "data" / "train"
    assert env.output_dir == Path("/opt/ml/output")


def test_model_archives_are_read_safely() -> None:
    def tar_with(add: Callable[[tarfile.TarFile], None]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            add(tar)
        return buffer.getvalue()

    def member(name: str, kind: bytes = tarfile.REGTYPE) -> Callable[[tarfile.TarFile], None]:
        info = tarfile.TarInfo(name)
        info.type = kind
        return lambda tar: tar.addfile(info, io.BytesIO(b""))

    assert sm.unpack_model(tar_with(member("./a/b.json")), "x") == {"a/b.json": b""}
    with pytest.raises(ValueError, match=r"invalid relative path"):
        sm.unpack_model(tar_with(member("../escape.json")), "x")
    with pytest.raises(ValueError, match=r"x: link is not a regular file"):
        sm.unpack_model(tar_with(member("link", tarfile.SYMTYPE)), "x")
    with pytest.raises(ValueError, match=r"x: not a readable model.tar.gz"):
        sm.unpack_model(b"not a tar", "x")


# --- the whole CLI path: flux train --backend sagemaker, then flux predict -----------------------


@pytest.fixture
def flux(settings: sm.SageMakerSettings, tmp_path: Path) -> Settings:
    """Flux settings pointed at moto, with three sample restaurants (150 days) imported."""
    import datetime as dt

    from tests.conftest import load_generator
    from tests.helpers import run_cli

    sample = tmp_path / "sample"
    load_generator().generate(
        sample,
        start=dt.date(2025, 4, 1),
        days=150,
        seed=8,
        restaurants=["r01", "r05", "r07"],
        scale=0.4,
    )
    flux = load_settings(
        home=tmp_path / "home",
        s3_endpoint_url=settings.s3_endpoint_url,
        sagemaker_image_uri=settings.image_uri,
        sagemaker_role_arn=settings.role_arn,
        sagemaker_s3_prefix=settings.s3_prefix,
        sagemaker_instance_count=2,
        sagemaker_region=settings.region,
        sagemaker_endpoint_url=settings.endpoint_url,
    )
    assert run_cli(flux, ["import", str(sample)]).exit_code == 0
    return flux


def hosts_run_while_waited(monkeypatch: pytest.MonkeyPatch, s3: Any, where: Path) -> list[str]:
    """Makes every job's hosts run (:func:`run_hosts`) while the CLI waits for it; returns the
    names of the jobs, as they run."""
    real_wait = sm.SageMakerBackend.wait_for_job
    jobs: list[str] = []

    def wait_then_run_hosts(
        self: sm.SageMakerBackend, job_name: str, progress: sm.Progress | None = None
    ) -> Any:
        done = real_wait(self, job_name, progress)  # moto: Completed at once
        run_hosts(s3, job_name, where / job_name)  # what the instances would have done meanwhile
        jobs.append(job_name)
        return done

    monkeypatch.setattr(sm.SageMakerBackend, "wait_for_job", wait_then_run_hosts)
    return jobs


def test_flux_train_on_sagemaker_registers_an_artifact_that_predicts(
    flux: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import train
    from tests.helpers import run_cli

    hosts_run_while_waited(monkeypatch, s3, tmp_path / "hosts")
    result = train.run(
        train.TrainRequest(spec=CONFIG.spec, backend="sagemaker"),
        flux,
    )
    assert result.manifest.trained_on == "sagemaker"
    assert result.manifest.restaurants == ["r01", "r05", "r07"]
    assert result.manifest.extra["job_name"]
    predicted = run_cli(flux, ["predict", "--artifact", result.artifact_id, "--json"])
    assert predicted.exit_code == 0, predicted.stderr
    assert json.loads(predicted.stdout)["rows"] == 3 * 14
    # its per-host validation metrics pass the publishing gate as they stand (no --force)
    published = run_cli(flux, ["publish", "--json"])
    assert published.exit_code == 0, published.stderr
    assert json.loads(published.stdout)["failed_gates"] == {}


# --- settings ------------------------------------------------------------------------------------


def test_every_sagemaker_setting_reaches_the_job_settings(tmp_path: Path) -> None:
    flux = {
        n.removeprefix("sagemaker_") for n in Settings.model_fields if n.startswith("sagemaker_")
    }
    assert flux <= {f.name for f in fields(sm.SageMakerSettings)}  # a new setting needs a field
    settings = load_settings(
        home=tmp_path,
        sagemaker_image_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/flux-train:1",
        sagemaker_role_arn="arn:aws:iam::123456789012:role/flux",
        sagemaker_s3_prefix="s3://flux-staging/jobs",
        sagemaker_instance_type="ml.c5.2xlarge",
        sagemaker_instance_count=3,
        sagemaker_region="eu-west-1",
        sagemaker_endpoint_url="http://sagemaker.local",
        sagemaker_max_wait_seconds=600,
        s3_endpoint_url="http://s3.local",
    )
    job = sm.settings_from(settings)
    assert {n: getattr(job, n) for n in flux} == {
        n: getattr(settings, f"sagemaker_{n}") for n in flux
    }
    assert job.s3_endpoint_url == "http://s3.local"
    defaults = sm.SageMakerSettings(image_uri="i", role_arn="r", s3_prefix="s3://b/p")
    assert (defaults.instance_type, defaults.max_wait_seconds) == (
        Settings().sagemaker_instance_type,
        Settings().sagemaker_max_wait_seconds,
    )
    with pytest.raises(ConfigError, match="FLUX_SAGEMAKER_ROLE_ARN, FLUX_SAGEMAKER_S3_PREFIX"):
        sm.settings_from(load_settings(home=tmp_path, sagemaker_image_uri="image"))


# --- sharded backtests and predictions (mode backtest | predict) ---------------------------------


def _host_records(s3: Any, settings: sm.SageMakerSettings, job_name: str) -> dict[str, Any]:
    """Each host's host.json, read back from the job's output keys."""
    bucket, prefix = _split(f"{settings.s3_prefix}/jobs/{job_name}/output")
    out = {}
    for host in HOSTS:
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}/{host}/model.tar.gz")["Body"].read()
        out[host] = json.loads(sm.unpack_model(body, host)["host.json"])
    return out


def test_a_sharded_backtest_equals_the_local_one(
    flux: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Models fitted one restaurant at a time: two hosts' merged rows are the local run's, their
    conformal intervals too (the CLI pools every host's validation rows, as one local fit pools
    its restaurants', and calibrates once), so every metrics table (point and interval columns)
    and the recorded run are the local run's."""
    from pipelines import backtest, evaluation

    jobs = hosts_run_while_waited(monkeypatch, s3, tmp_path / "hosts")
    request = backtest.BacktestRequest(
        spec=evaluation.BacktestSpec(
            models=("seasonal_naive", "weekday_median", "prophet"),
            model=ModelSpec(horizon=14),
            folds=2,
        )
    )
    local = backtest.run(request, flux)
    sharded = backtest.run(replace(request, backend="sagemaker", shards=2), flux)

    (job_name,) = jobs
    assert job_name.startswith("flux-backtest-")
    job = _moto_job(job_name)
    assert job.resource_config["InstanceCount"] == 2
    assert job.hyper_parameters["mode"] == "backtest"
    # 150 days from 2025-04-01: the last is 2025-08-28; the last origin leaves 14 days after it
    # (2025-08-14) and the one before is 14 days earlier (2025-07-31), fixed for every host.
    assert json.loads(job.hyper_parameters["cutoffs"]) == ["2025-07-31", "2025-08-14"]
    records = _host_records(s3, flux_sm(flux), job_name)
    # sorted ids dealt round-robin: r01, r07 to shard 0 (algo-1), r05 to shard 1 (algo-2)
    shard_of = {"algo-1": ["r01", "r07"], "algo-2": ["r05"]}
    assert {h: r["restaurants"] for h, r in records.items()} == shard_of

    intervals = [col for col in local.frame if col.startswith(("yhat_lower", "yhat_upper"))]
    assert len(intervals) == 4  # 80 and 95
    assert local.frame[intervals].notna().all().all()
    pd.testing.assert_frame_equal(sharded.frame, local.frame)
    # the shards' own calibration would differ: the pooled residuals are what makes them equal
    per_shard = [
        backtest.run(replace(request, restaurants=frozenset(rids)), flux).frame
        for rids in shard_of.values()
    ]
    order = [c.MODEL, "fold", c.RESTAURANT_ID, c.DS]
    by_shard = pd.concat(per_shard, ignore_index=True).sort_values(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        by_shard.drop(columns=intervals), local.frame.drop(columns=intervals)
    )
    assert not np.allclose(by_shard[intervals], local.frame[intervals])
    assert sharded.rows == local.rows > 0
    assert sharded.cutoffs == local.cutoffs
    for level in ("overall", "by_fold", "by_restaurant", "by_step", "by_group"):
        a_table, b_table = getattr(local.scores, level), getattr(sharded.scores, level)
        pd.testing.assert_frame_equal(b_table, a_table)
    overall = local.scores.overall
    assert {"rmsle", "wape", "mae", "mase", "bias", "coverage_95", "pinball_10", "width_80"} <= set(
        overall
    )
    assert sharded.scores.best_model == local.scores.best_model
    a, b = backtest.record(flux, local.run_id), backtest.record(flux, sharded.run_id)
    assert a.run_id != b.run_id
    assert (b.metrics, b.params, b.folds, b.models, b.restaurants, b.best_model) == (
        a.metrics,
        a.params,
        a.folds,
        a.models,
        a.restaurants,
        a.best_model,
    )


def flux_sm(flux: Settings) -> sm.SageMakerSettings:
    return sm.settings_from(flux)


def test_a_sharded_prediction_equals_the_local_one(
    flux: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An artefact trained here (one shard holding all three restaurants, XGBoost across them)
    forecast by two hosts, each from the artefact's files: the same forecast rows as here."""
    from pipelines import predict, train
    from pipelines.io import forecasts
    from pipelines.io.db import Database

    trained = train.run(train.TrainRequest(spec=CONFIG.spec), flux)
    request = predict.PredictRequest(artifact=trained.artifact_id)
    local = predict.run(request, flux)
    db = Database(flux)
    with db.connect() as conn:  # read now: the next run of this artefact and day replaces it
        stored_local = forecasts.read_forecasts(conn, local.forecast_run_id)
    jobs = hosts_run_while_waited(monkeypatch, s3, tmp_path / "hosts")
    sharded = predict.run(replace(request, backend="sagemaker", shards=2), flux)
    with db.connect() as conn:
        stored_sharded = forecasts.read_forecasts(conn, sharded.forecast_run_id)
    db.dispose()

    (job_name,) = jobs
    assert job_name.startswith("flux-predict-")
    job = _moto_job(job_name)
    assert job.hyper_parameters == {
        "mode": "predict",
        "target": "covers",
        "artifact_id": trained.artifact_id,
        "as_of": str(local.as_of),
    }
    model = {ch["ChannelName"]: ch for ch in job.input_data_config}["model"]
    assert model["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "FullyReplicated"
    folder = f"jobs/{job_name}/input/model/artefacts/{trained.artifact_id}/"
    keys = _keys(s3, flux_sm(flux), folder)
    assert f"{folder}manifest.json" in keys and f"{folder}shards.json" in keys
    assert f"{folder}shards/local/ensemble.json" in keys
    records = _host_records(s3, flux_sm(flux), job_name)
    assert {h: r["restaurants"] for h, r in records.items()} == {
        "algo-1": ["r01", "r07"],
        "algo-2": ["r05"],
    }

    assert len(local.forecasts) == 3 * 14  # three restaurants, the artefact's 14 days each
    pd.testing.assert_frame_equal(sharded.forecasts, local.forecasts)
    assert (sharded.as_of, sharded.skipped, sharded.fallbacks) == (
        local.as_of,
        local.skipped,
        local.fallbacks,
    )
    run_column = "forecast_run_id"
    pd.testing.assert_frame_equal(
        stored_sharded.drop(columns=[run_column]), stored_local.drop(columns=[run_column])
    )


def test_host_parts_must_cover_every_restaurant_once() -> None:
    from pipelines.io import sagemaker_jobs as jobs

    def part(host: str, restaurants: list[str], empty: str | None = None) -> dict[str, bytes]:
        record = {"host": host, "restaurants": restaurants, "empty": empty}
        frame = pd.DataFrame({c.RESTAURANT_ID: restaurants})
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return {"host.json": json.dumps(record).encode(), "backtest.parquet": buffer.getvalue()}

    frames, reasons = jobs.read_parts(
        "job",
        "backtest",
        {"algo-1": part("algo-1", ["r0"]), "algo-2": part("algo-2", ["r1"])},
        ["r0", "r1"],
    )
    assert [list(f[c.RESTAURANT_ID]) for f in frames] == [["r0"], ["r1"]] and reasons == []
    empty = {"algo-1": part("algo-1", ["r0"]), "algo-2": part("algo-2", ["r1"], "too short")}
    frames, reasons = jobs.read_parts("job", "backtest", empty, ["r0", "r1"])
    assert len(frames) == 1 and reasons == ["too short"]
    both = {"algo-1": part("algo-1", ["r0", "r1"]), "algo-2": part("algo-2", ["r1"])}
    with pytest.raises(TrainingJobError, match=r"r1 was handled by both algo-1 and algo-2"):
        jobs.read_parts("job", "backtest", both, ["r0", "r1"])
    with pytest.raises(TrainingJobError, match=r"do not cover the restaurants: missing \['r2'\]"):
        jobs.read_parts("job", "backtest", {"algo-1": part("algo-1", ["r0"])}, ["r0", "r2"])
    with pytest.raises(TrainingJobError, match=r"host algo-2: host.json was written by 'algo-1'"):
        jobs.read_parts("job", "backtest", {"algo-2": part("algo-1", ["r0"])}, ["r0"])
    no_rows = {"algo-1": {"host.json": part("algo-1", ["r0"])["host.json"]}}
    with pytest.raises(TrainingJobError, match=r"host algo-1: its output has no backtest.parquet"):
        jobs.read_parts("job", "backtest", no_rows, ["r0"])


def test_backtest_hyperparameters_round_trip_and_bad_ones_are_refused(tmp_path: Path) -> None:
    from pipelines import evaluation
    from pipelines.io import sagemaker_jobs as jobs

    spec = evaluation.BacktestSpec(
        models=("seasonal_naive", "prophet"),
        model=ModelSpec(horizon=7),
        refit_every=2,
        cutoffs=(pd.Timestamp("2025-06-01"), pd.Timestamp("2025-06-08")),
        min_train_rows=21,
        validation_origins=(3, 1),
    )
    hps = jobs.BacktestJob(target="orders", spec=spec).hyperparameters()
    mode, rest = jobs.mode_of(hps)
    back = jobs.BacktestJob.from_hyperparameters(rest)
    assert mode == "backtest" and back.target == "orders"
    assert back.spec == replace(spec, folds=2)  # folds: the number of explicit cutoffs
    with pytest.raises(ValueError, match=r"unknown backtest hyperparameter\(s\) folds"):
        jobs.BacktestJob.from_hyperparameters({**rest, "folds": "3"})
    with pytest.raises(ValueError, match=r"validation_origins must be a JSON list, one count"):
        jobs.BacktestJob.from_hyperparameters({**rest, "validation_origins": "[3]"})
    unfixed = jobs.BacktestJob(target="orders", spec=replace(spec, validation_origins=None))
    again = jobs.BacktestJob.from_hyperparameters(jobs.mode_of(unfixed.hyperparameters())[1])
    assert again.spec.validation_origins is None
    environ = _host_folder(tmp_path / "ml", pd.DataFrame(), {**hps, "cutoffs": "[]"})
    assert entry.main(["train"], environ) == EXIT_USAGE
    failure = (tmp_path / "ml" / "output" / "failure").read_text()
    assert failure == "invalid hyperparameters: cutoffs must be a non-empty JSON list of dates\n"
    environ = _host_folder(tmp_path / "ml2", pd.DataFrame(), {"mode": "serve"})
    assert entry.main(["train"], environ) == EXIT_USAGE
    failure = (tmp_path / "ml2" / "output" / "failure").read_text()
    assert failure.startswith("invalid hyperparameters: unknown mode 'serve'; use train, backtest")


def test_shards_need_the_sagemaker_backend(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    flux = load_settings(home=tmp_path)

    done = run_cli(flux, ["backtest", "--shards", "2"])
    assert done.exit_code == EXIT_USAGE and "--shards needs --backend sagemaker" in done.stderr
    done = run_cli(
        flux, ["predict", "--backend", "sagemaker", "--from", "2025-08-01", "--to", "2025-08-02"]
    )
    assert done.exit_code == EXIT_USAGE
    assert "a backfill (--from/--to) runs with --backend local only" in done.stderr
