"""``flux run`` (the nightly job), backfills (``flux predict --from/--to``), structured logs and
the clean stop on SIGTERM."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines.io import artifacts, schema
from pipelines.io.db import Database
from pipelines.settings import Settings, load_settings
from tests.conftest import load_generator
from tests.helpers import env_for, run_cli

START = dt.date(2025, 4, 1)
DAYS = 120
RESTAURANTS = ["r01", "r05", "r07"]
FAST = "n_estimators = 40\norigins_span = 84\n"


def _config(home: Path, source: Path, **extra: object) -> Path:
    lines = ["[run]", f'source = "{source.as_posix()}"', "horizon = 14"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path = home / "flux.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(settings: Settings, config: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(settings, ["--config", str(config), "run", "--json", *args])
    try:
        summary = json.loads(result.stdout)
    except json.JSONDecodeError:
        summary = {}
    return result.exit_code, summary, result.stderr


def _steps(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["step"]: s for s in summary["steps"]}


def _rows(settings: Settings, table: sa.Table) -> pd.DataFrame:
    db = Database(settings)
    with db.connect() as conn:
        frame = pd.read_sql(sa.select(table), conn)
    db.dispose()
    return frame


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Night one's exports, and the next days' exports that arrive later."""
    gen = load_generator()
    first = tmp_path_factory.mktemp("night1")
    gen.generate(first, start=START, days=DAYS, seed=8, restaurants=RESTAURANTS, scale=0.4)
    later = tmp_path_factory.mktemp("night2")
    gen.generate(
        later,
        start=START + dt.timedelta(days=DAYS),
        days=7,
        seed=9,
        restaurants=RESTAURANTS,
        scale=0.4,
    )
    return first, later


@pytest.fixture(scope="module")
def night_one(
    tmp_path_factory: pytest.TempPathFactory, samples: tuple[Path, Path]
) -> tuple[Path, dict[str, Any]]:
    """A home after one full nightly run (import, train, predict, publish) on SQLite."""
    root = tmp_path_factory.mktemp("night_one")
    inbox = root / "inbox"
    shutil.copytree(samples[0], inbox)
    home = root / "home"
    settings = load_settings(home=home)
    config = _config(home, inbox)
    code, summary, err = _run(settings, config)
    assert code == 0, err
    return root, summary


@pytest.fixture
def copy(night_one: tuple[Path, dict[str, Any]], tmp_path: Path) -> tuple[Settings, Path, Path]:
    """A private copy of night one's home and inbox: (settings, config, inbox)."""
    shutil.copytree(night_one[0], tmp_path / "w")
    home = tmp_path / "w" / "home"
    settings = load_settings(home=home)
    return settings, _config(home, tmp_path / "w" / "inbox"), tmp_path / "w" / "inbox"


def test_first_night_imports_trains_predicts_and_publishes(
    night_one: tuple[Path, dict[str, Any]],
) -> None:
    _, summary = night_one
    steps = _steps(summary)
    assert [s["step"] for s in summary["steps"]] == ["import", "train", "predict", "publish"]
    assert all(s["status"] == "ok" for s in summary["steps"]), summary
    assert steps["import"]["new_files"] > 0
    assert "no artefact" in steps["train"]["detail"]
    assert summary["exit_code"] == 0 and summary["problems"] == {}
    settings = load_settings(home=night_one[0] / "home")
    published = _rows(settings, schema.published_forecasts)
    assert set(published["restaurant_id"]) == set(RESTAURANTS)
    jobs = _rows(settings, schema.job_runs)
    assert list(jobs["status"]) == ["ok"] and list(jobs["exit_code"]) == [0]


