"""Issue 13's robustness findings 5, 6, 8, 11 and 12: passwords never printed, a corrupt SQLite
file refused, absurd requests refused with exit 2, no traceback for a broken environment, and
leftovers of killed runs cleaned up. Each case here failed on the main branch before the fix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flux_cli.main import app
from pipelines.errors import ConfigError, DataError
from pipelines.io.db import Database, redact
from pipelines.redaction import known_secrets_of, normalise_url, redact_url, scrub
from pipelines.settings import Settings, load_settings
from tests.conftest import free_port, load_generator
from tests.helpers import checksums, env_for, run_cli

START = dt.date(2025, 4, 1)

# --- finding 5: passwords ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://flux@h:5432/db?password=Qu3ryPass",
            "postgresql://flux@h:5432/db?password=***",
        ),
        ("postgresql://flux:p@ss@Word9@h/db", "postgresql://flux:***@h/db"),
        (
            "postgresql://flux:x%40y@h/db?sslmode=require&sslpassword=KeyPass1",
            "postgresql://flux:***@h/db?sslmode=require&sslpassword=***",
        ),
        ("postgresql://h/db", "postgresql://h/db"),
    ],
)
def test_redact_url_hides_every_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact(url) == shown


def test_an_unencoded_at_stays_in_the_password() -> None:
    url = "postgresql://flux:p@ss@Word9@h:5432/db"
    assert normalise_url(url) == "postgresql://flux:p%40ss%40Word9@h:5432/db"
    assert known_secrets_of([url]) == ["p@ss@Word9"]
    parsed = Database(load_settings(database_url=url))._parsed
    assert (parsed.host, parsed.password, parsed.port) == ("h", "p@ss@Word9", 5432)
    assert scrub(f"cannot reach {url} now", []) == "cannot reach postgresql://***@h:5432/db now"


@pytest.mark.parametrize(
    "url_of",
    [
        lambda port: f"postgresql://flux@127.0.0.1:{port}/x?password=Qu3ryPass",
        lambda port: f"postgresql://flux:Qu3ry@Pass@127.0.0.1:{port}/x",
    ],
    ids=["query-password", "unencoded-at"],
)
@pytest.mark.parametrize(
    "args",
    [["doctor"], ["doctor", "--json"], ["--log-format", "json", "db", "status"], ["db", "status"]],
)
def test_cli_never_prints_a_query_or_at_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url_of: object, args: list[str]
) -> None:
    monkeypatch.setenv("FLUX_DB_CONNECT_RETRIES", "0")
    url = url_of(free_port())  # type: ignore[operator]
    settings = load_settings(home=tmp_path / "home", database_url=url)
    result = run_cli(settings, args)
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert "Qu3ry" not in out and "Pass" not in out, out
    assert "***" in out
    assert "127.0.0.1" in out  # the host is the real one, not the password's tail


# --- finding 11: a non-numeric port -----------------------------------------------------------


@pytest.mark.parametrize("args", [["doctor", "--json"], ["db", "status"], ["import", "x.csv"]])
def test_a_non_numeric_port_is_a_config_error(tmp_path: Path, args: list[str]) -> None:
    settings = load_settings(home=tmp_path / "home", database_url="postgresql://u:S3cretPw@h:abc/d")
    result = run_cli(settings, args)
    out = result.stdout + result.stderr
    assert result.exit_code == 2, out
    assert "Traceback" not in out and "S3cretPw" not in out
    assert "the port must be a number" in out


# --- finding 6: a corrupt SQLite file -------------------------------------------------------

RESTAURANTS_CSV = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "r1,Corner Bistro,America/New_York,US,NY,4,csv,,USD\n"
)


def _corrupt_restaurants_page(settings: Settings) -> Path:
    """Overwrites the root page of the ``restaurants`` table with 0xFF bytes."""
    import sqlite3

    path = settings.home / "flux.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    (root,) = con.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'restaurants'"
    ).fetchone()
    con.close()
    with path.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * page_size)
    return path


def test_a_corrupt_sqlite_file_fails_doctor_and_is_refused(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    csv = tmp_path / "restaurants.csv"
    csv.write_text(RESTAURANTS_CSV, encoding="utf-8")
    assert run_cli(sqlite_settings, ["import", str(csv)]).exit_code == 0
    path = _corrupt_restaurants_page(sqlite_settings)
    before = path.read_bytes()

    doctor = run_cli(sqlite_settings, ["doctor", "--json"])
    assert doctor.exit_code == 1
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["database"]["status"] == "fail"
    assert "is corrupt (PRAGMA quick_check: " in checks["database"]["detail"]
    assert "backup" in checks["database"]["fix"]

    for args in (
        ["import", "--force", str(csv)],
        ["predict"],
        ["train"],
        ["backtest"],
        ["publish"],
    ):
        result = run_cli(sqlite_settings, args)
        out = result.stdout + result.stderr
        assert result.exit_code == 1, (args, out)
        assert f"the SQLite database {path} is corrupt" in out, (args, out)
        assert "Traceback" not in out
    assert path.read_bytes() == before  # nothing written


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "home" / "flux.db"
    path.parent.mkdir()
    path.write_bytes(b"this is a text file, not a SQLite database\n" * 200)
    settings = load_settings(home=tmp_path / "home")
    csv = tmp_path / "restaurants.csv"
    csv.write_text(RESTAURANTS_CSV, encoding="utf-8")
    result = run_cli(settings, ["import", str(csv)])
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert "is corrupt (file is not a database)" in out
    assert "Traceback" not in out


# --- a small trained home, shared by the module ------------------------------------------------


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One restaurant, ten weeks of Toast data, imported and trained (horizon 7) on SQLite."""
    sample = tmp_path_factory.mktemp("robust_sample")
    load_generator().generate(
        sample, start=START, days=70, seed=3, restaurants=["r01"], scale=0.3, readme=False
    )
    home = tmp_path_factory.mktemp("robust_trained") / "home"
    settings = load_settings(home=home)
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("FLUX_")]:
            mp.delenv(name)
        assert run_cli(settings, ["import", str(sample)]).exit_code == 0
        result = run_cli(settings, ["train", "--horizon", "7"])
    assert result.exit_code == 0, result.stderr
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path) -> Settings:
    """Settings on a private copy of the trained home."""
    return load_settings(home=Path(shutil.copytree(trained_home, tmp_path / "home")))


