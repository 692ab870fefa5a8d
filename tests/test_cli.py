"""The CLI as people and schedulers meet it: help, version, completion, colour, quiet, choices,
start-up, streams (stdout for results, stderr JSON only with ``--log-format json``), an error
said once, the real exit code in the log, progress milestones, silent gaps made messages."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
import typer

from flux_cli import console, launcher, logs, options
from flux_cli.helpgen import command_paths, render_pages
from flux_cli.progress import Reporter
from flux_cli.render import left_out_lines
from pipelines.settings import Settings, load_settings
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
FLUX = str(Path(sys.executable).with_name("flux"))
HEAVY = ("pandas", "sklearn", "prophet", "xgboost", "boto3", "sqlalchemy", "matplotlib")


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _flux(
    *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "100", **(env or {})}
    for name in list(full):
        if (
            name.startswith("FLUX_")
            and not name.startswith("FLUX_TEST_")
            and name not in (env or {})
        ):
            full.pop(name)
    return subprocess.run(
        [FLUX, *args], capture_output=True, text=True, env=full, cwd=ROOT, check=False, **kwargs
    )


def _loaded_after(code: str, home: Path) -> set[str]:
    """The heavy modules loaded after running ``code`` in a fresh interpreter."""
    heavy = f"','.join(m for m in {HEAVY!r} if m in sys.modules)"
    script = f"import sys\n{code}\nprint('HEAVY:' + {heavy})\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env["FLUX_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    last = out.stdout.rsplit("HEAVY:", 1)[1].strip()
    return {m for m in last.split(",") if m}


# --- help, version, completion --------------------------------------------------------------


def test_stored_help_pages_are_the_live_ones() -> None:
    """`flux --help` is served from flux_cli/help.txt; regenerate it with
    `python -m flux_cli.helpgen` after changing a command or its help."""
    assert launcher.read_pages() == render_pages(), "run: python -m flux_cli.helpgen"


def test_every_help_page_has_examples_and_no_python_type_names() -> None:
    pages = render_pages()
    assert set(pages) == {" ".join(p) for p in command_paths()}
    for path, page in pages.items():
        if path not in ("db", "artefacts"):  # groups list their commands instead
            assert "Examples:" in page, path
        assert not re.search(r"<(str|int|float|bool|path|list\[.*?\])>", page, re.I), path
        assert "x>=" not in page, path


def test_help_and_artefacts_list_import_nothing_heavy(tmp_path: Path) -> None:
    run = "from flux_cli.main import app\ntry:\n    app({args!r})\nexcept SystemExit:\n    pass"
    for args in (["--help"], ["import", "--help"], ["db", "status", "--help"]):
        assert _loaded_after(run.format(args=args), tmp_path) == set(), args
    assert _loaded_after(run.format(args=["artefacts", "list"]), tmp_path) == set()
    launch = (
        "import sys\nsys.argv = {argv!r}\nfrom flux_cli.launcher import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    for argv in (["flux", "--help"], ["flux", "train", "--help"], ["flux", "--version"]):
        loaded = _loaded_after(launch.format(argv=argv), tmp_path)
        assert loaded == set(), argv


def test_fast_help_is_the_typer_page() -> None:
    fast = _flux("predict", "--help")
    assert fast.returncode == 0
    assert fast.stdout == launcher.read_pages()["predict"]
    short = _flux("predict", "-h")
    assert short.stdout == fast.stdout


def test_version_names_flux_the_git_sha_python_and_libraries() -> None:
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    for result in (_flux("--version"), _flux("--no-color", "--version")):
        assert result.returncode == 0, result.stderr
        assert sha[:12] in result.stdout
        assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in result.stdout
        for lib in ("pandas", "scikit-learn", "prophet", "xgboost", "sqlalchemy"):
            assert lib in result.stdout


def test_shell_completion_is_offered() -> None:
    result = _flux("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert result.returncode == 0, result.stderr
    assert "_FLUX_COMPLETE" in result.stdout
    done = _flux(
        env={
            "_FLUX_COMPLETE": "complete_bash",
            "COMP_WORDS": "flux train --backend ",
            "COMP_CWORD": "3",
        }
    )
    assert "sagemaker" in done.stdout and "local" in done.stdout


# --- choices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "valid"),
    [
        (["train", "--backend", "cloud"], ["local", "sagemaker"]),
        (["backtest", "--target", "covres"], ["covers", "net_sales", "item:NAME"]),
        (["predict", "--freq", "hourly"], ["D", "h", "15min"]),
        (["backtest", "--models", "prophet,arima"], ["seasonal_naive", "xgboost", "ensemble"]),
        (["import", "--format", "toastt", "x.csv"], ["toast", "clover", "series"]),
    ],
)
def test_a_bad_choice_fails_at_once_naming_the_valid_values(
    tmp_path: Path, args: list[str], valid: list[str]
) -> None:
    result = _flux(*args, env={"FLUX_HOME": str(tmp_path)})
    assert result.returncode == 2, result.stderr
    for value in valid:
        assert value in result.stderr
    # "At once": nothing heavy is loaded before the choice is refused (not a wall-clock
    # assertion, which a busy machine breaks; benchmarks/cli_startup.py measures the time).
    code = f"from flux_cli.main import app\ntry:\n    app({args!r})\nexcept SystemExit:\n    pass"
    assert _loaded_after(code, tmp_path) == set()


def test_a_bad_format_names_every_format_of_the_registry() -> None:
    from pipelines.io.adapters import FORMATS

    with pytest.raises(typer.BadParameter) as info:
        options.parse_format("toast_exprot")
    assert all(name in str(info.value) for name in FORMATS)


def test_targets_accept_items_and_categories() -> None:
    for ok in ("covers", "visitors", "item:Burger", "category:Drinks"):
        assert options.parse_target(ok) == ok
    for bad in ("item:", "cover", "category: "):
        with pytest.raises(Exception, match="not a target"):
            options.parse_target(bad)


# --- colour and quiet -------------------------------------------------------------------------


def _in_pty(args: list[str], env: dict[str, str]) -> bytes:
    """Output of ``flux ARGS`` run on a terminal (a pseudo-terminal for stdout and stderr)."""
    import pty

    master, slave = pty.openpty()
    full = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_", "NO_COLOR"))}
    full.update({"COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color", **env})
    proc = subprocess.Popen(
        [FLUX, *args], stdin=slave, stdout=slave, stderr=slave, env=full, cwd=ROOT
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    proc.wait(timeout=60)
    return b"".join(chunks)


def test_no_color_means_no_escape_codes_anywhere(tmp_path: Path) -> None:
    args = ["-v", "artefacts", "list"]  # a table, and (-v) a console log line
    env = {"FLUX_HOME": str(tmp_path)}
    coloured = _in_pty(args, env)
    assert b"\x1b[" in coloured and b"command finished" in coloured  # the test can see colour
    for plain in (_in_pty(args, {**env, "NO_COLOR": "1"}), _in_pty(["--no-color", *args], env)):
        assert b"command finished" in plain and b"Artefacts in" in plain
        assert b"\x1b" not in plain


def test_quiet_keeps_results_and_drops_notes(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    loud = run_cli(settings, ["--log-format", "console", "artefacts", "list"])
    assert "no artefacts yet" in loud.stderr
    quiet = run_cli(settings, ["--log-format", "console", "-q", "artefacts", "list"])
    assert quiet.exit_code == 0
    assert "Artefacts in" in quiet.stdout and quiet.stderr == ""
    both = run_cli(settings, ["-q", "-v", "artefacts", "list"])
    assert both.exit_code == 2 and "contradict" in both.stderr


# --- streams, errors and exit codes -----------------------------------------------------------


def test_stdlib_extra_fields_reach_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    logs.configure(1, "json")
    try:
        logging.getLogger("pipelines.io.artifacts").info(
            "artefact written", extra={"store": "s3://b/p", "artifact_id": "20261201-abc"}
        )
    finally:
        logs.configure(0)
    line = json.loads(buf.getvalue())
    assert line["event"] == "artefact written" and line["artifact_id"] == "20261201-abc"
    assert line["store"] == "s3://b/p"


def test_a_bad_option_logs_the_exit_code_the_process_returns(tmp_path: Path) -> None:
    result = _flux(
        "--log-format", "json", "train", "--horizn", "3", env={"FLUX_HOME": str(tmp_path)}
    )
    assert result.returncode == 2
    lines = _json_lines(result.stderr)  # stderr is nothing but JSON lines
    end = [x for x in lines if x["event"] == "command finished"]
    assert len(end) == 1 and end[0]["exit_code"] == 2 and end[0]["level"] == "error"
    assert "--horizn" in end[0]["error"]


def test_a_bad_root_option_with_json_logs_is_a_json_line(tmp_path: Path) -> None:
    for args, env in (
        (["--log-format", "json", "--bogus", "run"], {}),
        (["--bogus"], {"FLUX_LOG_FORMAT": "json"}),
    ):
        result = _flux(*args, env={"FLUX_HOME": str(tmp_path), **env})
        assert result.returncode == 2
        (line,) = _json_lines(result.stderr)
        assert line["exit_code"] == 2 and "--bogus" in line["error"]


def test_json_logs_keep_stderr_json_and_say_an_error_once(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "nothing.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run_cli(sqlite_settings, ["--log-format", "json", "import", str(bad)])
    assert result.exit_code == 2
    lines = _json_lines(result.stderr)
    said = [x for x in lines if "cannot tell" in json.dumps(x)]
    assert len(said) == 1 and said[0]["event"] == "command finished"
    assert said[0]["exit_code"] == 2 and "nothing.csv" in said[0]["error"]


def test_on_a_console_an_error_is_one_line(sqlite_settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "nothing.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run_cli(sqlite_settings, ["--log-format", "console", "-v", "import", str(bad)])
    assert result.exit_code == 2
    mentions = [ln for ln in result.stderr.splitlines() if "cannot tell" in ln]
    assert len(mentions) == 1 and mentions[0].startswith("error:")
    finished = [ln for ln in result.stderr.splitlines() if "command finished" in ln]
    assert len(finished) == 1 and "exit_code=2" in finished[0]


def test_log_format_from_the_environment(sqlite_settings: Settings) -> None:
    from typer.testing import CliRunner

    from flux_cli.main import app
    from tests.helpers import env_for

    env = {**env_for(sqlite_settings), "FLUX_LOG_FORMAT": "json"}
    result = CliRunner().invoke(app, ["artefacts", "list"], env=env)
    assert result.exit_code == 0
    assert [x["event"] for x in _json_lines(result.stderr)] == [
        "no artefacts yet: `flux train` makes one",
        "command finished",
    ]
    assert "Artefacts in" in result.stdout


def test_piped_output_never_wraps(tmp_path: Path) -> None:
    home = tmp_path / ("a-very-long-folder-name-" * 10)
    result = _flux("artefacts", "list", env={"FLUX_HOME": str(home)})
    assert result.returncode == 0
    title = [ln for ln in result.stdout.splitlines() if ln.startswith("Artefacts in")]
    assert len(title) == 1 and len(title[0]) > 160 and str(home) in title[0]


def test_json_output_is_one_line_when_piped(sqlite_settings: Settings) -> None:
    result = run_cli(sqlite_settings, ["artefacts", "list", "--json"])
    assert result.stdout.count("\n") == 1 and json.loads(result.stdout) == []


# --- OpenMP -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_cli_sets_a_passive_openmp_wait_policy_unless_one_is_set(
    preset: str | None, expected: str
) -> None:
    script = (
        "import os, sys\nsys.argv = ['flux', '--version']\nfrom flux_cli.launcher import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('POLICY', os.environ['OMP_WAIT_POLICY'], 'sklearn' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert f"POLICY {expected} False" in out  # set before any library that loads OpenMP


# --- progress ---------------------------------------------------------------------------------


def test_progress_off_a_terminal_is_log_milestones(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    logs.configure(0, "json")
    console.configure(json_logs=True, json_only=True)
    try:
        with Reporter("train") as progress:
            progress("training 3 restaurant(s)", 0, 1)
            from models import progress as fit_progress

            for done in range(4):
                fit_progress.report("prophet", done, 3)
    finally:
        logs.configure(0)
        console.configure()
    lines = [x for x in _json_lines(buf.getvalue()) if x["event"] == "progress"]
    assert lines[0]["label"] == "training 3 restaurant(s)" and lines[0]["step"] == "train"
    fits = [x for x in lines if x["label"] == "prophet"]
    assert fits[0]["done"] == 0 and fits[-1]["done"] == 3 and fits[-1]["total"] == 3


def test_models_report_restaurants_fitted_per_member() -> None:
    from models import progress as fit_progress
    from models.ensemble import EnsembleForecaster
    from models.prophet_model import ProphetForecaster
    from tests.synthetic_series import synthetic_series

    series = synthetic_series(n_restaurants=2, days=70)
    seen: list[tuple[str, int, int]] = []
    with fit_progress.reporting(lambda *a: seen.append(a)):
        ProphetForecaster(yearly_seasonality=False).fit(series)
        EnsembleForecaster(members=("weekday_median",), validation_horizon=7).fit(series)
    prophet = [s for s in seen if s[0] == "prophet"]
    assert prophet[0] == ("prophet", 0, 2) and prophet[-1] == ("prophet", 2, 2)
    assert len(prophet) == 3  # once before, then as each restaurant's fit comes back
    labels = {s[0] for s in seen}
    assert {"validation fit: weekday_median", "final fit: weekday_median"} <= labels


def test_commands_log_progress_milestones(sqlite_settings: Settings, tmp_path: Path) -> None:
    folder = _small_import_files(tmp_path)
    result = run_cli(sqlite_settings, ["import", str(folder)])
    assert result.exit_code == 0, result.stderr
    progress = [x for x in _json_lines_only(result.stderr) if x["event"] == "progress"]
    assert progress and all(x["step"] == "import" for x in progress)
    assert any(x["total"] == 3 for x in progress)  # three files


# --- silent gaps ------------------------------------------------------------------------------

RESTAURANTS = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "r1,Corner Bistro,America/New_York,US,NY,4,csv,,USD\n"
    "r2,Ramen Ya,America/New_York,US,NY,4,csv,,USD\n"
    "r3,Empty Room,America/New_York,US,NY,4,csv,,USD\n"
)
MAPPING = """
source = "till"
restaurant = "{rid}"
timestamp_format = "%Y-%m-%d %H:%M"
timezone = "local"
money = "decimal"