def test_rerun_changes_nothing(copy: tuple[Settings, Path, Path]) -> None:
    settings, config, _ = copy
    before_runs = _rows(settings, schema.forecast_runs)
    before_pub = _rows(settings, schema.published_forecasts).drop(columns="published_at")
    artefacts = [m.artifact_id for m in artifacts.open_artifacts(settings).list_artifacts()]
    code, summary, err = _run(settings, config)
    assert code == 0, err
    steps = _steps(summary)
    assert steps["import"]["status"] == "skipped" and steps["import"]["new_files"] == 0
    assert steps["train"]["status"] == "skipped" and "is current" in steps["train"]["detail"]
    assert [m.artifact_id for m in artifacts.open_artifacts(settings).list_artifacts()] == artefacts
    after_runs = _rows(settings, schema.forecast_runs)
    assert len(after_runs) == len(before_runs)  # same artefact and as-of: replaced, not added
    after_pub = _rows(settings, schema.published_forecasts).drop(columns="published_at")
    sort = ["restaurant_id", "ds"]
    pd.testing.assert_frame_equal(
        before_pub.sort_values(sort).reset_index(drop=True),
        after_pub.sort_values(sort).reset_index(drop=True),
    )


def test_new_files_are_imported_and_forecast_moves_on_without_retraining(
    copy: tuple[Settings, Path, Path], samples: tuple[Path, Path]
) -> None:
    settings, config, inbox = copy
    shutil.copytree(samples[1], inbox / "day2")
    code, summary, err = _run(settings, config)
    assert code == 0, err
    steps = _steps(summary)
    assert steps["import"]["status"] == "ok"
    # only the new night's files (its restaurants.csv is the same bytes, so it is skipped)
    assert 0 < steps["import"]["new_files"] < steps["import"]["files_seen"]
    assert steps["train"]["status"] == "skipped"
    runs = _rows(settings, schema.forecast_runs).sort_values("created_at")
    assert pd.Timestamp(runs["as_of"].iloc[-1]).date() == START + dt.timedelta(days=DAYS + 6)


def test_restated_history_triggers_a_retrain(copy: tuple[Settings, Path, Path]) -> None:
    settings, config, inbox = copy
    day = START + dt.timedelta(days=40)
    (inbox / "late_closure.csv").write_text(
        "restaurant_id,kind,name,start_date,end_date,lower_window,upper_window\n"
        f"r05,closure,flood,{day},{day},,\n",
        encoding="utf-8",
    )
    code, summary, err = _run(settings, config)
    assert code == 0, err
    steps = _steps(summary)
    assert steps["train"]["status"] == "ok"
    assert "changed" in steps["train"]["detail"]


def test_retraining_is_due_by_age(copy: tuple[Settings, Path, Path]) -> None:
    settings, _, inbox = copy
    config = _config(settings.home, inbox, retrain_every_days=0)
    code, summary, err = _run(settings, config)
    assert code == 0, err
    assert "day(s) old" in _steps(summary)["train"]["detail"]