# --- finding 8: unbounded or absurd requests ------------------------------------------------


def _refused(settings: Settings, args: list[str], *needles: str) -> str:
    before = checksums(settings) if (settings.home / "flux.db").exists() else None
    result = run_cli(settings, args)
    out = result.stdout + result.stderr
    assert result.exit_code == 2, (args, out)
    assert "Traceback" not in out, out
    for needle in needles:
        assert needle in out, (args, needle, out)
    if before is not None:
        assert checksums(settings) == before
    return out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--jobs", "0"], "--jobs"),
        (["train", "--jobs", "-3"], "--jobs"),
        (["backtest", "--jobs", "65"], "--jobs"),
        (["train", "--horizon", "0"], "--horizon"),
        (["backtest", "--folds", "0"], "--folds"),
        (["backtest", "--step", "-1"], "--step"),
        (["publish", "--margin", "-1"], "--margin"),
        (["publish", "--margin", "1"], "--margin"),
        (["predict", "--wait", "--wait-timeout", "-5"], "--wait-timeout"),
    ],
)
def test_out_of_range_options_are_usage_errors(
    sqlite_settings: Settings, args: list[str], needle: str
) -> None:
    _refused(sqlite_settings, args, needle)


def test_a_huge_horizon_is_refused_naming_the_limit(sqlite_settings: Settings) -> None:
    _refused(
        sqlite_settings,
        ["train", "--horizon", "100000"],
        "--horizon 100,000 is over limits.max_horizon_days = 366",
        "FLUX_LIMITS__MAX_HORIZON_DAYS",
    )
    _refused(
        sqlite_settings,
        ["backtest", "--horizon", "367"],
        "--horizon 367 is over limits.max_horizon_days = 366",
    )


def test_a_backfill_over_the_limit_is_refused_before_anything_runs(
    sqlite_settings: Settings,
) -> None:
    # 1900-01-01..2999-12-31: 401,767 days (1,100 years of 365 days, 267 leap days)
    _refused(
        sqlite_settings,
        ["predict", "--from", "1900-01-01", "--to", "2999-12-31"],
        "(401,767 as-of dates) is over limits.max_backfill_days = 366",
    )


