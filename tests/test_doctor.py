"""``flux doctor``: every check passes on a healthy install, fails with a fix when it should, never
leaks a password, and exits 0 (ok or warnings), 1 (a check failed) or 2 (bad configuration)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa

from pipelines import doctor
from pipelines.io.db import Database
from pipelines.settings import Settings, load_settings
from tests.conftest import free_port
from tests.helpers import CliResult, run_cli

ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/flux-train:1.0"
ROLE_ARN = "arn:aws:iam::123456789012:role/flux-sagemaker"
S3_PREFIX = "s3://flux-staging/jobs"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ./flux.toml and no AWS profile, region or credentials of the developer's machine."""
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLUXDOCTORTEST00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "doctor-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _doctor(settings: Settings, *root_opts: str) -> tuple[CliResult, dict[str, dict[str, Any]]]:
    """``flux [ROOT_OPTS] doctor --json``: the result and the checks by name."""
    result = run_cli(settings, [*root_opts, "doctor", "--json"])
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "checks"}
    assert data["ok"] is (result.exit_code == 0)
    checks = {c["name"]: c for c in data["checks"]}
    assert list(checks) == list(doctor.CHECKS)
    return result, checks


def _statuses(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: c["status"] for name, c in checks.items()}


def _set_revision(settings: Settings, revision: str) -> None:
    """Migrates a fresh database to ``revision`` (not necessarily the newest)."""
    from alembic import command

    db = Database(settings)
    with db.begin() as conn:
        command.upgrade(db._alembic_config(conn), revision)
    db.dispose()


def _previous_revision(settings: Settings) -> str:
    from alembic.script import ScriptDirectory

    from pipelines.io.db import MIGRATIONS_DIR

    head = Database(settings).head_revision()
    down = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(head).down_revision
    assert isinstance(down, str)
    return down


# --- healthy --------------------------------------------------------------------------------------


def test_healthy_embedded_default_is_all_ok(sqlite_settings: Settings) -> None:
    assert run_cli(sqlite_settings, ["db", "upgrade"]).exit_code == 0
    result, checks = _doctor(sqlite_settings)
    assert result.exit_code == 0, result.stdout
    assert set(_statuses(checks).values()) == {"ok"}, checks
    assert all(c["fix"] is None for c in checks.values())
    assert "SQLite" in checks["database"]["detail"]
    assert "not configured" in checks["sagemaker"]["detail"]
    table = run_cli(sqlite_settings, ["doctor"])
    assert table.exit_code == 0
    assert "all checks passed" in table.stdout
    for name in doctor.CHECKS:
        assert name in table.stdout


def test_fresh_home_warns_and_creates_nothing(sqlite_settings: Settings) -> None:
    result, checks = _doctor(sqlite_settings)
    assert result.exit_code == 0  # warnings do not fail
    assert _statuses(checks)["migrations"] == "warn"
    assert "flux db upgrade" in checks["migrations"]["fix"]
    assert "does not exist yet" in checks["database"]["detail"]
    assert not sqlite_settings.home.exists()  # no database file, no artefact folder


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "toml",
    ['database_url = "sqlite:///x.db"\n[broken\n', 'timescale = "sometimes"\n', None],
    ids=["bad-toml", "bad-value", "missing-file"],
)
def test_bad_config_exits_2_naming_the_file(
    sqlite_settings: Settings, tmp_path: Path, toml: str | None
) -> None:
    path = tmp_path / "conf" / "flux.toml"
    if toml is not None:
        path.parent.mkdir()
        path.write_text(toml, encoding="utf-8")
    result, checks = _doctor(sqlite_settings, "--config", str(path))
    assert result.exit_code == 2
    assert checks["configuration"]["status"] == "fail"
    assert str(path) in checks["configuration"]["detail"]
    assert checks["configuration"]["fix"]
    assert {checks[n]["status"] for n in doctor.CHECKS[1:]} == {"skipped"}
    assert run_cli(sqlite_settings, ["--config", str(path), "doctor"]).exit_code == 2


