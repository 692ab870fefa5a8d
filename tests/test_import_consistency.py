"""The same data gives the same demand whatever the order, the subset or the day it moves to.

Found by trying Flux as a new user with files built from the vendors' specs: a re-exported order
that moved to another business day stayed counted on the day it left; a late round rung after the
cutoff lost its sales from the daily rollup when no order opened on that business day; Toast's
CheckDetails overwrote OrderDetails' guest count when imported later; rows rejected for a location
not known yet were never read again; an iKentoo-era line as Lightspeed documents it came out at a
tenth of its value. Expected figures are worked out by hand in the comments.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from pipelines import ingest
from pipelines.settings import Settings
from tests.helpers import demand_daily, run_cli

ROOT = Path(__file__).resolve().parent
RESTAURANTS = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "r1,Corner Bistro,America/New_York,US,NY,4,csv,,USD\n"
)
MAPPING = """
source = "till"
restaurant = "r1"
timestamp_format = "%Y-%m-%d %H:%M"
[columns]
order_id = "ticket"
line_id = "line"
timestamp = "sold_at"
item = "item"
amount = "amount"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def lines(folder: Path, rows: str) -> Path:
    write(folder, "lines.mapping.toml", MAPPING)
    return write(folder, "lines.csv", "ticket,line,sold_at,item,amount\n" + rows)


def daily(settings: Settings) -> list[tuple[str, int, int]]:
    frame = demand_daily(settings)
    return [
        (d.date().isoformat(), int(o), int(n))
        for d, o, n in zip(frame.business_date, frame.orders, frame.net_sales_minor, strict=True)
    ]


def test_an_order_that_moves_day_leaves_its_old_day(settings: Settings, tmp_path: Path) -> None:
    assert run_cli(settings, ["import", str(write(tmp_path, "r.csv", RESTAURANTS))]).exit_code == 0
    first = lines(
        tmp_path / "v1",
        "T1,1,2025-03-01 12:00,Soup,5.00\nT2,1,2025-03-01 23:45,Pie,10.00\n",
    )
    assert run_cli(settings, ["import", str(first)]).exit_code == 0
    assert daily(settings) == [("2025-03-01", 2, 1500)]
    # T2's time is corrected to the next day (a re-export): 03-01 keeps T1 only
    moved = lines(tmp_path / "v2", "T2,1,2025-03-02 10:00,Pie,10.00\n")
    dry = run_cli(settings, ["import", str(moved), "--dry-run", "--json"])
    days = {
        (d["business_date"], d["orders"], d["orders_before"])
        for d in json.loads(dry.stdout)["days"]
    }
    assert days == {("2025-03-01", 1, 2), ("2025-03-02", 1, 0)}  # the dry run shows both days
    assert run_cli(settings, ["import", str(moved)]).exit_code == 0
    assert daily(settings) == [("2025-03-01", 1, 500), ("2025-03-02", 1, 1000)]


def test_an_order_a_later_chunk_moves_leaves_its_old_day(
    settings: Settings, tmp_path: Path
) -> None:
    """As above, the re-export read one record at a time: T1 comes first, so the restaurant has
    been seen (and its orders stored before the file) by the time T2's chunk moves it."""
    assert run_cli(settings, ["import", str(write(tmp_path, "r.csv", RESTAURANTS))]).exit_code == 0
    first = lines(
        tmp_path / "v1",
        "T1,1,2025-03-01 12:00,Soup,5.00\nT2,1,2025-03-01 23:45,Pie,10.00\n",
    )
    assert run_cli(settings, ["import", str(first)]).exit_code == 0
    moved = lines(
        tmp_path / "v2",
        "T1,1,2025-03-01 12:00,Soup,5.00\nT2,1,2025-03-02 10:00,Pie,10.00\n",
    )
    request = ingest.IngestRequest(paths=(moved.parent,), chunk_rows=1)
    assert ingest.run(request, settings).rows_rejected == 0
    # 03-01: T1 (5.00) only; 03-02: T2 (10.00)
    assert daily(settings) == [("2025-03-01", 1, 500), ("2025-03-02", 1, 1000)]


def test_a_late_round_counts_on_its_orders_day(settings: Settings, tmp_path: Path) -> None:
    """A round rung at 04:30 (after the 04:00 cutoff) belongs to its check's business day, as
    the vendors' reports put it; the 15-minute rollup keeps its own slot."""
    assert run_cli(settings, ["import", str(write(tmp_path, "r.csv", RESTAURANTS))]).exit_code == 0
    path = lines(tmp_path, "T1,1,2025-03-07 23:30,Burger,12.00\nT1,2,2025-03-08 04:30,Beer,7.00\n")
    assert run_cli(settings, ["import", str(path)]).exit_code == 0
    # business day 03-07: one order, 12.00 + 7.00 = 19.00; nothing on 03-08 (no order opened)
    assert daily(settings) == [("2025-03-07", 1, 1900)]