def test_an_as_of_far_after_the_data_is_refused(home: Settings) -> None:
    # the sample's data runs from 2025-04-01 for 70 days: the last day is 2025-06-09
    _refused(
        home,
        ["predict", "--as-of", "2999-01-01"],
        "--as-of 2999-01-01 is ",
        "days after the latest data (2025-06-09)",
        "limits.max_as_of_gap_days = 31",
    )
    ok = run_cli(home, ["predict", "--as-of", "2025-06-09", "--json"])
    assert ok.exit_code == 0, ok.stderr


# --- finding 11: no traceback for a broken environment ------------------------------------


def test_flux_home_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder", encoding="utf-8")
    env = {"FLUX_HOME": str(home)}
    for args in (["import", str(tmp_path)], ["predict"], ["db", "status"]):
        result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
        out = result.stdout + result.stderr
        assert result.exit_code == 2, (args, out)
        assert f"{home} is a file, not a folder" in out and "Traceback" not in out
    doctor = CliRunner().invoke(app, ["doctor", "--json"], env=env, catch_exceptions=False)
    assert doctor.exit_code == 2
    assert json.loads(doctor.stdout)["checks"][0]["status"] == "fail"


def test_flux_home_that_cannot_be_written_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    real_access = os.access
    monkeypatch.setattr(  # the tests run as root, whom chmod does not stop
        os, "access", lambda p, mode: False if Path(p) == home else real_access(p, mode)
    )
    with pytest.raises(ConfigError, match="is not readable and writable by this user"):
        load_settings(home=home)


