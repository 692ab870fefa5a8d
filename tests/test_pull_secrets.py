"""``flux pull`` credentials: settings, a secrets file, AWS Secrets Manager (moto's server); and
``flux doctor``'s one cheap call per configured vendor (the fake POS cloud)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from flux_cli.main import app
from pipelines import doctor
from pipelines.errors import ConfigError
from pipelines.io.pos import secrets
from pipelines.settings import PosConfig, ProviderConfig, load_settings
from tests import fake_pos
from tests.fake_pos import FakePos
from tests.helpers import env_for
from tests.test_pull import make_settings

FILE_TOKEN = "from-the-secrets-file-never-leak"
AWS_SECRET = "from-secrets-manager-never-leak"


@pytest.fixture
def fake() -> Iterator[FakePos]:
    server = FakePos()
    server.start()
    yield server
    server.stop()


def test_settings_win_over_the_file_and_the_file_over_secrets_manager(
    tmp_path: Path, aws_env: None, moto_endpoint: str
) -> None:
    file = tmp_path / "pos-secrets.toml"
    file.write_text(
        f'[square]\ntoken = "{FILE_TOKEN}"\n[toast]\nclient_id = "cid"\n', encoding="utf-8"
    )
    sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    sm.create_secret(
        Name="flux/toast", SecretString=json.dumps({"client_secret": AWS_SECRET, "client_id": "x"})
    )
    pos = PosConfig(secrets_file=file, secrets_endpoint_url=moto_endpoint)
    square = secrets.resolve("square", ProviderConfig(), pos)
    assert square.token is not None and square.token.get_secret_value() == FILE_TOKEN
    explicit = secrets.resolve("square", ProviderConfig(token="set-in-env"), pos)
    assert explicit.token is not None and explicit.token.get_secret_value() == "set-in-env"
    toast = secrets.resolve("toast", ProviderConfig(secret_name="flux/toast"), pos)
    assert toast.client_id == "cid"  # the file's, before Secrets Manager's "x"
    assert toast.client_secret is not None
    assert toast.client_secret.get_secret_value() == AWS_SECRET
    assert AWS_SECRET not in repr(toast) and AWS_SECRET not in str(toast.model_dump())


def test_a_missing_secret_names_the_secret_not_a_value(
    tmp_path: Path, aws_env: None, moto_endpoint: str
) -> None:
    pos = PosConfig(secrets_endpoint_url=moto_endpoint)
    with pytest.raises(ConfigError, match=r"secret_name 'flux/nope' .*ResourceNotFoundException"):
        secrets.resolve("square", ProviderConfig(secret_name="flux/nope"), pos)
    bad = tmp_path / "bad.toml"
    bad.write_text("[square]\ntoken = 12\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="token must be a string"):
        secrets.resolve("square", ProviderConfig(), PosConfig(secrets_file=bad))
    with pytest.raises(ConfigError, match=r"pos\.secrets_file not found"):
        secrets.resolve("square", ProviderConfig(), PosConfig(secrets_file=tmp_path / "none"))


def test_a_pull_reads_its_token_from_the_secrets_file(fake: FakePos, tmp_path: Path) -> None:
    file = tmp_path / "pos-secrets.toml"
    file.write_text(f'[square]\ntoken = "{fake_pos.SQUARE_TOKEN}"\n', encoding="utf-8")
    settings = make_settings(tmp_path, "pulled", None, {})
    env = {
        **env_for(settings),
        "FLUX_POS__SQUARE__BASE_URL": fake.base_url,
        "FLUX_POS__SECRETS_FILE": str(file),
    }
    result = CliRunner().invoke(app, ["pull", "--until", "2026-01-01", "--json"], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert fake.requests[0].headers["Authorization"] == f"Bearer {fake_pos.SQUARE_TOKEN}"
    assert fake_pos.SQUARE_TOKEN not in result.stdout + result.stderr


def _doctor_pos(settings_env: dict[str, str]) -> tuple[int, dict[str, str | None], str]:
    result = CliRunner().invoke(app, ["doctor", "--json"], env=settings_env)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    return result.exit_code, checks["pos"], result.stdout + result.stderr


def test_doctor_checks_each_configured_vendor_once(fake: FakePos, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "pulled", None, {})
    env = {
        **env_for(settings),
        "FLUX_POS__SQUARE__BASE_URL": fake.base_url,
        "FLUX_POS__SQUARE__TOKEN": fake_pos.SQUARE_TOKEN,
        "FLUX_POS__CLOVER__BASE_URL": fake.base_url,
        "FLUX_POS__CLOVER__TOKEN": fake_pos.CLOVER_TOKEN,
        "FLUX_POS__TOAST__BASE_URL": fake.base_url,
        "FLUX_POS__TOAST__CLIENT_ID": fake_pos.TOAST_CLIENT_ID,
        "FLUX_POS__TOAST__CLIENT_SECRET": fake_pos.TOAST_SECRET,
    }
    code, pos, _ = _doctor_pos(env)
    assert pos["status"] == "ok", pos
    # the first restaurant of each vendor (restaurants.csv of tests/test_pull.py)
    assert pos["detail"] == (
        "square ok (L8WQ2ZJ5T1M0A); clover ok (7RZK2M4QX9WBA); "
        "toast ok (6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b)"
    )
    assert [r.path for r in fake.requests] == [
        "/v2/locations/L8WQ2ZJ5T1M0A",
        "/v3/merchants/7RZK2M4QX9WBA",
        "/authentication/v1/authentication/login",
    ]
    env["FLUX_POS__CLOVER__TOKEN"] = "wrong-token-never-leak"
    code, pos, output = _doctor_pos(env)
    assert code == 1 and pos["status"] == "fail"
    assert "clover: GET /v3/merchants/7RZK2M4QX9WBA: HTTP 401" in str(pos["detail"])
    assert "square ok" in str(pos["detail"])
    for secret in ("wrong-token-never-leak", fake_pos.SQUARE_TOKEN, fake_pos.TOAST_SECRET):
        assert secret not in output


def test_doctor_without_pos_settings_says_so(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    check = doctor.check_pos(settings, {})
    assert (check.status, check.detail) == (
        "ok",
        "not configured (flux pull has no [pos.<vendor>] settings)",
    )
