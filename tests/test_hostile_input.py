"""Hostile and mistaken input to `flux import` (issue 13's findings 1-4, 7, 9, 10): each case
here failed on the main branch before the fix. Both backends must give the same answer, a bad
row is a reject naming its row and field, and nothing is lost or crossed.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.settings import Settings
from tests.helpers import checksums, demand_daily, env_for, run_cli

RESTAURANTS = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "r1,Corner Bistro,America/New_York,US,NY,4,csv,,USD\n"
    "r2,Ramen Ya,America/New_York,US,NY,4,csv,,USD\n"
    "t1,Toast Place,America/New_York,US,NY,4,toast,guid-t1,USD\n"
)
HEADER = "restaurant,ticket,line,sold_at,item,qty,amount,status\n"
MAPPING = """
source = "till"
timestamp_format = "%Y-%m-%d %H:%M"
money = "decimal"

[columns]
restaurant_id = "restaurant"
order_id = "ticket"
line_id = "line"
timestamp = "sold_at"
item = "item"
quantity = "qty"
amount = "amount"
kind = "status"

[kinds]
sold = "sale"
refund = "refund"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def lines_file(folder: Path, rows: list[str], name: str = "lines.csv") -> Path:
    write(folder, name.replace(".csv", ".mapping.toml"), MAPPING)
    return write(folder, name, HEADER + "".join(r + "\n" for r in rows))


def setup(settings: Settings, folder: Path) -> None:
    result = run_cli(settings, ["import", str(write(folder, "restaurants.csv", RESTAURANTS))])
    assert result.exit_code == 0, result.stderr


def reasons(stdout: str) -> list[tuple[str, int]]:
    return [(r["field"], r["first_row"]) for r in json.loads(stdout)["reject_reasons"]]


# ------------------------------------------------------- 3: the same answer on both backends