def test_a_file_where_the_lock_folder_belongs_is_one_error_line(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    csv = tmp_path / "restaurants.csv"
    csv.write_text(RESTAURANTS_CSV, encoding="utf-8")
    sqlite_settings.home.mkdir(parents=True)
    blocker = sqlite_settings.home / ".flux.db.locks"
    blocker.write_text("", encoding="utf-8")
    result = run_cli(sqlite_settings, ["import", str(csv)])
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert f"{blocker}: File exists; check the path and its permissions" in out
    assert "Traceback" not in out


def test_a_read_only_database_refuses_an_import_in_one_line(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a file: URI makes Flux create a relative "file:" folder
    csv = tmp_path / "restaurants.csv"
    csv.write_text(RESTAURANTS_CSV, encoding="utf-8")
    assert run_cli(sqlite_settings, ["import", str(csv)]).exit_code == 0
    path = sqlite_settings.home / "flux.db"
    url = f"sqlite:///file:{path}?mode=ro&uri=true"  # read-only even for root
    read_only = load_settings(home=sqlite_settings.home, database_url=url)
    result = run_cli(read_only, ["import", "--force", str(csv)])
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert "attempt to write a readonly database" in out and "Traceback" not in out


def _set_revision(settings: Settings, revision: str) -> None:
    import sqlite3

    con = sqlite3.connect(settings.home / "flux.db")
    con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    con.commit()
    con.close()


def test_a_newer_schema_is_never_upgraded_nor_advised_to_be(sqlite_settings: Settings) -> None:
    assert run_cli(sqlite_settings, ["db", "upgrade"]).exit_code == 0
    _set_revision(sqlite_settings, "0099_future")
    upgrade = run_cli(sqlite_settings, ["db", "upgrade"])
    out = upgrade.stdout + upgrade.stderr
    assert upgrade.exit_code == 2, out
    assert "is at schema revision 0099_future, newer than this Flux" in out
    assert "Traceback" not in out
    status = run_cli(sqlite_settings, ["db", "status"])
    assert status.exit_code == 0
    assert "newer than this Flux" in status.stdout
    assert "behind" not in status.stdout and "do not run `flux db upgrade`" in status.stdout
    as_json = json.loads(run_cli(sqlite_settings, ["db", "status", "--json"]).stdout)
    assert (as_json["up_to_date"], as_json["newer_than_flux"]) == (False, True)


def test_an_unwritable_predict_output_is_refused_before_a_run_is_stored(home: Settings) -> None:
    blocker = home.home / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    before = checksums(home)
    out = _refused(
        home, ["predict", "--output", str(blocker / "forecast.csv")], "--output cannot be written"
    )
    assert "nothing was run" in out
    assert checksums(home) == before  # no forecast run stored


def test_an_output_write_that_fails_late_stores_no_run(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import predict

    def disk_full(frame: object, path: Path) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(predict, "write_output", disk_full)
    before = checksums(home)
    out = _refused(home, ["predict", "--output", str(home.home / "f.csv")], "No space left")
    assert "the forecast run was not stored" in out
    assert checksums(home) == before


# --- finding 12: leftovers of killed runs -----------------------------------------------------


def _train_runs(settings: Settings) -> dict[str, str]:
    import sqlite3

    con = sqlite3.connect(settings.home / "flux.db")
    rows = dict(con.execute("SELECT run_id, status FROM train_runs").fetchall())
    con.close()
    return rows


def test_a_sigkilled_train_is_marked_abandoned_by_the_next_one(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from pipelines import fitting

    before = set(_train_runs(home))
    env = {**os.environ, **env_for(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux_cli", "train", "--horizon", "7"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    killed: str | None = None
    while time.monotonic() < deadline and proc.poll() is None:
        running = [r for r, s in _train_runs(home).items() if s == "running" and r not in before]
        if running:
            proc.send_signal(signal.SIGKILL)
            killed = running[0]
            break
        time.sleep(0.05)
    proc.wait(30)
    assert killed is not None, "the train never recorded itself running"
    assert _train_runs(home)[killed] == "running"  # the finding: left running forever

    def no_fit(*args: object, **kwargs: object) -> fitting.Trained:
        raise DataError("not fitting in this test")

    monkeypatch.setattr(fitting, "fit_files", no_fit)
    run_cli(home, ["train", "--horizon", "7"])  # fails at the fit, after the clean-up
    statuses = _train_runs(home)
    assert statuses[killed] == "abandoned"
    assert list(statuses.values()).count("running") == 0


def test_a_run_over_other_restaurants_leaves_a_running_record_alone(home: Settings) -> None:
    from pipelines.io import runs
    from pipelines.io.db import Database

    db = Database(home)
    runs.start(
        db,
        runs.TRAIN,
        "r02-run",
        backend="local",
        target="covers",
        freq="D",
        horizon=7,
        restaurant_scope="r02",
    )
    runs.start(
        db,
        runs.TRAIN,
        "all-run",
        backend="local",
        target="covers",
        freq="D",
        horizon=7,
        restaurant_scope="",
    )
    assert runs.abandon_stale(db, runs.TRAIN, "covers", frozenset({"r01"})) == ["all-run"]
    assert _train_runs(home)["r02-run"] == "running"
    assert runs.abandon_stale(db, runs.TRAIN, "covers", None) == ["r02-run"]


def test_deleting_the_lock_folder_does_not_let_a_second_import_in(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    from pipelines.io import locks

    csv = tmp_path / "restaurants.csv"
    csv.write_text(RESTAURANTS_CSV, encoding="utf-8")
    assert run_cli(sqlite_settings, ["import", str(csv)]).exit_code == 0
    folder = sqlite_settings.home / ".flux.db.locks"
    with locks.hold(sqlite_settings, "data", None, command="flux import (the first)"):
        shutil.rmtree(folder)
        result = run_cli(sqlite_settings, ["import", "--force", str(csv)])
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert "is locked by" in out
    assert run_cli(sqlite_settings, ["import", "--force", str(csv)]).exit_code == 0


def test_an_escape_sequence_in_a_file_name_is_not_echoed_raw(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    name = "evil\x1b[31mred\x1b]0;pwned\x07"
    (folder / f"{name}.csv").write_text("restaurant_id,name\n", encoding="utf-8")
    (folder / f"{name}.json").write_text("{not json", encoding="utf-8")
    for args in (["-v", "import", str(folder)], ["import", str(folder / f"{name}.json")]):
        result = run_cli(sqlite_settings, args)
        out = result.stdout + result.stderr
        assert "evil" in out, out
        assert "\x1b" not in out and "\x07" not in out, repr(out)
        assert "evil\\x1b[31mred\\x1b]0;pwned\\x07" in out, repr(out)


# --- finding 4: restaurant ids never build a file path ----------------------------------------

HOSTILE_IDS = ["caf\u00e9 \U0001f355", "two words", "../escape", "o'brien\"s", "line\nbreak"]


def test_restaurants_csv_refuses_ids_that_are_not_plain_names(tmp_path: Path) -> None:
    import csv

    settings = load_settings(home=tmp_path / "home")
    restaurants = tmp_path / "restaurants.csv"
    with restaurants.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(RESTAURANTS_CSV.splitlines()[0].split(","))
        for rid in [*HOSTILE_IDS, "x" * 5000]:
            out.writerow([rid, "A place", "America/New_York", "US", "NY", 4, "csv", "", "USD"])
    result = run_cli(settings, ["import", str(restaurants)])
    assert result.exit_code == 2
    assert "every row was rejected (6)" in result.stderr and "not a restaurant id" in result.stderr


def test_prophet_files_of_hostile_ids_are_safe_paths_and_round_trip() -> None:
    """Ids stored before the import restricted them (or written by other tools) still train:
    the file of a model is named by a hash when the id is not a plain name."""
    import pandas as pd

    from models import columns as c
    from models.artifact import check_relpath
    from models.base import Calendar, future_frame
    from models.frames import SeriesFrame
    from models.prophet_model import ProphetForecaster, file_stem

    ids = ["../escape", "line\nbreak", "x" * 5000, "r01"]
    ds = pd.date_range("2025-01-06", periods=42, freq="D")
    frames = [
        pd.DataFrame(
            {c.RESTAURANT_ID: rid, c.DS: ds, c.Y: [20.0 + k + 5 * (i % 7) for i in range(42)]}
        )
        for k, rid in enumerate(ids)
    ]
    series = SeriesFrame.from_frame(pd.concat(frames, ignore_index=True))
    calendar = Calendar(
        restaurants=pd.DataFrame({c.RESTAURANT_ID: ids, c.COUNTRY: "US", c.SUBDIVISION: None})
    )
    model = ProphetForecaster(n_jobs=1).fit(series, calendar)
    files = model.to_files()
    for path in files:
        check_relpath(path)  # raises on an unsafe path
        assert len(path) < 100
    assert "prophet/r01.json" in files  # a plain id keeps its name (old artefacts still load)
    assert file_stem("../escape") == file_stem("../escape") != file_stem("../escapf")
    state = model.files_state()
    loaded = ProphetForecaster.from_files(
        files, params=model.get_params(), state=state, history=series, calendar=calendar
    )
    assert sorted(loaded.models_) == sorted(ids)
    future = future_frame(ids, ds[-1] + pd.Timedelta(days=1), 7)
    pd.testing.assert_frame_equal(model.predict(future).data, loaded.predict(future).data)


# --- finding 9 (rest): --restaurant says what it left out; an unknown one is refused -----------


def test_rows_outside_the_restaurant_are_counted_in_the_summary(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    from tests.test_hostile_input import lines_file, setup

    setup(sqlite_settings, tmp_path)
    path = lines_file(
        tmp_path,
        [
            "r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold",
            "r2,T2,1,2025-03-01 12:05,Ramen,1,9.00,sold",
            "r2,T3,1,2025-03-01 12:10,Ramen,2,18.00,sold",
        ],
    )
    result = run_cli(sqlite_settings, ["import", str(path), "--restaurant", "r1"])
    assert result.exit_code == 0, result.stderr
    assert "left out 2 rows of other restaurants (--restaurant)" in result.stdout
    as_json = run_cli(sqlite_settings, ["import", str(path), "-r", "r2", "--force", "--json"])
    assert json.loads(as_json.stdout)["rows_outside_scope"] == 1


def test_flux_run_for_an_unknown_restaurant_exits_2(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    csv = tmp_path / "restaurants.csv"
    csv.write_text(RESTAURANTS_CSV, encoding="utf-8")
    assert run_cli(sqlite_settings, ["import", str(csv)]).exit_code == 0
    result = run_cli(sqlite_settings, ["run", "--restaurant", "r99", "--no-retrain"])
    out = result.stdout + result.stderr
    assert result.exit_code == 2, out
    assert "unknown restaurant(s) r99 (--restaurant)" in out
