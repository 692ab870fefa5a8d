"""Issue 13, "no traceback reaches a user for any input": random option values and hostile file
bytes through the ``flux`` command end with exit 0, 1, 2 or 3 and a message, never a traceback;
and SQLite and PostgreSQL give the same answer for twelve hostile import files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flux_cli.main import app
from pipelines.settings import Settings, load_settings
from tests.helpers import env_for
from tests.test_hostile_input import HEADER, MAPPING, RESTAURANTS

EXIT_CODES = {0, 1, 2, 3}


def _invoke(settings: Settings, args: list[str]) -> tuple[int, str]:
    """Runs ``flux ARGS`` in-process, catching what escapes (a bug would show as an exception)."""
    result = CliRunner().invoke(app, args, env=env_for(settings), catch_exceptions=True)
    out = result.stdout + result.stderr
    escaped = result.exception
    assert escaped is None or isinstance(escaped, SystemExit), (args, repr(escaped), out)
    assert "Traceback" not in out, (args, out)
    assert result.exit_code in EXIT_CODES, (args, result.exit_code, out)
    if result.exit_code:
        assert "error" in out.lower() or "invalid" in out.lower(), (args, out)
    return result.exit_code, out


@pytest.fixture(scope="module")
def fuzz_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A SQLite home with the restaurants of the hostile-input tests and nothing else."""
    home = tmp_path_factory.mktemp("fuzz") / "home"
    settings = load_settings(home=home)
    csv = home.parent / "restaurants.csv"
    csv.write_text(RESTAURANTS, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in __import__("os").environ if n.startswith("FLUX_")]:
            mp.delenv(name)
        assert _invoke(settings, ["import", str(csv)])[0] == 0
    return settings


# --- random option values -------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "1e999", "0x10", "NaN", "-0", "٣", "1_000"]),
)
TEXTS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
DATES = st.one_of(
    st.dates().map(str),
    st.sampled_from(["2025-02-30", "0000-01-01", "2025-13-01", "9999-12-31", "yesterday"]),
    TEXTS,
)
OPTIONS: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "train": {"--horizon": NUMBERS, "--jobs": NUMBERS, "--target": TEXTS, "--restaurant": TEXTS},
    "backtest": {
        "--horizon": NUMBERS,
        "--folds": NUMBERS,
        "--step": NUMBERS,
        "--levels": TEXTS,
        "--cutoff": DATES,
        "--models": TEXTS,
    },
    "predict": {
        "--as-of": DATES,
        "--from": DATES,
        "--to": DATES,
        "--freq": TEXTS,
        "--artifact": TEXTS,
        "--output": TEXTS,
    },
    "publish": {"--margin": NUMBERS, "--run": TEXTS, "--restaurant": TEXTS},
    "monitor": {"--days": NUMBERS, "--restaurant": TEXTS},
}


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    names = draw(st.lists(st.sampled_from(sorted(OPTIONS[command])), max_size=3, unique=True))
    args = [command]
    for name in names:
        args += [name, draw(OPTIONS[command][name])]
    return args


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(args=command_lines())
def test_random_option_values_never_give_a_traceback(
    fuzz_settings: Settings, args: list[str]
) -> None:
    if "\x00" in "".join(args):
        args = [a.replace("\x00", "") for a in args]  # the OS cannot pass a NUL in an argument
    _invoke(fuzz_settings, args)


