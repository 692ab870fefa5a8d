"""Logs: structured JSON when not on a terminal, quiet on one; no secret ever reaches a log line
or an error message."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest
import structlog

from flux_cli import logs
from pipelines.redaction import register_secret, scrub
from pipelines.settings import load_settings
from tests.conftest import free_port
from tests.helpers import run_cli

PASSWORD = "Pa55-w0rd-zebra"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFLUXSECRET"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    logs.configure(1, "json")
    yield buf
    logs.configure(0)


def test_scrub_hides_urls_pairs_and_known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    text = (
        f"postgresql+psycopg://flux:{PASSWORD}@db:5432/x failed; password={PASSWORD}; "
        f"key {AWS_SECRET}; https://user:tok3n@example.com/a"
    )
    out = scrub(text)
    assert PASSWORD not in out and AWS_SECRET not in out and "tok3n" not in out
    assert "postgresql+psycopg://***@db:5432/x" in out


def test_no_secret_reaches_a_log_line(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    register_secret(f"postgresql://flux:{PASSWORD}@db/x")
    log = structlog.get_logger("test")
    log.info("connecting", url=f"postgresql://flux:{PASSWORD}@db/x", extra=[AWS_SECRET])
    logging.getLogger("stdlib").warning("password is %s", PASSWORD)
    try:
        raise RuntimeError(f"boom with {PASSWORD} and {AWS_SECRET}")
    except RuntimeError:
        log.exception("failed")
    text = captured.getvalue()
    assert PASSWORD not in text and AWS_SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [x["event"] for x in lines][:2] == ["connecting", "password is ***"]
    assert "RuntimeError" in lines[-1]["exception"]


def test_json_when_not_a_terminal_quiet_on_one(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    logs.configure(0)  # not a terminal: JSON at info
    structlog.get_logger("t").info("hello", step="import", duration_s=0.5)
    assert json.loads(buf.getvalue())["step"] == "import"
    monkeypatch.setattr(buf, "isatty", lambda: True, raising=False)
    logs.configure(0)
    assert logging.getLogger().level == logging.WARNING  # quiet by default on a terminal
    logs.configure(1)
    assert logging.getLogger().level == logging.INFO  # -v
    logs.configure(2)
    assert logging.getLogger().level == logging.DEBUG  # -vv
    logs.configure(0)


def test_cli_never_prints_a_database_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("FLUX_DB_CONNECT_RETRIES", "0")
    url = f"postgresql+psycopg://flux:{PASSWORD}@127.0.0.1:{free_port()}/nothing"
    settings = load_settings(home=tmp_path / "home", database_url=url)
    for args in (["-vv", "import", str(tmp_path)], ["-vv", "db", "status"], ["-vv", "doctor"]):
        result = run_cli(settings, args)
        assert result.exit_code != 0
        assert PASSWORD not in result.stdout + result.stderr, args
        assert AWS_SECRET not in result.stdout + result.stderr, args
        assert "***" in result.stdout + result.stderr


def test_cli_never_prints_aws_keys_from_a_failing_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLUXLOGTEST00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = load_settings(
        home=tmp_path / "home",
        artifacts_uri="s3://no-such-bucket-flux/team",
        s3_endpoint_url=moto_endpoint.replace("http://", f"http://user:{PASSWORD}@"),
    )
    result = run_cli(settings, ["-vv", "artefacts", "list"])
    assert result.exit_code == 1
    out = result.stdout + result.stderr
    assert "no-such-bucket-flux" in out
    assert AWS_SECRET not in out and PASSWORD not in out


def test_progress_eta_runs_across_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Import names each file in its label: a new label must not restart the ETA's clock. Four
    files: one done after 10 s leaves 3 at 10 s each, 30 s; two done after 25 s leave 2 at
    12.5 s each, 25 s (worked out by hand)."""
    import structlog.testing

    from flux_cli import progress as fp

    clock = iter([0.0, 10.0, 25.0])
    monkeypatch.setattr(fp.time, "monotonic", lambda: next(clock))
    milestones = fp._Milestones("import")  # t = 0
    with structlog.testing.capture_logs() as logs:
        milestones.update("importing b.csv", 1, 4)  # t = 10
        milestones.update("importing c.csv", 2, 4)  # t = 25
    assert [e["eta_s"] for e in logs] == [30.0, 25.0]