def test_config_file_is_reported(sqlite_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "flux.toml"
    path.write_text('timescale = "off"\n', encoding="utf-8")
    result, checks = _doctor(sqlite_settings, "--config", str(path))
    assert result.exit_code == 0
    assert f"config file {path}" in checks["configuration"]["detail"]
    assert str(sqlite_settings.home / "flux.db") in checks["configuration"]["detail"]


# --- database and migrations ----------------------------------------------------------------------


def test_unreachable_postgres_fails_without_leaking_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://flux:Sup3rSecret@127.0.0.1:{free_port()}/x"
    settings = load_settings(home=tmp_path / "home", database_url=url)
    result, checks = _doctor(settings)
    assert result.exit_code == 1
    assert checks["database"]["status"] == "fail"
    assert "FLUX_DATABASE_URL" in checks["database"]["fix"]
    assert "flux:***@127.0.0.1" in checks["database"]["detail"]
    assert checks["migrations"]["status"] == checks["timescaledb"]["status"] == "skipped"
    table = run_cli(settings, ["doctor"])
    assert table.exit_code == 1
    assert "failed: database" in table.stdout
    for out in (result.stdout, result.stderr, table.stdout, table.stderr):
        assert "Sup3rSecret" not in out


@pytest.mark.parametrize("state", ["absent", "empty", "previous"])
@pytest.mark.parametrize("auto_migrate", [False, True])
def test_schema_behind(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch, state: str, auto_migrate: bool
) -> None:
    if state == "empty":
        db = Database(sqlite_settings)
        with db.connect():
            pass  # creates the file, no schema
        db.dispose()
    elif state == "previous":
        _set_revision(sqlite_settings, _previous_revision(sqlite_settings))
    monkeypatch.setenv("FLUX_AUTO_MIGRATE", str(auto_migrate).lower())
    result, checks = _doctor(sqlite_settings)
    migrations = checks["migrations"]
    assert "flux db upgrade" in migrations["fix"]
    if auto_migrate:
        assert (result.exit_code, migrations["status"]) == (0, "warn")
    else:
        assert (result.exit_code, migrations["status"]) == (1, "fail")
        assert [n for n, s in _statuses(checks).items() if s == "fail"] == ["migrations"]


def test_schema_newer_than_flux(sqlite_settings: Settings) -> None:
    db = Database(sqlite_settings)
    with db.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('9999_future')"))
    db.dispose()
    result, checks = _doctor(sqlite_settings)
    assert result.exit_code == 1
    assert checks["migrations"]["status"] == "fail"
    assert "9999_future" in checks["migrations"]["detail"]
    assert "upgrade Flux" in checks["migrations"]["fix"]


@pytest.mark.postgres
def test_real_postgres(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(home=tmp_path / "home", database_url=pg_url)
    result, checks = _doctor(settings)
    assert result.exit_code == 0, checks
    assert checks["database"]["status"] == "ok"
    assert "PostgreSQL" in checks["database"]["detail"]
    assert checks["migrations"]["status"] == "warn"  # empty, auto-migrated on first use
    assert checks["timescaledb"] == {
        "name": "timescaledb",
        "status": "ok",
        "detail": "not installed; plain PostgreSQL rollups",
        "fix": None,
    }

    assert run_cli(settings, ["db", "upgrade"]).exit_code == 0
    monkeypatch.setenv("FLUX_TIMESCALE", "on")
    result, checks = _doctor(settings)
    assert result.exit_code == 1
    assert checks["migrations"]["status"] == "ok"
    assert checks["timescaledb"]["status"] == "fail"
    assert "FLUX_TIMESCALE=auto" in checks["timescaledb"]["fix"]


# --- artefact store -------------------------------------------------------------------------------


def test_missing_s3_bucket_fails_the_store_check(
    tmp_path: Path, moto_endpoint: str, aws_env: None
) -> None:
    settings = load_settings(
        home=tmp_path / "home",
        artifacts_uri="s3://flux-doctor-no-such-bucket/p",
        s3_endpoint_url=moto_endpoint,
    )
    result, checks = _doctor(settings)
    assert result.exit_code == 1
    store = checks["artefacts"]
    assert store["status"] == "fail"
    assert "does not exist" in store["detail"]
    assert "bucket" in store["fix"] and "FLUX_S3_ENDPOINT_URL" in store["fix"]
    assert "doctor-secret" not in result.stdout + result.stderr


def test_existing_s3_bucket_passes_and_stays_untouched(
    tmp_path: Path, moto_endpoint: str, aws_env: None
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="flux-doctor-ok")
    settings = load_settings(
        home=tmp_path / "home", artifacts_uri="s3://flux-doctor-ok/p", s3_endpoint_url=moto_endpoint
    )
    result, checks = _doctor(settings)
    assert checks["artefacts"]["status"] == "ok", checks["artefacts"]
    assert "0 artefact(s)" in checks["artefacts"]["detail"]
    assert result.exit_code == 0
    assert s3.list_objects_v2(Bucket="flux-doctor-ok").get("KeyCount") == 0


# --- SageMaker ------------------------------------------------------------------------------------


def test_half_configured_sagemaker_fails_naming_the_missing_variables(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUX_SAGEMAKER_IMAGE_URI", ECR_IMAGE)
    monkeypatch.setenv("FLUX_SAGEMAKER_REGION", "eu-west-1")
    result, checks = _doctor(sqlite_settings)
    assert result.exit_code == 1
    assert [n for n, s in _statuses(checks).items() if s == "fail"] == ["sagemaker"]
    for name in ("FLUX_SAGEMAKER_ROLE_ARN", "FLUX_SAGEMAKER_S3_PREFIX"):
        assert name in checks["sagemaker"]["detail"]
        assert name in checks["sagemaker"]["fix"]
    assert "FLUX_SAGEMAKER_IMAGE_URI" not in checks["sagemaker"]["fix"]


FULL = {
    "sagemaker_image_uri": ECR_IMAGE,
    "sagemaker_role_arn": ROLE_ARN,
    "sagemaker_s3_prefix": S3_PREFIX,
    "sagemaker_region": "eu-west-1",
}


@pytest.mark.parametrize(
    ("changes", "environ", "status", "named"),
    [
        (dict.fromkeys(FULL), {}, "ok", None),
        ({}, {}, "ok", None),
        ({"sagemaker_region": None}, {"AWS_DEFAULT_REGION": "eu-west-1"}, "ok", None),
        ({"sagemaker_region": None}, {}, "fail", "FLUX_SAGEMAKER_REGION"),
        ({"sagemaker_region": "Europe"}, {}, "fail", "FLUX_SAGEMAKER_REGION"),
        ({"sagemaker_role_arn": "arn:aws:iam::1234:role/x"}, {}, "fail", "FLUX_SAGEMAKER_ROLE_ARN"),
        ({"sagemaker_role_arn": "flux-sagemaker"}, {}, "fail", "FLUX_SAGEMAKER_ROLE_ARN"),
        ({"sagemaker_s3_prefix": "flux-staging/jobs"}, {}, "fail", "FLUX_SAGEMAKER_S3_PREFIX"),
        ({"sagemaker_s3_prefix": "s3://flux/jobs?x=1"}, {}, "fail", "FLUX_SAGEMAKER_S3_PREFIX"),
        ({"sagemaker_s3_prefix": "s3://flux/../jobs"}, {}, "fail", "FLUX_SAGEMAKER_S3_PREFIX"),
        ({"sagemaker_image_uri": "flux-train:latest"}, {}, "fail", "FLUX_SAGEMAKER_IMAGE_URI"),
        ({"sagemaker_role_arn": None}, {}, "fail", "FLUX_SAGEMAKER_ROLE_ARN"),
        ({"sagemaker_region": "us-east-1"}, {}, "warn", "FLUX_SAGEMAKER_REGION"),
    ],
    ids=[
        "unset",
        "complete",
        "region-from-aws-env",
        "no-region",
        "bad-region",
        "short-account",
        "role-name-only",
        "prefix-without-scheme",
        "prefix-with-query",  # what train would refuse, the doctor refuses too
        "prefix-escaping",
        "image-not-ecr",
        "no-role",
        "image-in-other-region",
    ],
)
def test_sagemaker_settings(
    tmp_path: Path,
    changes: dict[str, Any],
    environ: dict[str, str],
    status: str,
    named: str | None,
) -> None:
    settings = load_settings(home=tmp_path / "home", **{**FULL, **changes})
    check = doctor.check_sagemaker(settings, environ)
    assert check.status == status, check
    if named is None:
        assert check.fix is None
    else:
        assert check.fix is not None and named in check.fix