def test_toast_export_guests_do_not_depend_on_the_import_order(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    """OrderDetails' "# of Guests" is the order's party; CheckDetails' "Table Size" (here 2 on
    each of order 102's two checks) only fills in where OrderDetails has not said."""
    source = ROOT / "fixtures" / "vendors" / "toast"
    guid = "6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b"
    day = tmp_path / guid / "20250311"
    shutil.copytree(source / guid / "20250311", day)
    checks = day / "CheckDetails.csv"
    text = checks.read_text(encoding="utf-8").splitlines()
    for i, row in enumerate(text):
        if "1300000019000001102" in row or "1300000019000001103" in row:
            text[i] = row.replace(",,4,0.00,,", ",,2,0.00,,")
    checks.write_text("\n".join(text) + "\n", encoding="utf-8")
    restaurants = source / "restaurants.csv"
    # business day 03-11: orders 101 (2 guests), 102 (4) and 103 (1, opened 01:15 before the
    # 04:00 cutoff); 104 is voided. Covers 2 + 4 + 1 = 7, whichever file comes last.
    runs = [
        [["import", str(restaurants), str(day)]],
        [
            [
                "import",
                str(restaurants),
                str(day / "ItemSelectionDetails.csv"),
                str(day / "OrderDetails.csv"),
            ],
            ["import", str(checks)],
        ],
        [
            ["import", str(restaurants), str(day / "ItemSelectionDetails.csv"), str(checks)],
            ["import", str(day / "OrderDetails.csv")],
        ],
    ]
    for n, commands in enumerate(runs):
        home = sqlite_settings.model_copy(
            update={"home": tmp_path / f"home{n}", "database_url": None}
        )
        for args in commands:
            result = run_cli(home, args)
            assert result.exit_code == 0, result.stderr
        frame = demand_daily(home)
        covers = dict(zip(frame.business_date.dt.date.astype(str), frame.covers, strict=True))
        assert covers["2025-03-11"] == 7, (n, covers)


def test_rows_of_a_location_not_known_yet_are_read_again(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    one = RESTAURANTS
    both = RESTAURANTS + "r2,Second,America/New_York,US,NY,4,csv,,USD\n"
    write(tmp_path, "lines.mapping.toml", MAPPING.replace('restaurant = "r1"\n', ""))
    path = write(
        tmp_path,
        "lines.csv",
        "store,ticket,line,sold_at,item,amount\n"
        "r1,T1,1,2025-03-01 12:00,Soup,5.00\nr2,T2,1,2025-03-01 12:00,Soup,7.00\n",
    )
    write(
        tmp_path,
        "lines.mapping.toml",
        MAPPING.replace('restaurant = "r1"', "") + 'restaurant_id = "store"\n',
    )
    meta = write(tmp_path / "m1", "restaurants.csv", one)
    first = run_cli(sqlite_settings, ["import", str(meta), str(path), "--json"])
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["rows_rejected"] == 1  # r2 is not known yet
    meta2 = write(tmp_path / "m2", "restaurants.csv", both)
    # no --force: the file that had a reject is read again once r2 is known
    again = run_cli(sqlite_settings, ["import", str(meta2), str(path)])
    assert again.exit_code == 0, again.stderr
    frame = demand_daily(sqlite_settings)
    assert sorted(zip(frame.restaurant_id, frame.net_sales_minor, strict=True)) == [
        ("r1", 500),
        ("r2", 700),
    ]


def test_other_restaurants_rows_are_out_of_scope_not_unknown(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    both = RESTAURANTS + "r2,Second,America/New_York,US,NY,4,csv,,USD\n"
    meta = write(tmp_path, "restaurants.csv", both)
    write(
        tmp_path,
        "lines.mapping.toml",
        MAPPING.replace('restaurant = "r1"', "") + 'restaurant_id = "store"\n',
    )
    path = write(
        tmp_path,
        "lines.csv",
        "store,ticket,line,sold_at,item,amount\n"
        "r1,T1,1,2025-03-01 12:00,Soup,5.00\nr2,T2,1,2025-03-01 12:00,Soup,7.00\n",
    )
    result = run_cli(sqlite_settings, ["import", str(meta), str(path), "-r", "r1", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows_rejected"] == 0
    (lines_file,) = [f for f in report["files"] if f["format"] == "csv"]
    assert lines_file["rows_outside_scope"] == 1


def test_an_ikentoo_line_as_lightspeed_documents_it(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    """The iKentoo-era docs' example line (maillotf/ikentoo-bridge-bundle, FinancialService.php):
    5.50 with tax, a 0.50 service charge and taxAmount 4.6296 (= 5.00 / 1.08, the amount without
    tax). Net before tax: 4.63, not 5.50 - 0.50 - 4.6296 = 0.37."""
    meta = write(
        tmp_path,
        "restaurants.csv",
        "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
        "currency\nz1,Zurich,Europe/Zurich,CH,ZH,4,lightspeed,9000,CHF\n",
    )
    sale = {
        "accountReference": "0c901700-b964-11e7-8b58-0242ac110002",
        "timeOfOpening": "2020-01-14T12:30:00+01:00",
        "timeOfCloseAndPaid": "2020-01-14T13:05:00+01:00",
        "cancelled": False,
        "type": "SALE",
        "nbCovers": 1,
        "salesLines": [
            {
                "sku": "12",
                "name": "Espresso",
                "quantity": "1.000",
                "totalNetAmountWithTax": "5.50",
                "serviceCharge": "0.50",
                "taxAmount": "4.6296",
                "taxRatePercentage": "1.08",
                "accountingGroup": {"id": 1, "name": "Drinks"},
            }
        ],
    }
    path = write(tmp_path, "sales.json", json.dumps({"businessLocationId": 9000, "sales": [sale]}))
    result = run_cli(sqlite_settings, ["import", str(meta), str(path)])
    assert result.exit_code == 0, result.stderr
    frame = demand_daily(sqlite_settings)
    assert list(frame.net_sales_minor) == [463]
    assert pd.Series(frame.business_date).dt.date.astype(str).tolist() == ["2020-01-14"]
