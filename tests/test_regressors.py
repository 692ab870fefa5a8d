"""Exogenous drivers (regressors): the ``regressors`` import, the leakage rule, the models' use of
them, and the backtest's with/without effect."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines.io import schema
from pipelines.io.db import Database
from pipelines.settings import Settings
from tests.conftest import ROOT
from tests.helpers import run_cli

RESTAURANTS = ROOT / "sample_data" / "restaurants.csv"


def _stored(settings: Settings) -> pd.DataFrame:
    db = Database(settings)
    with db.connect() as conn:
        t = schema.regressors
        frame = pd.read_sql(sa.select(t).order_by(t.c.restaurant_id, t.c.name, t.c.date), conn)
    db.dispose()
    return frame


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("restaurant_id,ts,name,value,known_in_advance\n" + "\n".join(rows) + "\n")
    return path


def test_import_is_idempotent_and_updates_in_place(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    """Detected by its header; '*' and blank mean every restaurant; a slot keeps its time; the
    second import of a corrected file changes the value, not the row count."""
    rows = [
        "r01,2026-03-06,promo,1,true",
        "*,2026-03-06,rain_mm,4.5,false",
        ",2026-03-07,rain_mm,0,false",
        "r02,2026-03-06 18:15,reservations,12,true",
    ]
    path = _write(tmp_path / "drivers.csv", rows)
    first = run_cli(sqlite_settings, ["import", str(RESTAURANTS), str(path)])
    assert first.exit_code == 0, first.stdout + first.stderr
    stored = _stored(sqlite_settings)
    assert len(stored) == 4
    assert set(stored["restaurant_id"]) == {"*", "r01", "r02"}
    slot = stored[stored["name"] == "reservations"].iloc[0]
    assert (str(slot["date"]), slot["slot"], slot["value"]) == ("2026-03-06", "18:15", 12.0)
    assert stored.set_index("name")["known_in_advance"].astype(bool).to_dict() == {
        "promo": True,
        "rain_mm": False,
        "reservations": True,
    }
    rows[1] = "*,2026-03-06,rain_mm,6.0,false"
    _write(path, rows)
    again = run_cli(sqlite_settings, ["import", str(path)])
    assert again.exit_code == 0, again.stdout + again.stderr
    stored = _stored(sqlite_settings)
    assert len(stored) == 4
    rain = stored[(stored["name"] == "rain_mm") & (stored["restaurant_id"] == "*")]
    assert sorted(rain["value"].tolist()) == [0.0, 6.0]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("r99,2026-03-06,promo,1,true", "restaurant_id", "unknown restaurant"),
        ("r01,2026-03-06 18:10,promo,1,true", "ts", "not the start of a 15-minute slot"),
        ("r01,06/03/2026,promo,1,true", "ts", "not a date"),
        ("r01,2026-03-06,2promo,1,true", "name", "not a regressor name"),
        ("r01,2026-03-06,promo,lots,true", "value", "not a number"),
        ("r01,2026-03-06,promo,1,maybe", "known_in_advance", "not true or false"),
        ("r01,2026-03-07,promo,1,false", "known_in_advance", "differs from this name's first"),
    ],
)
def test_a_bad_row_fails_the_import_and_writes_nothing(
    sqlite_settings: Settings, tmp_path: Path, row: str, field: str, reason: str
) -> None:
    """Row 2 is good, row 3 is bad: exit 2 naming file, row 3 and the field; no row stored."""
    path = _write(tmp_path / "drivers.csv", ["r01,2026-03-06,promo,1,true", row])
    result = run_cli(sqlite_settings, ["import", str(RESTAURANTS), str(path)])
    assert result.exit_code == 2, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "drivers.csv: row 3: field " + repr(field) in said, said
    assert reason in said
    assert _stored(sqlite_settings).empty
