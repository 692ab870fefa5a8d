"""Shared fixtures: database lanes (SQLite, PostgreSQL, TimescaleDB), settings, sample data.

Each database test runs on every lane. PostgreSQL tests create and drop their own database; they
skip only when no PostgreSQL server can be found, unless ``FLUX_TEST_REQUIRE_LANES=1`` (set by
``.ci/run``) makes a missing lane an error.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from pipelines.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "FLUX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_LANES = os.environ.get("FLUX_TEST_REQUIRE_LANES") == "1"
LANES = ("sqlite", "postgres", "timescale")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FLUX_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("FLUX_") and not name.startswith("FLUX_TEST_"):
            monkeypatch.delenv(name)


def _lane_unavailable(reason: str) -> None:
    if REQUIRE_LANES:
        pytest.fail(f"{reason} (FLUX_TEST_REQUIRE_LANES=1: this lane must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    """An engine on the PostgreSQL server's maintenance database."""
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        _lane_unavailable(f"no PostgreSQL server at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"flux_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def timescale_server() -> Iterator[str]:
    """The PGlite TimescaleDB server (started once per session); yields Flux's URL for it.

    The server takes one connection at a time and has no COPY: ``flux_pool=null`` makes Flux
    hold no idle connections (Flux detects the missing COPY itself).
    """
    import contextlib

    from tests._timescale import TimescaleUnavailableError, timescale_server

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(timescale_server())
        except TimescaleUnavailableError as exc:
            _lane_unavailable(f"TimescaleDB lane unavailable: {exc}")
            raise
        yield f"{server.url}?flux_pool=null&sslmode=disable&connect_timeout=30"


@pytest.fixture
def timescale_url(timescale_server: str) -> str:
    """The TimescaleDB database, emptied and with the extension installed, for one test."""
    url = sa.make_url(timescale_server).difference_update_query(["flux_pool"])
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for table in list(tables):
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()
    return timescale_server


@pytest.fixture(params=LANES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each lane: sqlite, postgres, timescale."""
    lane = request.param
    if lane == "sqlite":
        return f"sqlite:///{(tmp_path / 'flux.db').as_posix()}"
    if lane == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(request.getfixturevalue("timescale_url"))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings on a fresh database with a temporary home folder (on the PGlite lane, lock
    files: that server shares one session between all connections, so it cannot hold advisory
    locks for one of them)."""
    extra = {"locks": "file"} if "flux_pool=null" in db_url else {}
    return load_settings(home=tmp_path / "home", database_url=db_url, **extra)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings on the embedded default (a SQLite file in a temporary home)."""
    return load_settings(home=tmp_path / "home")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server (S3 and SageMaker) on a free local port, shared by the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def load_generator() -> ModuleType:
    """The sample-data generator (``sample_data/generate.py``) as a module."""
    path = ROOT / "sample_data" / "generate.py"
    spec = importlib.util.spec_from_file_location("flux_sample_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


AWS_ACCESS_KEY = "AKIAFLUXTESTKEY12345"
AWS_SECRET_KEY = "flux-test-secret-must-never-leak"
AWS_REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials only: nothing of the developer's AWS setup leaks in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
