"""What `flux import` says and refuses, whatever the format: rejects are never silent, a file that
lands nothing fails with nothing written, dry runs change nothing, order totals count as demand,
a file's restaurant is resolved without guessing, series of demand targets, generic unit prices.

Every expected figure below is worked out by hand in the comments, not with Flux's code.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io import imports, rollups
from pipelines.io.adapters.base import (
    Directory,
    ParseContext,
    ParsedFile,
    RestaurantInfo,
    resolve_file_restaurant,
)
from pipelines.io.db import Database
from pipelines.io.series import read_series
from pipelines.settings import Settings
from tests.helpers import checksums, demand_daily, run_cli

RESTAURANTS = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "r1,Corner Bistro,America/New_York,US,NY,4,csv,,USD\n"
    "r2,Ramen Ya,Asia/Tokyo,JP,,4,csv,,JPY\n"
)
MAPPING = """
source = "till"
restaurant = "r1"
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
kind = "status"
covers = "guests"

[kinds]
sold = "sale"
void = "void"
"""
LINES = (
    "ticket,line,sold_at,item,qty,unit_price,status,guests\n"
    "T1,1,2025-03-01 12:00,Burger,2,9.995,sold,2\n"  # 2 x 9.995 = 19.99
    "T1,2,2025-03-01 12:00,Soda,1,2.50,sold,2\n"  # 2.50
    "T2,1,2025-03-02 01:30,Fries,3,0.333,sold,1\n"  # 3 x 0.333 = 0.999 -> 1.00; 01:30 < 04:00
    "T3,1,2025-03-02 18:00,Burger,1,9.995,void,4\n"  # void: not demand
)
# Business day 2025-03-01: orders T1, T2 = 2; covers 2 + 1 = 3; net 19.99 + 2.50 + 1.00 = 23.49.
# Business day 2025-03-02: T3 only, a void: no demand, so no row at all.


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    write(folder, "restaurants.csv", RESTAURANTS)
    write(folder, "lines.csv", LINES)
    write(folder, "lines.mapping.toml", MAPPING)
    return folder


def rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    return [
        (r.restaurant_id, r.business_date.date().isoformat(), r.orders, r.covers, r.net_sales_minor)
        for r in frame.itertuples()
    ]


def test_unit_price_mapping_and_restaurants_in_one_command(settings: Settings, files: Path) -> None:
    """restaurants.csv and a mapped file in one command, the mapping given with --mapping (it
    implies the generic format); amounts are quantity x unit price."""
    mapping = files / "lines.mapping.toml"
    data = files / "tickets.txt.csv"
    (files / "lines.csv").rename(data)  # no sibling mapping any more: --mapping must say it
    result = run_cli(
        settings,
        ["import", str(files / "restaurants.csv"), str(data), "--mapping", str(mapping)],
    )
    assert result.exit_code == 0, result.stderr
    assert rows(demand_daily(settings)) == [("r1", "2025-03-01", 2, 3, 2349)]


def test_all_rows_rejected_fails_with_the_reason_and_writes_nothing(
    settings: Settings, files: Path
) -> None:
    assert run_cli(settings, ["import", str(files / "restaurants.csv")]).exit_code == 0
    before = checksums(settings)
    bad = LINES.replace("2025-03-01 12:00", "yesterday").replace("2025-03-0", "03/0")
    write(files, "lines.csv", bad)
    result = run_cli(settings, ["import", str(files / "lines.csv")])
    assert result.exit_code == 2
    assert "every row was rejected (4)" in result.stderr
    assert "field 'sold_at'" in result.stderr and "row 2" in result.stderr
    assert "nothing was imported" in result.stderr
    assert checksums(settings) == before
    assert not list(settings.home.glob("rejects/*"))  # no rejects file for a batch not made


def test_allow_rejects_lets_the_good_rows_in(settings: Settings, files: Path) -> None:
    """A void-only file lands no demand: refused, unless --allow-rejects."""
    assert run_cli(settings, ["import", str(files / "restaurants.csv")]).exit_code == 0
    voids = "\n".join(line for line in LINES.splitlines() if "void" in line or "ticket" in line)
    write(files, "lines.csv", voids + "\n")
    refused = run_cli(settings, ["import", str(files / "lines.csv")])
    assert refused.exit_code == 2
    assert "lands no demand" in refused.stderr
    allowed = run_cli(settings, ["import", str(files / "lines.csv"), "--allow-rejects"])
    assert allowed.exit_code == 0, allowed.stderr
    assert demand_daily(settings).empty


def test_rejects_are_summarised_on_the_terminal_and_in_json(
    sqlite_settings: Settings, files: Path
) -> None:
    bad = (
        LINES + "T5,1,2025-03-01 13:00,Pie,1,abc,sold,1\nT6,1,2025-03-01 14:00,Pie,x,1.00,sold,1\n"
    )
    bad += "T7,1,2025-03-01 15:00,Pie,1,$$,sold,1\n"
    write(files, "lines.csv", bad)
    result = run_cli(sqlite_settings, ["import", str(files)])
    assert result.exit_code == 0, result.stderr
    # two bad unit prices (rows 6 and 8) and one bad quantity (row 7)
    assert "rejected rows: 3, by reason" in result.stderr
    assert "unit_price" in result.stderr and "row 6" in result.stderr
    as_json = run_cli(sqlite_settings, ["import", str(files), "--force", "--json"])
    reasons = json.loads(as_json.stdout)["reject_reasons"]
    assert [(r["field"], r["count"], r["first_row"]) for r in reasons] == [
        ("unit_price", 2, 6),
        ("qty", 1, 7),
    ]


def test_cannot_tell_the_format_says_what_it_saw(sqlite_settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, "export.json", json.dumps({"data": [{"id": 1}], "href": "x"}))
    result = run_cli(sqlite_settings, ["import", str(path)])
    assert result.exit_code == 2
    assert "a JSON object with keys data, href" in result.stderr
    assert "toast" in result.stderr and "clover" in result.stderr and "series" in result.stderr
    assert "row" not in result.stderr.split("cannot tell")[1].split("\n")[0]


def test_dry_run_changes_nothing_and_shows_each_day(settings: Settings, files: Path) -> None:
    assert run_cli(settings, ["import", str(files / "restaurants.csv")]).exit_code == 0
    before = checksums(settings)
    result = run_cli(settings, ["import", str(files), "--dry-run", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert [
        (f["format"], f["restaurants"]) for f in report["files"] if f["status"] == "loaded"
    ] == [
        ("restaurants", []),
        ("csv", ["r1"]),
    ]
    assert [
        (d["restaurant_id"], str(d["business_date"]), d["orders"], d["covers"], d["net_sales"])
        for d in report["days"]
    ] == [("r1", "2025-03-01", 2, 3, 23.49)]
    assert report["days"][0]["orders_before"] == 0
    assert checksums(settings) == before
    text = run_cli(settings, ["import", str(files), "--dry-run"])
    assert "2025-03-01" in text.stdout and "23.49" in text.stdout
    assert "nothing was written" in text.stderr


def test_dry_run_on_a_fresh_home_creates_nothing(sqlite_settings: Settings, files: Path) -> None:
    result = run_cli(sqlite_settings, ["import", str(files), "--dry-run", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["days"][0]["orders"] == 2
    assert not Path(str(sqlite_settings.resolved_database_url).removeprefix("sqlite:///")).exists()


def test_dry_run_reports_what_the_import_would_refuse(
    sqlite_settings: Settings, files: Path
) -> None:
    voids = "\n".join(line for line in LINES.splitlines() if "void" in line or "ticket" in line)
    write(files, "lines.csv", voids + "\n")
    result = run_cli(sqlite_settings, ["import", str(files), "--dry-run"])
    assert result.exit_code == 2
    assert "lands no demand" in result.stderr and "would refuse" in result.stderr


def test_series_of_a_demand_target(settings: Settings, files: Path) -> None:
    """A BI export of daily covers forecasts as --target covers; the series wins on a day that
    also has order lines."""
    series = write(
        files,
        "covers.csv",
        "restaurant_id,date,target,value\nr1,2025-03-01,covers,99\nr1,2025-03-03,covers,40\n",
    )
    assert run_cli(settings, ["import", str(files), str(series)]).exit_code == 0
    db = Database(settings)
    with db.connect() as conn:
        frame = read_series(conn, "covers").data
    db.dispose()
    got = [(r.ds.date().isoformat(), r.y) for r in frame.itertuples()]
    assert got == [("2025-03-01", 99.0), ("2025-03-03", 40.0)]  # 99 over the lines' 3


def test_unknown_series_target_is_refused_at_import(settings: Settings, files: Path) -> None:
    assert run_cli(settings, ["import", str(files / "restaurants.csv")]).exit_code == 0
    series = write(files, "v.csv", "store,day,n\nr1,2025-03-01,10\n")
    flags = ["--map", "restaurant_id=store", "--map", "date=day", "--map", "value=n"]
    result = run_cli(settings, ["import", str(series), *flags, "--target", "covres"])
    assert result.exit_code == 2
    assert "unknown series target 'covres'" in result.stderr and "visitors" in result.stderr
    long = write(files, "l.csv", "restaurant_id,date,target,value\nr1,2025-03-01,guests,10\n")
    refused = run_cli(settings, ["import", str(long)])
    assert refused.exit_code == 2 and "unknown target" in refused.stderr


# ------------------------------------------------------------------ order totals in the rollups


def _orders(rows_: list[tuple[str, str, int | None]]) -> pd.DataFrame:
    opened = pd.to_datetime([t for _, t, _ in rows_], utc=True)
    return pd.DataFrame(
        {
            c.RESTAURANT_ID: "r1",
            c.SOURCE: "till",
            c.ORDER_ID: [o for o, _, _ in rows_],
            c.OPENED_AT_UTC: opened,
            c.BUSINESS_DATE: pd.to_datetime(["2025-03-01"] * len(rows_)),
            c.COVERS: pd.array([2] * len(rows_), dtype="Int64"),
            c.NET_AMOUNT_MINOR: pd.array([n for _, _, n in rows_], dtype="Int64"),
        }
    )


def _lines(rows_: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.RESTAURANT_ID: "r1",
            c.SOURCE: "till",
            c.ORDER_ID: [o for o, _, _, _ in rows_],
            c.LINE_ID: [line for _, line, _, _ in rows_],
            c.PARENT_LINE_ID: None,
            c.TS_UTC: pd.to_datetime(["2025-03-01T17:00:00Z"] * len(rows_), utc=True),
            c.BUSINESS_DATE: pd.to_datetime(["2025-03-01"] * len(rows_)),
            c.ITEM: "x",
            c.CATEGORY: None,
            c.QUANTITY: 1.0,
            c.NET_AMOUNT_MINOR: [n for _, _, n, _ in rows_],
            c.CURRENCY: "USD",
            c.KIND: [k for _, _, _, k in rows_],
        }
    )


def test_order_totals_count_where_an_order_has_no_item_lines(
    settings: Settings, files: Path
) -> None:
    assert run_cli(settings, ["import", str(files / "restaurants.csv")]).exit_code == 0
    at = "2025-03-01T17:00:00Z"
    parsed = ParsedFile(
        path="x",
        format="t",
        rows_read=4,
        orders=_orders([("A", at, 1000), ("B", at, 500), ("C", at, 300), ("D", at, None)]),
        lines=_lines([("B", "1", 450, "sale"), ("C", "r", -300, "refund")]),
    )
    db = Database(settings)
    with db.begin() as conn:
        caps = db.capabilities(conn)
        imports.load_parsed(conn, caps, parsed)
        rollups.refresh(conn, caps, {"r1": (dt.date(2025, 3, 1), dt.date(2025, 3, 1))})
    db.dispose()
    # A: its total (no lines) -> demand, 10.00. B: its lines decide -> 4.50, not its 5.00 total.
    # C: a refund line is not an item line, so its total still counts -> 3.00.
    # D: no total, no lines -> not demand. Orders 3; covers 2 + 2 + 2 = 6; net 1000+450+300.
    assert rows(demand_daily(settings)) == [("r1", "2025-03-01", 3, 6, 1750)]


# -------------------------------------------------------------------- a file's restaurant


NY = "America/New_York"
DIRECTORY = Directory(
    [
        RestaurantInfo("r01", NY, 4, "USD", "toast", "guid-aaa"),
        RestaurantInfo("r02", NY, 4, "USD", "toast", "guid-bbb"),
        RestaurantInfo("r03", NY, 4, "USD", "square", "L1"),
    ]
)


def test_a_file_restaurant_from_what_it_carries_the_option_or_its_folder(tmp_path: Path) -> None:
    ctx = ParseContext(directory=DIRECTORY)
    plain = tmp_path / "orders.json"
    carried = resolve_file_restaurant(plain, ctx, "toast", carried=(("href", "guid-bbb"),))
    assert carried.id == "r02"
    option = ParseContext(directory=DIRECTORY, restaurant="r01")
    assert resolve_file_restaurant(plain, option, "toast").id == "r01"
    folder = tmp_path / "guid-aaa" / "20250301" / "orders.json"
    assert resolve_file_restaurant(folder, ctx, "toast").id == "r01"
    with pytest.raises(ImportFileError, match=r"does not name its restaurant.*--restaurant"):
        resolve_file_restaurant(plain, ctx, "toast")
    with pytest.raises(ImportFileError, match="names location href 'guid-zzz'"):
        resolve_file_restaurant(plain, ctx, "toast", carried=(("href", "guid-zzz"),))
    square_one = ParseContext(directory=DIRECTORY, restaurant="r03")
    with pytest.raises(ImportFileError, match="takes its sales from square"):
        resolve_file_restaurant(plain, square_one, "toast")
    with pytest.raises(ImportFileError, match="header"):
        resolve_file_restaurant(plain, ctx, "toast", why="the restaurant is in a request header")


def test_a_vendor_file_never_lands_in_another_vendors_restaurant() -> None:
    assert DIRECTORY.by_location("square", "L1") is DIRECTORY.by_id("r03")
    assert DIRECTORY.by_location("square", "r03") is DIRECTORY.by_id("r03")  # its own Flux id
    assert DIRECTORY.by_location("square", "r01") is None  # a Toast restaurant's id
    assert DIRECTORY.by_location("csv", "r01") is DIRECTORY.by_id("r01")  # Flux's own formats


def test_currency_precision_comes_from_iso_4217(tmp_path: Path) -> None:
    """Minor units from the ISO 4217 list; an unknown currency is refused, never taken as 2."""
    from pipelines.io.adapters import metadata
    from pipelines.io.adapters.common import currency_exponent

    assert [currency_exponent(x) for x in ("USD", "jpy", "KWD", "CLF")] == [2, 0, 3, 4]
    with pytest.raises(ValueError, match="not an ISO 4217"):
        currency_exponent("ZZZ")
    path = write(
        tmp_path,
        "restaurants.csv",
        RESTAURANTS.replace(",USD\n", ",usd\n").replace(",JPY\n", ",ZZZ\n")
        + "r3,Gold Bar,Asia/Dubai,AE,,4,csv,,XAU\n",
    )
    parsed = metadata.RESTAURANTS.parse(path, ParseContext(directory=Directory([])))
    assert list(parsed.restaurants[c.CURRENCY]) == ["USD"]  # upper-cased
    assert list(zip(parsed.rejects[c.REJECT_ROW], parsed.rejects[c.REJECT_FIELD], strict=True)) == [
        (3, "currency"),  # ZZZ: no such code
        (4, "currency"),  # XAU: gold has no minor unit
    ]