[columns]
order_id = "ticket"
line_id = "line"
timestamp = "sold_at"
item = "item"
quantity = "qty"
unit_price = "unit_price"
{covers}
"""


def _lines(rid: str, days: int, guests: bool) -> str:
    """One order a day at noon from 2025-01-01 (quantities 1-5; guests one more)."""
    import datetime as dt

    rows = ["ticket,line,sold_at,item,qty,unit_price" + (",guests" if guests else "")]
    for d in range(days):
        stamp = (dt.datetime(2025, 1, 1, 12) + dt.timedelta(days=d)).strftime("%Y-%m-%d %H:%M")
        qty = 1 + (d * 7) % 5
        rows.append(f"{rid}-{d},1,{stamp},Soup,{qty},4.50" + (f",{qty + 1}" if guests else ""))
    return "\n".join(rows) + "\n"


def _small_import_files(tmp_path: Path, days: int = 10) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "restaurants.csv").write_text(RESTAURANTS, encoding="utf-8")
    for rid, guests in (("r1", True), ("r2", False)):
        (folder / f"{rid}.csv").write_text(_lines(rid, days, guests), encoding="utf-8")
        covers = 'covers = "guests"' if guests else ""
        (folder / f"{rid}.mapping.toml").write_text(
            MAPPING.format(rid=rid, covers=covers), encoding="utf-8"
        )
    return folder


def _json_lines_only(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_import_summary_names_its_units(sqlite_settings: Settings, tmp_path: Path) -> None:
    folder = _small_import_files(tmp_path)
    result = run_cli(sqlite_settings, ["import", str(folder)])
    assert result.exit_code == 0, result.stderr
    # 3 restaurants + 10 + 10 lines read; 20 order lines and 3 restaurants loaded
    assert "read 23 source rows; loaded 20 order lines, 3 restaurants;" in result.stdout


def test_a_backtest_says_which_restaurants_it_left_out(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    folder = _small_import_files(tmp_path, days=70)
    assert run_cli(sqlite_settings, ["import", str(folder)]).exit_code == 0
    args = ["backtest", "--models", "seasonal_naive", "--folds", "1", "--horizon", "7"]
    result = run_cli(sqlite_settings, ["--log-format", "console", *args])
    assert result.exit_code == 0, result.stderr
    # r2's file has no guest counts; r3 has no sales at all
    assert "2 restaurants have no guest counts: r2, r3 (left out of the backtest)" in result.stderr
    as_json = run_cli(sqlite_settings, [*args, "--target", "orders", "--json"])
    assert json.loads(as_json.stdout)["left_out"] == {"r3": "no orders"}


def test_left_out_sentences() -> None:
    left = dict.fromkeys(("r08", "r02", "r04"), "no guest counts")
    left["r09"] = "no model in artefact A"
    lines = left_out_lines(left)
    assert lines[0][0] == "3 restaurants have no guest counts: r02, r04, r08"
    assert lines[1][0] == "1 restaurant has no model in artefact A: r09"


def test_predict_as_of_before_the_training_data_warns_of_leakage() -> None:
    import datetime as dt

    from flux_cli.commands.predict_cmd import _leakage

    result = SimpleNamespace(artifact_id="A1", trained_until=dt.date(2026, 9, 30))
    text = _leakage(result, dt.date(2026, 9, 1))  # type: ignore[arg-type]
    assert text is not None and "leakage" in text and "2026-09-30" in text and "2026-09-01" in text
    assert _leakage(result, dt.date(2026, 9, 30)) is None  # type: ignore[arg-type]
    assert _leakage(result, None) is None  # type: ignore[arg-type]


def test_structlog_is_left_usable() -> None:
    """The tests above reconfigure logging; later tests expect the default."""
    logs.configure(0)
    structlog.get_logger("t").debug("ok")