def test_dry_run_plans_and_changes_nothing(tmp_path: Path, samples: tuple[Path, Path]) -> None:
    settings = load_settings(home=tmp_path / "home")
    config = _config(settings.home, samples[0])
    result = run_cli(settings, ["--config", str(config), "run", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "dry run" in result.stdout and "would import" in result.stdout
    db_file = settings.home / "flux.db"
    if db_file.exists():
        engine = sa.create_engine(f"sqlite:///{db_file}")
        assert sa.inspect(engine).get_table_names() == []
        engine.dispose()
    assert not (settings.home / "artefacts").exists()


def test_dry_run_after_a_night_says_what_is_current(copy: tuple[Settings, Path, Path]) -> None:
    settings, config, _ = copy
    before = _rows(settings, schema.job_runs)
    code, summary, err = _run(settings, config, "--dry-run")
    assert code == 0, err
    steps = _steps(summary)
    assert steps["import"]["status"] == "skipped"
    assert steps["train"]["status"] == "skipped"
    assert steps["predict"]["status"] == steps["publish"]["status"] == "planned"
    assert len(_rows(settings, schema.job_runs)) == len(before)


def test_support_run_for_one_restaurant_touches_only_it(
    copy: tuple[Settings, Path, Path],
) -> None:
    settings, config, _ = copy
    pub = _rows(settings, schema.published_forecasts)
    others_before = pub[pub["restaurant_id"] != "r05"].sort_values(["restaurant_id", "ds"])
    code, summary, err = _run(settings, config, "--restaurant", "r05", "--retrain")
    assert code == 0, err
    assert summary["restaurants"] == ["r05"]
    artefact = artifacts.open_artifacts(settings).list_artifacts()[0]
    assert artefact.restaurants == ["r05"]
    pub = _rows(settings, schema.published_forecasts)
    others_after = pub[pub["restaurant_id"] != "r05"].sort_values(["restaurant_id", "ds"])
    pd.testing.assert_frame_equal(
        others_before.reset_index(drop=True), others_after.reset_index(drop=True)
    )
    assert (pub.loc[pub["restaurant_id"] == "r05", "forecast_run_id"] != "").all()
    # the next full nightly run keeps forecasting every restaurant from the full artefact
    code, summary, err = _run(settings, config)
    assert code == 0, err
    assert _steps(summary)["train"]["status"] == "skipped"


def test_a_restaurant_that_falls_back_makes_the_run_partial(
    copy: tuple[Settings, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from models import prophet_model

    original = prophet_model._fit_one

    def broken(rid: str, *args: Any) -> Any:
        if rid == "r05":
            return rid, None, "prophet fit failed: injected"
        return original(rid, *args)

    monkeypatch.setattr(prophet_model, "_fit_one", broken)
    settings, config, _ = copy
    code, summary, _ = _run(settings, config, "--retrain")
    assert code == 3
    assert list(summary["problems"]) == ["r05"]
    assert "fallback" in summary["problems"]["r05"]
    jobs = _rows(settings, schema.job_runs).sort_values("started_at")
    assert jobs["status"].iloc[-1] == "partial" and jobs["exit_code"].iloc[-1] == 3
    # the summary on the terminal names the restaurant and why
    result = run_cli(settings, ["--config", str(config), "run"])
    assert result.exit_code == 3
    assert "r05" in result.stderr and "fallback" in result.stderr


def test_a_missing_source_folder_is_a_usage_error(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    config = _config(settings.home, tmp_path / "nowhere")
    result = run_cli(settings, ["--config", str(config), "run"])
    assert result.exit_code == 2
    assert "nowhere" in result.stderr


# --- backfills --------------------------------------------------------------------------------


def test_backfill_forecasts_each_day_and_a_failed_day_does_not_stop_the_rest(
    copy: tuple[Settings, Path, Path], tmp_path: Path
) -> None:
    settings, _, _ = copy
    first = START - dt.timedelta(days=1)  # no history yet: this day fails
    last = START + dt.timedelta(days=DAYS - 3)
    out = tmp_path / "backfill.csv"
    result = run_cli(
        settings,
        [
            "predict",
            "--artifact",
            artifacts.open_artifacts(settings).list_artifacts()[0].artifact_id,
            "--from",
            str(first),
            "--to",
            str(first + dt.timedelta(days=0)),
            "--json",
        ],
    )
    assert result.exit_code == 1  # the only day failed
    days = json.loads(result.stdout)["days"]
    assert [d["status"] for d in days] == ["failed"]
    result = run_cli(
        settings,
        [
            "predict",
            "--from",
            str(last - dt.timedelta(days=2)),
            "--to",
            str(last),
            "--output",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    days = json.loads(result.stdout)["days"]
    assert [d["as_of"] for d in days] == [str(last - dt.timedelta(days=k)) for k in (2, 1, 0)]
    assert all(d["status"] == "ok" and d["rows"] > 0 for d in days)
    assert all("after this date" in d["detail"] for d in days)  # the artefact saw later data
    written = pd.read_csv(out)
    assert written["as_of"].nunique() == 3
    runs = _rows(settings, schema.forecast_runs)
    assert {str(pd.Timestamp(a).date()) for a in runs["as_of"]} >= {d["as_of"] for d in days}
    # mixed: one failed day, then good days -> partial (exit 3), every day reported
    result = run_cli(
        settings, ["predict", "--from", str(first), "--to", str(START + dt.timedelta(days=30))]
    )
    assert result.exit_code == 3
    assert "1 failed" in result.stdout and str(first) in result.stdout


def test_backfill_needs_both_ends(copy: tuple[Settings, Path, Path]) -> None:
    settings, _, _ = copy
    result = run_cli(settings, ["predict", "--from", "2025-05-01"])
    assert result.exit_code == 2 and "--to" in result.stderr
    result = run_cli(settings, ["predict", "--from", "2025-05-03", "--to", "2025-05-01"])
    assert result.exit_code == 2 and "before" in result.stderr


# --- logs -------------------------------------------------------------------------------------


def _json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_logs_are_json_with_run_id_step_restaurant_and_duration(
    copy: tuple[Settings, Path, Path],
) -> None:
    settings, config, _ = copy
    result = run_cli(settings, ["--config", str(config), "run", "-r", "r01"])
    assert result.exit_code == 0, result.stderr
    lines = _json_lines(result.stderr)
    steps = [x for x in lines if x["event"] == "step finished"]
    assert [x["step"] for x in steps] == ["import", "train", "predict", "publish"]
    run_ids = {x["run_id"] for x in lines}
    assert len(run_ids) == 1
    for x in steps:
        assert x["restaurant"] in (["r01"], "r01")
        assert isinstance(x["duration_s"], float)
    end = [x for x in lines if x["event"] == "command finished"]
    assert end and end[0]["exit_code"] == 0 and end[0]["command"] == "run"
    assert end[0]["restaurant"] == "r01"


def test_scheduler_can_pass_its_own_run_id(copy: tuple[Settings, Path, Path]) -> None:
    from typer.testing import CliRunner

    from flux_cli.main import app

    settings, config, _ = copy
    env = {**env_for(settings), "FLUX_RUN_ID": "nightly-2026-11-30"}
    result = CliRunner().invoke(app, ["--config", str(config), "run", "--dry-run"], env=env)
    assert result.exit_code == 0
    assert {x["run_id"] for x in _json_lines(result.stderr)} == {"nightly-2026-11-30"}


# --- SIGTERM ----------------------------------------------------------------------------------


# ``flux run --retrain`` whose model fit first says so on stderr and then takes a while, so the
# signal is sure to land mid-training. SIGINT gets Python's usual handler, as in a shell (a test
# runner's worker may have started with SIGINT ignored, which its children would inherit).
_SLOW_FLUX = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from pipelines import fitting
real = fitting.fit_files
def slow(*args, **kwargs):
    print("FIT STARTED", file=sys.stderr, flush=True)
    time.sleep(60)
    return real(*args, **kwargs)
fitting.fit_files = slow
from flux_cli.main import main
sys.argv = ["flux", *sys.argv[1:]]
main()
"""


def _flux(home: Path, config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "FLUX_HOME": str(home)}
    env.pop("FLUX_DATABASE_URL", None)
    env.pop("FLUX_ARTIFACTS_URI", None)
    return subprocess.Popen(
        [sys.executable, "-c", _SLOW_FLUX, "--config", str(config), "run", "--retrain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_training_stops_cleanly(
    copy: tuple[Settings, Path, Path], signum: int
) -> None:
    settings, config, _ = copy
    store = artifacts.open_artifacts(settings)
    artefacts = [m.artifact_id for m in store.list_artifacts()]
    published = _rows(settings, schema.published_forecasts)
    proc = _flux(settings.home, config)
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # wait until the model fit has started
        if "FIT STARTED" in line:
            break
        assert time.monotonic() < deadline
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == (143 if signum == signal.SIGTERM else 130), err
    assert "stopped cleanly" in err
    assert [m.artifact_id for m in store.list_artifacts()] == artefacts  # no new artefact
    runs = _rows(settings, schema.train_runs).sort_values("created_at")
    assert runs["status"].iloc[-1] == "failed"
    jobs = _rows(settings, schema.job_runs).sort_values("started_at")
    assert jobs["status"].iloc[-1] == "interrupted"
    pd.testing.assert_frame_equal(published, _rows(settings, schema.published_forecasts))
    # the locks went with the process: the rerun goes through
    code, _, err = _run(settings, config)
    assert code == 0, err


# --- an S3 inbox ------------------------------------------------------------------------------


def test_an_s3_inbox_is_imported_once_and_remembered(
    tmp_path: Path,
    samples: tuple[Path, Path],
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLUXRUNTEST00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "run-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="flux-inbox")
    for path in sorted(p for p in samples[0].rglob("*") if p.is_file()):
        key = f"incoming/{path.relative_to(samples[0]).as_posix()}"
        s3.put_object(Bucket="flux-inbox", Key=key, Body=path.read_bytes())
    settings = load_settings(home=tmp_path / "home", s3_endpoint_url=moto_endpoint)
    lines = ["[run]", 'source = "s3://flux-inbox/incoming"', "horizon = 14", "publish = false"]
    config = tmp_path / "flux.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, summary, err = _run(settings, config, "--no-retrain")
    assert code == 0, err
    first = _steps(summary)["import"]
    assert first["status"] == "ok" and first["new_files"] == first["files_seen"] > 0
    assert set(_rows(settings, schema.demand_daily)["restaurant_id"]) == set(RESTAURANTS)
    remembered = _rows(settings, schema.source_objects)
    assert len(remembered) == first["files_seen"]

    # the next night: nothing is downloaded again; a new object is
    fetched: list[str] = []
    from pipelines.io.artifact_s3 import S3Store

    original = S3Store.fetch

    def spy(self: S3Store, key: str) -> bytes:
        fetched.append(key)
        return original(self, key)

    monkeypatch.setattr(S3Store, "fetch", spy)
    code, summary, err = _run(settings, config, "--no-retrain")
    assert code == 0, err
    assert _steps(summary)["import"]["status"] == "skipped" and fetched == []
    new = next(p for p in sorted(samples[1].rglob("*.gz")))
    s3.put_object(Bucket="flux-inbox", Key=f"incoming/night2/{new.name}", Body=new.read_bytes())
    code, summary, err = _run(settings, config, "--no-retrain")
    assert code == 0, err
    assert fetched == [f"night2/{new.name}"]
    assert _steps(summary)["import"]["new_files"] == 1


@pytest.mark.postgres
def test_nightly_run_on_postgres_twice(
    pg_url: str, tmp_path: Path, samples: tuple[Path, Path]
) -> None:
    settings = load_settings(home=tmp_path / "home", database_url=pg_url)
    config = _config(settings.home, samples[0])
    code, summary, err = _run(settings, config)
    assert code == 0, err
    assert [s["status"] for s in summary["steps"]] == ["ok", "ok", "ok", "ok"]
    code, summary, err = _run(settings, config)
    assert code == 0, err
    assert [s["status"] for s in summary["steps"]] == ["skipped", "skipped", "ok", "ok"]
    jobs = _rows(settings, schema.job_runs)
    assert sorted(jobs["status"]) == ["ok", "ok"]
    assert set(_rows(settings, schema.published_forecasts)["restaurant_id"]) == set(RESTAURANTS)


def test_the_readme_cron_line_yields_valid_jsonl(copy: tuple[Settings, Path, Path]) -> None:
    """The README's cron line, run as cron would (stdout and stderr appended to one file):
    every line of the file is a JSON object, and the run's summary is one of them."""
    settings, config, _ = copy
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("15 3 * * * "))
    command = line.removeprefix("15 3 * * * ")
    log = settings.home / "run.jsonl"
    command = (
        command.replace("cd /srv/flux", f"cd {settings.home}")
        .replace("/etc/flux/flux.toml", str(config))
        .replace("/var/log/flux/run.jsonl", str(log))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env.update(env_for(settings))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", command], env=env, timeout=600, check=False)
    assert done.returncode == 0
    lines = [json.loads(text) for text in log.read_text(encoding="utf-8").splitlines()]
    assert lines and all(isinstance(x, dict) for x in lines)
    assert any(x.get("event") == "command finished" and x["exit_code"] == 0 for x in lines)
    summaries = [x for x in lines if "steps" in x]
    assert len(summaries) == 1 and summaries[0]["exit_code"] == 0
