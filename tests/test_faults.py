"""Fault injection at the level users see: the ``flux`` command under a database that is down,
flaky or lost mid-import, an S3 store that times out, a full disk and a corrupted artefact.

Every fault is injected below Flux (the engine's connect, the PostgreSQL server, botocore's HTTP
session, the local store's file write, the stored bytes); the assertions read only what a user
sees: the exit code, the one error line, and the database and store afterwards.
``test_artifacts.py`` covers the same faults one level down, on the store itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
import sqlalchemy as sa
import tenacity
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.httpsession import URLLib3Session

from pipelines import fitting
from pipelines.io import artifact_store, artifacts, db, imports, schema
from pipelines.io.artifact_store import LocalStore, RetryPolicy
from pipelines.io.db import Database
from pipelines.settings import Settings, load_settings
from tests.conftest import PG_ADMIN_URL, free_port, load_generator
from tests.helpers import CliResult, checksums, row_counts, run_cli

START = dt.date(2025, 4, 1)
TRAIN = ["train", "--horizon", "7"]
PASSWORD = "Tr0ub4dor-never-printed"


# --- shared data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two restaurants, ten weeks: r01 exports Toast JSON, r05 two Revel CSVs."""
    out = tmp_path_factory.mktemp("faults_sample")
    load_generator().generate(
        out, start=START, days=70, seed=8, restaurants=["r01", "r05"], scale=0.3, readme=False
    )
    return out


class Trained(NamedTuple):
    home: Path
    artifact_id: str
    fit: fitting.Trained


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, sample: Path) -> Trained:
    """One real ``flux import`` and ``flux train`` (SQLite, local store), shared by the module.

    The fit is recorded so fault tests can replay it: their faults are in storage, not fitting.
    """
    home = tmp_path_factory.mktemp("faults_trained") / "home"
    settings = load_settings(home=home)
    fits: list[fitting.Trained] = []
    real_fit = fitting.fit_files

    def recording(*args: Any, **kwargs: Any) -> fitting.Trained:
        fits.append(real_fit(*args, **kwargs))
        return fits[-1]

    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("FLUX_")]:
            mp.delenv(name)
        mp.setattr(fitting, "fit_files", recording)
        assert run_cli(settings, ["import", str(sample)]).exit_code == 0
        result = run_cli(settings, TRAIN)
    assert result.exit_code == 0, result.stderr
    artifact_id = LocalStore(home / "artefacts").get_alias("candidate")
    assert artifact_id is not None and len(fits) == 1
    return Trained(home, artifact_id, fits[0])


@pytest.fixture
def home(trained: Trained, tmp_path: Path) -> Path:
    """A private copy of the trained home (database and local store) for one test."""
    return Path(shutil.copytree(trained.home, tmp_path / "home"))