def test_values_one_backend_would_refuse_are_rejects_on_every_backend(
    settings: Settings, tmp_path: Path
) -> None:
    setup(settings, tmp_path)
    path = lines_file(
        tmp_path,
        [
            "r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold",  # row 2: fine, 5.00
            "r1,T2,1,2025-03-01 12:05,So\x00up,1,5.00,sold",  # row 3: a NUL byte
            f"r1,{'T' * 129},1,2025-03-01 12:10,Soup,1,5.00,sold",  # row 4: id > 128 chars
            f"r1,T4,1,2025-03-01 12:15,{'x' * 1001},1,5.00,sold",  # row 5: name > 1,000 chars
            f"r1,T5,1,2025-03-01 12:20,{'y' * 10_000_000},1,5.00,sold",  # row 6: a 10 MB field
        ],
    )
    result = run_cli(settings, ["import", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    got = sorted(
        (r["field"], r["first_row"], r["count"])
        for r in json.loads(result.stdout)["reject_reasons"]
    )
    assert got == [("item", 3, 1), ("item", 5, 2), ("order_id", 4, 1)]
    frame = demand_daily(settings)
    assert list(zip(frame.orders, frame.net_sales_minor, strict=True)) == [(1, 500)]


def test_a_huge_event_name_is_a_reject(settings: Settings, tmp_path: Path) -> None:
    setup(settings, tmp_path)
    events = write(
        tmp_path,
        "events.csv",
        "restaurant_id,kind,name,start_date,end_date,lower_window,upper_window\n"
        f"r1,event,{'n' * 100_000},2025-03-01,2025-03-01,,\n"
        "r1,event,Street fair,2025-03-02,2025-03-02,,\n",
    )
    result = run_cli(settings, ["import", str(events), "--json"])
    assert result.exit_code == 0, result.stderr
    assert reasons(result.stdout) == [("name", 2)]


# ------------------------------------------------------------- 4: ids that name files


@pytest.mark.parametrize(
    "rid", ["../up", "a b", "caf\u00e9", "\U0001f355", 'q"uote', "new\nline", "x" * 5000, ".dot"]
)
def test_restaurant_ids_that_cannot_name_a_file_are_refused(
    sqlite_settings: Settings, tmp_path: Path, rid: str
) -> None:
    quoted = '"' + rid.replace('"', '""') + '"'
    text = RESTAURANTS + f"{quoted},Odd,America/New_York,US,NY,4,csv,,USD\n"
    result = run_cli(
        sqlite_settings, ["import", str(write(tmp_path, "restaurants.csv", text)), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert reasons(result.stdout) == [("restaurant_id", 5)]


# --------------------------------------------------- 2: one location, one restaurant


def test_a_pos_location_cannot_feed_two_restaurants(settings: Settings, tmp_path: Path) -> None:
    setup(settings, tmp_path)
    second = write(
        tmp_path,
        "more.csv",
        RESTAURANTS.splitlines()[0] + "\nt2,Copycat,America/New_York,US,NY,4,toast,guid-t1,USD\n",
    )
    result = run_cli(settings, ["import", str(second)])
    assert result.exit_code == 2  # its only row rejected
    assert "already belong to restaurant t1" in result.stderr


def test_a_vendor_file_naming_another_vendors_restaurant_lands_nowhere(
    settings: Settings, tmp_path: Path
) -> None:
    """A Square Items CSV whose Location is the Flux id of a Toast restaurant (t1)."""
    setup(settings, tmp_path)
    before = checksums(settings)
    square = write(
        tmp_path,
        "items.csv",
        "Date,Time,Time Zone,Category,Item,Qty,Price Point Name,SKU,Modifiers Applied,"
        "Gross Sales,Discounts,Net Sales,Tax,Transaction ID,Payment ID,Device Name,Notes,"
        "Details,Event Type,Location,Dining Option\n"
        "2025-03-01,12:00:00,Eastern Time (US & Canada),None,Soup,1.0,Regular,,,$5.00,$0.00,"
        "$5.00,$0.40,TX1,P1,,,,Payment,t1,\n",
    )
    result = run_cli(settings, ["import", str(square)])
    assert result.exit_code == 2
    assert "every row was rejected" in result.stderr
    assert checksums(settings) == before


# ------------------------------------------------------------------------ 7: gzip bombs


def test_a_gzip_bomb_is_refused_by_its_expanded_size(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(sqlite_settings, tmp_path)
    path = tmp_path / "lines.csv.gz"
    body = HEADER + "r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold\n" * 80_000  # about 3.4 MB
    path.write_bytes(gzip.compress(body.encode()))
    write(tmp_path, "lines.mapping.toml", MAPPING)
    assert path.stat().st_size < 1 << 20
    monkeypatch.setenv("FLUX_LIMITS__MAX_FILE_MB", "1")
    result = run_cli(sqlite_settings, ["import", str(path)])
    assert result.exit_code == 2
    assert "limits.max_file_mb = 1 MB once gunzipped" in result.stderr
    assert demand_daily(sqlite_settings).empty


# ------------------------------------------------------------------ 9: silent wrong data


def test_a_mapping_that_names_one_column_twice_is_refused(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    setup(sqlite_settings, tmp_path)
    path = lines_file(tmp_path, ["r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold"])
    write(tmp_path, "lines.mapping.toml", MAPPING.replace('line_id = "line"', 'line_id = "ticket"'))
    result = run_cli(sqlite_settings, ["import", str(path)])
    assert result.exit_code == 2
    assert "columns order_id and line_id both name the column 'ticket'" in result.stderr


def test_offset_times_need_an_offset_in_the_format(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    setup(sqlite_settings, tmp_path)
    path = lines_file(tmp_path, ["r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold"])
    write(tmp_path, "lines.mapping.toml", 'timezone = "offset"\n' + MAPPING)
    result = run_cli(sqlite_settings, ["import", str(path)])
    assert result.exit_code == 2
    assert "has no %z" in result.stderr


def test_negative_sale_lines_are_rejects_not_sales(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    setup(sqlite_settings, tmp_path)
    path = lines_file(
        tmp_path,
        [
            "r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold",  # 5.00
            "r1,T1,2,2025-03-01 12:00,Soup,-1,5.00,sold",  # row 3: negative quantity
            "r1,T1,3,2025-03-01 12:00,Soup,1,-5.00,sold",  # row 4: negative amount
            "r1,T1,4,2025-03-03 12:00,Soup,-1,-5.00,refund",  # a refund: fine, not demand
        ],
    )
    result = run_cli(sqlite_settings, ["import", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert sorted(reasons(result.stdout)) == [("amount", 4), ("qty", 3)]
    frame = demand_daily(sqlite_settings)
    assert list(zip(frame.orders, frame.net_sales_minor, strict=True)) == [(1, 500)]


# ------------------------------------------------------ 10: a corrected export removes rows


def _orders(n: int, rid: str, first: int = 1) -> list[str]:
    return [
        f"{rid},T{i:03d},1,2025-03-0{1 + i % 3} 12:{i % 60:02d},Soup,1,5.00,sold"
        for i in range(first, first + n)
    ]


def test_replace_makes_a_restaurant_equal_the_corrected_export(
    settings: Settings, tmp_path: Path
) -> None:
    setup(settings, tmp_path)
    full = lines_file(tmp_path / "v1", _orders(40, "r1") + _orders(5, "r2"))
    assert run_cli(settings, ["import", str(full)]).exit_code == 0
    others = checksums(settings, exclude="r1")
    # the corrected export holds T001-T020 of r1, spread over the same three days as before
    fixed = lines_file(tmp_path / "v2", _orders(20, "r1"))
    before = checksums(settings)
    dry = run_cli(settings, ["import", str(fixed), "-r", "r1", "--replace", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["replaced"]["orders_removed"] == 20
    assert checksums(settings) == before
    done = run_cli(settings, ["import", str(fixed), "-r", "r1", "--replace"])
    assert done.exit_code == 0, done.stderr
    assert "removed 20 order(s) and 20 line(s)" in done.stdout
    frame = demand_daily(settings)
    r1 = frame[frame.restaurant_id == "r1"]
    assert int(r1.orders.sum()) == 20 and int(r1.net_sales_minor.sum()) == 20 * 500
    assert checksums(settings, exclude="r1") == others  # r2 untouched


def test_replace_needs_one_restaurant(sqlite_settings: Settings, tmp_path: Path) -> None:
    setup(sqlite_settings, tmp_path)
    path = lines_file(tmp_path, _orders(2, "r1"))
    result = run_cli(sqlite_settings, ["import", str(path), "--replace"])
    assert result.exit_code == 2 and "exactly one --restaurant" in result.stderr
    bad = run_cli(sqlite_settings, ["import", str(path), "-r", "r1", "--replace-range", "x..y"])
    assert bad.exit_code == 2 and "FROM..TO" in bad.stderr


# ------------------------------------------------------------ 1: rejects are never lost


def test_an_unwritable_rejects_folder_fails_with_nothing_imported(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    setup(sqlite_settings, tmp_path)
    before = checksums(sqlite_settings)
    path = lines_file(
        tmp_path, ["r1,T1,1,2025-03-01 12:00,Soup,1,5.00,sold", "r1,T2,1,bad,x,1,1,sold"]
    )
    blocker = write(tmp_path, "not-a-folder", "a file where the rejects folder should be")
    result = run_cli(sqlite_settings, ["import", str(path), "--rejects", str(blocker / "rejects")])
    assert result.exit_code == 2
    assert (
        "cannot write the rejects file" in result.stderr and "nothing was imported" in result.stderr
    )
    assert checksums(sqlite_settings) == before


def test_rejects_survive_a_kill_at_any_moment(sqlite_settings: Settings, tmp_path: Path) -> None:
    """SIGKILL an import with rejects at several moments: every batch the database recorded
    points at a complete rejects file."""
    setup(sqlite_settings, tmp_path)
    rows = [f"r1,T{i},1,2025-03-0{1 + i % 5} 12:00,Soup,1,5.00,sold" for i in range(60_000)]
    rows += [f"r1,X{i},1,never,Soup,1,5.00,sold" for i in range(20_000)]
    path = lines_file(tmp_path, rows)
    env = {**os.environ, **env_for(sqlite_settings), "FLUX_LOG_FORMAT": "json"}
    db = sqlite_settings.resolved_database_url.removeprefix("sqlite:///")
    for delay in (0.5, 1.5, 2.5, 3.5, 5.0, 8.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "flux_cli", "import", str(path), "--force"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(db) as conn:
            batches = conn.execute(
                "SELECT rows_rejected, rejects_path FROM import_batches WHERE rows_rejected > 0"
            ).fetchall()
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for rejected, rejects_path in batches:
            assert rejects_path and Path(rejects_path).is_file(), rejects_path
            with Path(rejects_path).open(encoding="utf-8") as fh:
                assert sum(1 for _ in fh) == rejected + 1  # a header and every reject
    done = subprocess.run(
        [sys.executable, "-m", "flux_cli", "import", str(path), "--force"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