# --- hostile file bytes ---------------------------------------------------------------------


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.lists(TEXTS, max_size=6).map(lambda cells: HEADER + ",".join(cells) + "\n"),
        st.text(max_size=300).map(lambda t: "restaurant_id,name\n" + t),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | TEXTS,
            lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXTS, kids, max_size=3),
            max_leaves=10,
        ).map(json.dumps),
    ),
    suffix=st.sampled_from([".csv", ".json", ".csv.gz", ".txt"]),
    mapped=st.booleans(),
)
def test_hostile_file_bytes_never_give_a_traceback(
    fuzz_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    body: Any,
    suffix: str,
    mapped: bool,
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / f"lines{suffix}"
    data = body if isinstance(body, bytes) else str(body).encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    if mapped:
        (folder / "lines.mapping.toml").write_text(MAPPING, encoding="utf-8")
    code, _ = _invoke(fuzz_settings, ["import", str(path), "--json"])
    assert code in (0, 2)


# --- the same answer on SQLite and PostgreSQL -------------------------------------------------

OK_ROW = "r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold"
HOSTILE_FILES: dict[str, bytes] = {
    "nul-in-item": (HEADER + OK_ROW + "\nr1,T2,1,2025-03-01 12:05,So\x00up,1,5.00,sold\n").encode(),
    "nul-in-order-id": (
        HEADER + OK_ROW + "\nr1,T\x002,1,2025-03-01 12:05,Soup,1,5.00,sold\n"
    ).encode(),
    "long-order-id": (
        HEADER + OK_ROW + f"\nr1,{'T' * 129},1,2025-03-01 12:05,Soup,1,5,sold\n"
    ).encode(),
    "long-line-id": (
        HEADER + OK_ROW + f"\nr1,T2,{'9' * 200},2025-03-01 12:05,Soup,1,5,sold\n"
    ).encode(),
    "long-restaurant": (
        HEADER + OK_ROW + f"\n{'r' * 300},T2,1,2025-03-01 12:05,Soup,1,5,sold\n"
    ).encode(),
    "100k-item": (
        HEADER + OK_ROW + f"\nr1,T2,1,2025-03-01 12:05,{'x' * 100_000},1,5,sold\n"
    ).encode(),
    "huge-quantity": (
        HEADER + OK_ROW + "\nr1,T2,1,2025-03-01 12:05,Soup,1e30,5.00,sold\n"
    ).encode(),
    "huge-amount": (
        HEADER + OK_ROW + "\nr1,T2,1,2025-03-01 12:05,Soup,1,99999999999999999999,sold\n"
    ).encode(),
    "bad-utf8": HEADER.encode()
    + OK_ROW.encode()
    + b"\nr1,T2,1,2025-03-01 12:05,\xff\xfe,1,5,sold\n",
    "control-chars": (
        HEADER + OK_ROW + "\nr1,T2,1,2025-03-01 12:05,\x1b[31mSoup\x07,1,5,sold\n"
    ).encode(),
    "year-9999": (HEADER + OK_ROW + "\nr1,T2,1,9999-12-31 23:59,Soup,1,5.00,sold\n").encode(),
    "header-only": HEADER.encode(),
}


def _answer(settings: Settings, folder: Path, name: str, body: bytes) -> tuple[Any, ...]:
    folder.mkdir(parents=True)
    restaurants = folder / "restaurants.csv"
    restaurants.write_text(RESTAURANTS, encoding="utf-8")
    assert _invoke(settings, ["import", str(restaurants)])[0] == 0
    (folder / "lines.mapping.toml").write_text(MAPPING, encoding="utf-8")
    path = folder / "lines.csv"
    path.write_bytes(body)
    code, out = _invoke(settings, ["import", str(path), "--json"])
    if code != 0:  # the error line, with the file's folder (which differs) left out
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        assert errors, out
        return code, [line.replace(str(folder), "FOLDER") for line in errors]
    doc = json.loads(out.strip().splitlines()[0])
    reasons = sorted((r["field"], r["first_row"], r["count"]) for r in doc["reject_reasons"])
    return code, doc["rows_read"], doc["rows_loaded"], doc["rows_rejected"], reasons


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_both_backends_give_the_same_answer_for_hostile_files(
    name: str, tmp_path: Path, pg_url: str
) -> None:
    body = HOSTILE_FILES[name]
    on_sqlite = _answer(load_settings(home=tmp_path / "sq"), tmp_path / "a", name, body)
    on_pg = _answer(
        load_settings(home=tmp_path / "pg", database_url=pg_url), tmp_path / "b", name, body
    )
    assert on_sqlite == on_pg