@pytest.fixture
def replay_fit(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> None:
    """``flux train`` reuses the module's fit (storage is what these tests break)."""
    monkeypatch.setattr(fitting, "fit_files", lambda *a, **k: trained.fit)


@dataclasses.dataclass(frozen=True)
class FastRetry(RetryPolicy):
    """The default S3 policy (5 attempts) without its waits."""

    wait_initial: float = 0.001
    wait_max: float = 0.002
    timeout: float = 5.0


@pytest.fixture
def aws_env(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest's test credentials, with this file's own keys and fast S3 retries."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLUXFAULTTEST000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fault-secret")
    monkeypatch.setattr(artifacts, "RetryPolicy", FastRetry)


def error_line(result: CliResult) -> str:
    """The command's one error line (and no traceback)."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def train_statuses(settings: Settings) -> list[str]:
    """``train_runs.status``, oldest first."""
    database = Database(settings)
    with database.connect() as conn:
        t = schema.train_runs
        statuses = conn.execute(sa.select(t.c.status).order_by(t.c.created_at)).scalars().all()
    database.dispose()
    return list(statuses)


def forecast_rows(settings: Settings) -> tuple[int, int]:
    database = Database(settings)
    with database.connect() as conn:
        counts = tuple(
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (schema.forecast_runs, schema.forecasts)
        )
    database.dispose()
    return counts[0], counts[1]


# --- 1. the database is down ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["import", "train"])
def test_database_down_at_start(
    command: str, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://flux:{PASSWORD}@127.0.0.1:{port}/flux"
    settings = load_settings(home=tmp_path / "home", database_url=url)
    monkeypatch.setenv("FLUX_DB_CONNECT_RETRIES", "1")
    args = ["import", str(sample)] if command == "import" else TRAIN
    result = run_cli(settings, ["-vv", *args])  # debug logging must not leak it either
    assert result.exit_code == 1
    line = error_line(result)
    assert "cannot connect to the database postgresql+psycopg://" in line
    assert f"@127.0.0.1:{port}/flux after 2 attempt(s)" in line
    assert "connection refused" in line.lower()
    assert PASSWORD not in result.stdout + result.stderr


# --- 2. transient connection errors --------------------------------------------------------------


@pytest.mark.parametrize(("retries", "ok"), [(3, True), (1, False)], ids=["retried", "exhausted"])
def test_transient_connect_errors_are_retried_with_backoff(
    retries: int, ok: bool, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two refused connections, then the server is back: with 3 retries the import succeeds
    after waiting 0.5 s then 1 s; with 1 retry it gives up after 2 attempts."""
    settings = load_settings(home=tmp_path / "home")
    monkeypatch.setenv("FLUX_DB_CONNECT_RETRIES", str(retries))
    failures: list[int] = []
    real_connect = sa.engine.Engine.connect

    def flaky(self: sa.engine.Engine) -> sa.engine.Connection:
        if len(failures) < 2:
            failures.append(1)
            raise sa.exc.OperationalError(
                "connect", {}, Exception("server is starting up (injected)")
            )
        return real_connect(self)

    waits: list[float] = []

    def recording_wait(**kwargs: Any) -> Callable[[tenacity.RetryCallState], float]:
        real = tenacity.wait_exponential(**kwargs)

        def wait(state: tenacity.RetryCallState) -> float:
            waits.append(real(state))
            return 0.0

        return wait

    monkeypatch.setattr(sa.engine.Engine, "connect", flaky)
    monkeypatch.setattr(db, "wait_exponential", recording_wait)
    result = run_cli(settings, ["import", str(sample)])
    assert len(failures) == 2
    if ok:
        assert result.exit_code == 0, result.stderr
        assert waits == [0.5, 1.0]  # exponential backoff between the attempts
        assert row_counts(settings)["order_lines"] > 0
    else:
        assert result.exit_code == 1
        line = error_line(result)
        assert "after 2 attempt(s)" in line and "server is starting up" in line


# --- 3. the connection is lost mid-import (PostgreSQL) -------------------------------------------


@pytest.fixture
def clean_pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A second new PostgreSQL database, for the clean import to compare with."""
    name = f"flux_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _batches(settings: Settings) -> list[tuple[str, str]]:
    database = Database(settings)
    with database.connect() as conn:
        t = schema.import_batches
        rows = conn.execute(sa.select(t.c.file_sha256, t.c.status)).all()
    database.dispose()
    return sorted((r[0], r[1]) for r in rows)


@pytest.mark.postgres
def test_connection_lost_mid_import_writes_nothing_and_rerun_completes(
    pg_url: str,
    clean_pg_url: str,
    pg_admin: sa.Engine,
    sample: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(home=tmp_path / "home", database_url=pg_url)
    base = [sample / "restaurants.csv", sample / "events.csv", *sample.glob("toast/*")]
    assert run_cli(settings, ["import", *map(str, base)]).exit_code == 0
    before, batches_before = checksums(settings), _batches(settings)
    assert row_counts(settings)["order_lines"] > 0

    real_load = imports.load_parsed
    calls: list[int] = []

    def lose_connection_on_second_file(
        conn: sa.Connection, caps: Any, parsed: Any, keys: Any = None
    ) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the first file's rows are written, inside the transaction
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            with pg_admin.connect() as admin:
                killed = admin.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                assert killed.scalar_one() is True
        return real_load(conn, caps, parsed, keys)

    monkeypatch.setattr(imports, "load_parsed", lose_connection_on_second_file)
    failed = run_cli(settings, ["import", str(sample)])
    assert len(calls) == 2, "the fault must hit the second of the Revel files"
    assert failed.exit_code == 1
    line = error_line(failed)
    url = sa.make_url(pg_url)
    assert "lost the connection to the database postgresql+psycopg://" in line
    assert f"@{url.host}:{url.port}/{url.database}: " in line
    assert "terminating connection" in line
    assert checksums(settings) == before, "the failed import wrote something"
    assert _batches(settings) == batches_before

    monkeypatch.undo()
    rerun = run_cli(settings, ["import", str(sample)])
    assert rerun.exit_code == 0, rerun.stderr
    clean = load_settings(home=tmp_path / "clean", database_url=clean_pg_url)
    assert run_cli(clean, ["import", str(sample)]).exit_code == 0
    assert checksums(settings) == checksums(clean)
    assert row_counts(settings) == row_counts(clean)
    assert _batches(settings) == _batches(clean), "a file recorded twice or not at all"
    assert len({sha for sha, _ in _batches(settings)}) == len(_batches(settings))


# --- 4. S3 timeouts ------------------------------------------------------------------------------


class S3Timeouts:
    """Makes botocore's HTTP session time out on PUTs of artefact files.

    ``before_send``: a connect timeout (the request never reached S3). Otherwise a read timeout
    after S3 stored the object (the answer was lost): the nastier case for a retry.
    """

    def __init__(self, fails: Callable[[str, int], bool], *, before_send: bool) -> None:
        self.fails = fails
        self.before_send = before_send
        self.attempts: dict[str, int] = {}
        self.injected = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_send = URLLib3Session.send

        def send(session: URLLib3Session, request: Any) -> Any:
            url = str(request.url)
            if request.method != "PUT" or "/artefacts/" not in url:
                return real_send(session, request)
            key = url.split("/artefacts/", 1)[1].split("?", 1)[0]
            self.attempts[key] = self.attempts.get(key, 0) + 1
            if not self.fails(key, self.attempts[key]):
                return real_send(session, request)
            self.injected += 1
            if self.before_send:
                raise ConnectTimeoutError(endpoint_url=url, error="timed out (injected)")
            real_send(session, request)
            raise ReadTimeoutError(endpoint_url=url, error="timed out (injected)")

        monkeypatch.setattr(URLLib3Session, "send", send)


def _s3_settings(home: Path, moto_endpoint: str) -> tuple[Settings, str, Any]:
    bucket = f"flux-faults-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket=bucket)
    settings = load_settings(
        home=home, artifacts_uri=f"s3://{bucket}/team", s3_endpoint_url=moto_endpoint
    )
    return settings, bucket, client


def _keys(client: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


@pytest.mark.parametrize("before_send", [True, False], ids=["connect-timeout", "read-timeout"])
def test_s3_timeouts_are_retried(
    before_send: bool,
    home: Path,
    moto_endpoint: str,
    aws_env: None,
    replay_fit: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every artefact file (the committing manifest too) times out twice, then goes through."""
    settings, bucket, client = _s3_settings(home, moto_endpoint)
    faults = S3Timeouts(lambda key, attempt: attempt <= 2, before_send=before_send)
    faults.install(monkeypatch)
    result = run_cli(settings, [*TRAIN, "--json"])
    assert result.exit_code == 0, result.stderr
    assert any(k.endswith("/manifest.json") for k in faults.attempts)
    assert faults.injected == 2 * len(faults.attempts)
    monkeypatch.undo()
    artifact_id = result.stdout.split('"artifact_id": "', 1)[1].split('"', 1)[0]
    keys = _keys(client, bucket)
    assert f"team/artefacts/{artifact_id}/manifest.json" in keys
    assert "team/aliases/candidate.json" in keys
    assert train_statuses(settings) == ["ok", "ok"]


def test_s3_that_keeps_timing_out_fails_cleanly(
    home: Path,
    moto_endpoint: str,
    aws_env: None,
    replay_fit: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two files upload, then every PUT times out after S3 stored it: train gives up, and
    what reached the bucket is removed."""
    settings, bucket, client = _s3_settings(home, moto_endpoint)
    order: list[str] = []

    def fails(key: str, attempt: int) -> bool:
        if key not in order:
            order.append(key)
        return order.index(key) >= 2

    faults = S3Timeouts(fails, before_send=False)
    faults.install(monkeypatch)
    result = run_cli(settings, TRAIN)
    assert result.exit_code == 1
    line = error_line(result)
    assert f"s3://{bucket}/team: cannot write artefacts/" in line
    assert "gave up after 5 attempt(s)" in line and "Read timeout" in line
    assert "fault-secret" not in result.stdout + result.stderr
    assert faults.injected == 5 and len(order) == 3
    monkeypatch.undo()
    assert _keys(client, bucket) == [], "a partial artefact or an alias was left in the bucket"
    assert train_statuses(settings) == ["ok", "failed"]


# --- 5. disk full --------------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["member", "manifest"])
def test_disk_full_while_writing_an_artefact(
    at: str, home: Path, replay_fit: None, monkeypatch: pytest.MonkeyPatch, trained: Trained
) -> None:
    settings = load_settings(home=home)
    store_root = home / "artefacts"
    real_write = artifact_store._write_new
    written: list[str] = []

    def fills_the_disk(path: Path, source: bytes | Path) -> str:
        written.append(path.name)
        full = path.name == "manifest.json" if at == "manifest" else len(written) == 3
        if not full:
            return real_write(path, source)
        data = source if isinstance(source, bytes) else source.read_bytes()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as out:  # half the file fits, then the disk is full
            out.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(artifact_store, "_write_new", fills_the_disk)
    result = run_cli(settings, TRAIN)
    assert result.exit_code == 1
    line = error_line(result)
    assert "no space left" in line.lower() and store_root.as_posix() in line
    assert written[-1] == "manifest.json" if at == "manifest" else len(written) == 3
    monkeypatch.undo()
    store = LocalStore(store_root)
    assert [m.artifact_id for m in store.list_artifacts()] == [trained.artifact_id]
    assert store.get_alias("candidate") == trained.artifact_id
    assert sorted(p.name for p in (store_root / "artefacts").iterdir()) == [trained.artifact_id]
    assert list((store_root / ".staging").iterdir()) == [], "the half-written files were left"
    assert train_statuses(settings) == ["ok", "failed"]


# --- 6. a corrupted artefact ---------------------------------------------------------------------


def test_corrupted_artefact_is_refused_by_predict(home: Path, trained: Trained) -> None:
    settings = load_settings(home=home)
    rel = "shards/local/prophet/r01.json"
    path = home / "artefacts" / "artefacts" / trained.artifact_id / rel
    data = bytearray(path.read_bytes())
    at = next(i for i in range(len(data) // 2, len(data)) if chr(data[i]).isdigit())
    data[at] = ord("7") if data[at] != ord("7") else ord("3")  # still valid JSON, other numbers
    path.write_bytes(bytes(data))
    result = run_cli(settings, ["predict", "--artifact", "candidate"])
    assert result.exit_code == 1
    line = error_line(result)
    assert f"artefact {trained.artifact_id}: file {rel} is corrupt" in line
    assert "SHA-256" in line and "the manifest says" in line
    assert forecast_rows(settings) == (0, 0)
