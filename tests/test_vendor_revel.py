"""Revel: the Data Connector CSVs (format ``revel``) and the REST resources (format ``revel_api``).

Fixtures in ``tests/fixtures/vendors/revel/`` (their README lists the sources field by field):

- ``wide_order.csv``, ``wide_order_item.csv``: Revel Data Connector models, columns from Revel's
  "Data model: wide_order" and "Data model: wide_order_item" pages
  (developer.revelsystems.com/revelsystems/docs/data-model-wide_order, ..._item): ``order_id``
  (int4), ``gross_amount`` = ``net_amount`` + ``discount_amount``, ``net_amount`` ("amount of
  sales without discounts"), ``tax_amount``, ``tax_excluded_amount``, ``service_fee_amount``,
  ``sales_amount``, the ``created_by_employee_*`` / ``last_updated_by_employee_*`` columns,
  ``order_created_at`` and ``order_updated_at`` ("in UTC format", ``2019-10-15 07:13:31``), money
  with six decimals (``219.980000``); ``establishment_id`` as in Revel's ``wide_tax`` model. The
  item columns after the order columns (``order_item_id``, ``created_date``, ``product_name``,
  ``product_class``, ``quantity``, ``price``, ``pure_sales``, ``discount_amount``, ``is_voided``,
  ``is_return``...) and ``number_of_people`` could not be read on the published pages: they follow
  the REST OrderItem's names (below) and are marked [unverified] in docs/formats.md. Written with
  a UTF-8 BOM and CRLF line ends, as a Windows export would be.
- ``orders.json``, ``order_items.json``: ``GET /resources/Order/`` and ``GET /resources/OrderItem/``
  responses in Revel's Tastypie envelope ``{"meta": {limit, next, offset, previous,
  total_count}, "objects": [...]}`` (Revel FAQ "What are the different filtering options":
  ``created_date__gte=2014-12-01T19:58:25``; changelog "Revel 2.76 API Updates": an Order with
  ``"created_by": "/enterprise/User/7/"``, ``"discount_amount": 26.73``, numbers unquoted). Order
  fields (``establishment`` URI, ``created_date``, ``number_of_people``, ``subtotal``,
  ``discount_amount``, ``tax``, ``final_total``, ``closed``, ``is_invoice``, ``deleted``) as a real
  Revel client reads them (a Revel export pipeline's ``build_order_record``, found by code search
  for "pure_sales"); OrderItem fields (``order`` URI, ``product`` URI, ``product_name_override``,
  ``quantity``, ``price``, ``initial_price``, ``pure_sales``, ``discount_amount``,
  ``modifier_amount``, ``tax_amount``, ``voided_by``, ``voided_date``, ``voided_reason``,
  ``deleted``, ``modifieritems`` with ``id``, ``modifier`` URI, ``qty``, ``modifier_price``) as the
  C# Revel client ``Revel._808nd.com.Classes.OrderItem.Create`` and the same Python pipeline's
  ``build_item_record``/``build_modifier_records`` read them. ``created_date`` is local time
  without an offset (the brief for issue 9); one order carries ``+00:00`` to show that such values
  are converted.

Every expected figure below is worked out by hand from the fixture rows (arithmetic in the
comments), never by the code under test. Restaurants: r05 Maple & Rye (America/Toronto, cutoff
04:00, establishment 12), r09 Cedar Hall (America/Vancouver, cutoff 03:00, establishment 14).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters import detect, get, revel, revel_api
from pipelines.io.adapters.base import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    Directory,
    ParseContext,
    ParsedFile,
    RestaurantInfo,
)
from pipelines.settings import Settings
from tests.conftest import load_generator
from tests.helpers import demand_daily, run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "vendors" / "revel"
WIDE_ORDER = FIXTURES / "wide_order.csv"
WIDE_ORDER_ITEM = FIXTURES / "wide_order_item.csv"
ORDERS_JSON = FIXTURES / "orders.json"
ITEMS_JSON = FIXTURES / "order_items.json"
RESTAURANTS = FIXTURES / "restaurants.csv"

DIRECTORY = Directory(
    [
        RestaurantInfo("r05", "America/Toronto", 4, "CAD", "revel", "12"),
        RestaurantInfo("r09", "America/Vancouver", 3, "CAD", "revel", "14"),
        RestaurantInfo("r01", "America/New_York", 4, "USD", "toast", "12"),  # another vendor's 12
    ]
)
CTX = ParseContext(directory=DIRECTORY)
CTX_R05 = ParseContext(directory=DIRECTORY, restaurant="r05")

NA = None


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    out = []
    for rec in frame[columns].itertuples(index=False, name=None):
        out.append(tuple(None if v is pd.NA else v for v in rec))
    return out


def rejects(parsed: ParsedFile) -> list[tuple[int, str]]:
    return [(int(r), str(f)) for r, f in parsed.rejects[[c.REJECT_ROW, c.REJECT_FIELD]].values]


def check_shapes(parsed: ParsedFile) -> None:
    assert tuple(parsed.orders.columns) == ORDER_COLUMNS
    assert tuple(parsed.lines.columns) == LINE_COLUMNS
    assert str(parsed.orders[c.COVERS].dtype) == "Int64"
    assert str(parsed.orders[c.NET_AMOUNT_MINOR].dtype) == "Int64"
    if not parsed.lines.empty:
        assert str(parsed.lines[c.NET_AMOUNT_MINOR].dtype) == "int64"
        assert str(parsed.lines[c.TS_UTC].dtype) == "datetime64[ns, UTC]"
    assert set(parsed.lines[c.SOURCE]) <= {"revel"} and set(parsed.orders[c.SOURCE]) <= {"revel"}


# ------------------------------------------------------------------- Data Connector CSVs


def test_wide_order_alone_gives_orders_covers_and_net_sales() -> None:
    parsed = revel.ADAPTER.parse(WIDE_ORDER, CTX)
    check_shapes(parsed)
    assert parsed.format == "revel" and parsed.lines.empty and parsed.rows_read == 11
    columns = [c.RESTAURANT_ID, c.ORDER_ID, c.OPENED_AT_UTC, c.BUSINESS_DATE, c.COVERS]
    columns.append(c.NET_AMOUNT_MINOR)
    assert rows(parsed.orders, columns) == [
        # 23:30 UTC = 18:30 EST; net_amount 40.500000 (45.00 gross - 4.50 discount); the 5.00
        # service fee and 5.265 tax are not sales
        ("r05", "1001", utc("2025-03-08 23:30"), day("2025-03-08"), 2, 4050),
        # 06:45 UTC = 01:45 EST, the night clocks spring forward (07:00 UTC); before the 04:00
        # cutoff: business day 03-08
        ("r05", "1002", utc("2025-03-09 06:45"), day("2025-03-08"), 1, 2200),
        # 07:30 UTC = 03:30 EDT (after the jump), still before the cutoff: 03-08
        ("r05", "1003", utc("2025-03-09 07:30"), day("2025-03-08"), 3, 1875),
        # 08:10 UTC = 04:10 EDT: 03-09. Comped: gross 16.00, discount 16.00, net 0 -> demand, 0
        ("r05", "1004", utc("2025-03-09 08:10"), day("2025-03-09"), 2, 0),
        ("r05", "1005", utc("2025-03-09 18:00"), day("2025-03-09"), 2, NA),  # is_voided true
        ("r05", "1006", utc("2025-03-09 19:00"), day("2025-03-09"), 0, NA),  # nothing sold: 0/0
        ("r05", "1007", utc("2025-03-09 20:00"), day("2025-03-09"), 0, NA),  # a return: -13.50
        # establishment 14 = r09 (Vancouver, cutoff 03:00): 09:15 UTC = 01:15 PST -> 03-08;
        # 33.333333 -> 3333 cents
        ("r09", "2001", utc("2025-03-09 09:15"), day("2025-03-08"), 4, 3333),
        # 20:00 UTC = 13:00 PDT; 12.345000 rounds half away from zero -> 1235; no guest count
        ("r09", "2002", utc("2025-03-09 20:00"), day("2025-03-09"), NA, 1235),
    ]
    # row 11: establishment 99 is nobody's (r01's "12" is Toast's and never matches Revel rows)
    assert rejects(parsed) == [(11, "establishment_id"), (12, "order_created_at")]
    assert "unknown establishment" in parsed.rejects.loc[0, c.REJECT_REASON]


def test_wide_order_item_lines() -> None:
    parsed = revel.ADAPTER.parse(WIDE_ORDER_ITEM, CTX)
    check_shapes(parsed)
    columns = [c.RESTAURANT_ID, c.ORDER_ID, c.LINE_ID, c.TS_UTC, c.BUSINESS_DATE, c.ITEM]
    columns += [c.CATEGORY, c.QUANTITY, c.NET_AMOUNT_MINOR, c.KIND]
    assert rows(parsed.lines, columns) == [
        # 2 x 15.00 = 30.00 - 3.00 (10% off) = 27.00
        ("r05", "1001", "50001", utc("2025-03-08 23:31"), day("2025-03-08"), "Burger", "Mains",
         2.0, 2700, "sale"),
        ("r05", "1001", "50002", utc("2025-03-08 23:31"), day("2025-03-08"), "Fries", "Sides",
         1.0, 540, "sale"),  # 6.00 - 0.60
        # created_date blank: the order's order_created_at (23:30)
        ("r05", "1001", "50003", utc("2025-03-08 23:30"), day("2025-03-08"), "Beer", "Drinks",
         1.0, 810, "sale"),  # 9.00 - 0.90
        ("r05", "1001", "50004", utc("2025-03-08 23:40"), day("2025-03-08"), "Wings",
         "Starters", 1.0, 1200, "void"),
        ("r05", "1002", "50010", utc("2025-03-09 06:46"), day("2025-03-08"), "Pasta", "Mains",
         1.0, 2200, "sale"),
        ("r05", "1003", "50020", utc("2025-03-09 07:31"), day("2025-03-08"), "Steak", "Mains",
         1.0, 1875, "sale"),
        # pure_sales 0 with 16.00 discount on a 16.00 price: comp
        ("r05", "1004", "50030", utc("2025-03-09 08:11"), day("2025-03-09"), "Brunch Plate",
         "Mains", 1.0, 0, "comp"),
        ("r05", "1005", "50040", utc("2025-03-09 18:01"), day("2025-03-09"), "Salad",
         "Starters", 1.0, 3000, "void"),
        # is_return true, quantity -1, pure_sales -13.50: a refund dated at the return
        ("r05", "1007", "50050", utc("2025-03-09 20:00"), day("2025-03-09"), "Burger", "Mains",
         -1.0, -1350, "refund"),
        ("r09", "2001", "60001", utc("2025-03-09 09:16"), day("2025-03-08"), "Poutine", "Mains",
         1.0, 1200, "sale"),
        # 21.333333 -> 2133
        ("r09", "2001", "60002", utc("2025-03-09 09:16"), day("2025-03-08"), "Ramen", "Mains",
         2.0, 2133, "sale"),
        ("r09", "2002", "60010", utc("2025-03-09 20:01"), day("2025-03-09"), "Latte", "Drinks",
         1.0, 1235, "sale"),
    ]  # fmt: skip
    assert set(parsed.lines[c.CURRENCY]) == {"CAD"}
    assert parsed.lines[c.PARENT_LINE_ID].isna().all()
    # the orders' opening times come from order_created_at; no guest count, no total
    assert rows(parsed.orders, [c.ORDER_ID, c.OPENED_AT_UTC, c.COVERS, c.NET_AMOUNT_MINOR])[:2] == [
        ("1001", utc("2025-03-08 23:30"), NA, NA),
        ("1002", utc("2025-03-09 06:45"), NA, NA),
    ]
    assert rejects(parsed) == [(14, "establishment_id"), (15, "pure_sales")]


def test_file_without_establishment_column(tmp_path: Path) -> None:
    """A per-establishment export without ``establishment_id``: the folder name tells."""
    frame = pd.read_csv(WIDE_ORDER, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame = frame[frame["establishment_id"] == "14"].drop(columns=["establishment_id"])
    path = tmp_path / "wide_order.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ImportFileError) as info:
        revel.ADAPTER.parse(path, CTX)
    assert "establishment_id" in str(info.value) and "--restaurant" in str(info.value)
    (tmp_path / "14").mkdir()
    moved = shutil.move(path, tmp_path / "14" / "wide_order.csv")
    parsed = revel.ADAPTER.parse(Path(moved), CTX)
    assert rows(parsed.orders, [c.RESTAURANT_ID, c.ORDER_ID, c.NET_AMOUNT_MINOR]) == [
        ("r09", "2001", 3333),
        ("r09", "2002", 1235),
    ]
    parsed = revel.ADAPTER.parse(Path(moved), ParseContext(DIRECTORY, restaurant="r05"))
    assert set(parsed.orders[c.RESTAURANT_ID]) == {"r05"}  # --restaurant wins over the folder


def test_missing_required_columns(tmp_path: Path) -> None:
    for source, drop in ((WIDE_ORDER, "net_amount"), (WIDE_ORDER_ITEM, "pure_sales")):
        frame = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        path = tmp_path / source.name
        frame.drop(columns=[drop]).to_csv(path, index=False)
        assert detect(path) is revel.ADAPTER
        with pytest.raises(ImportFileError) as info:
            revel.ADAPTER.parse(path, CTX)
        assert (info.value.row, info.value.field) == (1, drop)


# ---------------------------------------------------------------------------- REST API


def test_rest_orders() -> None:
    parsed = revel_api.ADAPTER.parse(ORDERS_JSON, CTX)
    check_shapes(parsed)
    assert parsed.format == "revel_api" and parsed.lines.empty and parsed.rows_read == 7
    columns = [c.RESTAURANT_ID, c.ORDER_ID, c.OPENED_AT_UTC, c.BUSINESS_DATE, c.COVERS]
    columns.append(c.NET_AMOUNT_MINOR)
    assert rows(parsed.orders, columns) == [
        # 19:05 EDT = 23:05 UTC; subtotal 40.00 - discount_amount 4.00 = 36.00 (tax 4.68 aside)
        ("r05", "7001", utc("2025-11-01 23:05"), day("2025-11-01"), 2, 3600),
        # 01:30 on the fall-back night happens twice: the first (EDT, 05:30 UTC) is taken;
        # before the 04:00 cutoff: business day 11-01
        ("r05", "7002", utc("2025-11-02 05:30"), day("2025-11-01"), 3, 2750),
        # 12:15 EST = 17:15 UTC; 15.00 - 15.00 comp: demand with net 0
        ("r05", "7003", utc("2025-11-02 17:15"), day("2025-11-02"), 1, 0),
        ("r05", "7004", utc("2025-11-02 17:30"), day("2025-11-02"), 8, NA),  # is_invoice
        ("r05", "7005", utc("2025-11-02 17:45"), day("2025-11-02"), 2, NA),  # deleted
        # "2025-11-02T18:00:00+00:00" carries an offset: 13:00 EST; amounts as strings
        ("r05", "7006", utc("2025-11-02 18:00"), day("2025-11-02"), NA, 2250),
    ]
    assert rejects(parsed) == [(7, "establishment")]  # /enterprise/Establishment/99/


def test_rest_order_items() -> None:
    parsed = revel_api.ADAPTER.parse(ITEMS_JSON, CTX_R05)
    check_shapes(parsed)
    assert parsed.orders.empty  # an OrderItem file gives lines; orders come from Order files
    columns = [c.ORDER_ID, c.LINE_ID, c.PARENT_LINE_ID, c.TS_UTC, c.BUSINESS_DATE, c.ITEM]
    columns += [c.QUANTITY, c.NET_AMOUNT_MINOR, c.KIND]
    assert rows(parsed.lines, columns) == [
        # pure_sales 28.80 already holds the Bacon modifier: the modifier line carries 0
        ("7001", "81001", None, utc("2025-11-01 23:06"), day("2025-11-01"), "Burger", 2.0,
         2880, "sale"),
        ("7001", "81001:91001", "81001", utc("2025-11-01 23:06"), day("2025-11-01"), "Bacon",
         1.0, 0, "sale"),
        ("7001", "81002", None, utc("2025-11-01 23:06"), day("2025-11-01"), "Iced Tea", 2.0,
         720, "sale"),
        # a free modifier without a name: named after its modifier URI
        ("7001", "81002:91002", "81002", utc("2025-11-01 23:06"), day("2025-11-01"),
         "modifier 41", 1.0, 0, "sale"),
        # voided_date / voided_by set
        ("7001", "81003", None, utc("2025-11-01 23:07"), day("2025-11-01"), "Wings", 1.0,
         1200, "void"),
        # no product_name_override: the product URI's id; 01:31 EDT -> business day 11-01
        ("7002", "81010", None, utc("2025-11-02 05:31"), day("2025-11-01"), "product 579", 1.0,
         2750, "sale"),
        ("7002", "81050", None, utc("2025-11-02 05:32"), day("2025-11-01"), "Soda", 1.0, 500,
         "void"),  # deleted
        # pure_sales 0 with discount_amount 15.00: comp
        ("7003", "81020", None, utc("2025-11-02 17:16"), day("2025-11-02"), "Brunch", 1.0, 0,
         "comp"),
        ("7006", "81030", None, utc("2025-11-02 18:01"), day("2025-11-02"), "Poutine", 1.0,
         2250, "sale"),
        # quantity -1, pure_sales -14.40: a return, dated 11-03 12:00 EST
        ("7007", "81040", None, utc("2025-11-03 17:00"), day("2025-11-03"), "Burger", -1.0,
         -1440, "refund"),
    ]  # fmt: skip
    assert rejects(parsed) == [(9, "quantity")]


def test_rest_items_need_a_restaurant(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as info:
        revel_api.ADAPTER.parse(ITEMS_JSON, CTX)
    message = str(info.value)
    assert "OrderItem" in message and "--restaurant" in message
    folder = tmp_path / "exports" / "12"  # a folder named after the establishment id
    folder.mkdir(parents=True)
    copy = Path(shutil.copy(ITEMS_JSON, folder / "order_items.json"))
    assert set(revel_api.ADAPTER.parse(copy, CTX).lines[c.RESTAURANT_ID]) == {"r05"}


def test_rest_pages_and_escaped_slashes(tmp_path: Path) -> None:
    """Several pages saved as one array; PHP-style ``\\/`` escapes; items naming an
    establishment; Orders and OrderItems in one file."""
    orders = json.loads(ORDERS_JSON.read_text())
    items = json.loads(ITEMS_JSON.read_text())
    for item in items["objects"]:
        item["establishment"] = "/enterprise/Establishment/12/"
    pages = [orders, items]
    path = tmp_path / "revel_pages.json"
    path.write_text(json.dumps(pages).replace("/", "\\/"), encoding="utf-8")
    assert detect(path) is revel_api.ADAPTER
    parsed = revel_api.ADAPTER.parse(path, CTX)
    assert parsed.rows_read == 7 + 9
    assert len(parsed.orders) == 6 and len(parsed.lines) == 10
    assert rejects(parsed) == [(7, "establishment"), (16, "quantity")]


def test_rest_file_errors(tmp_path: Path) -> None:
    text = ORDERS_JSON.read_text()
    truncated = tmp_path / "orders.json"
    truncated.write_text(text[: len(text) // 2])
    with pytest.raises(ImportFileError) as info:
        revel_api.ADAPTER.parse(truncated, CTX)
    assert info.value.row is not None and info.value.row > 1
    no_objects = tmp_path / "meta_only.json"
    no_objects.write_text(json.dumps({"meta": {"total_count": 0}}))
    with pytest.raises(ImportFileError) as info:
        revel_api.ADAPTER.parse(no_objects, CTX)
    assert info.value.field == "objects"
    other = tmp_path / "payments.json"
    other.write_text(
        json.dumps({"meta": {}, "objects": [{"id": 5, "resource_uri": "/resources/Payment/5/"}]})
    )
    parsed = revel_api.ADAPTER.parse(other, CTX)
    assert rejects(parsed) == [(1, "resource_uri")]
    assert "not a Revel Order or OrderItem" in parsed.rejects.loc[0, c.REJECT_REASON]


# ------------------------------------------------------------------------------ sniffing


def test_each_fixture_is_detected() -> None:
    assert detect(WIDE_ORDER) is revel.ADAPTER
    assert detect(WIDE_ORDER_ITEM) is revel.ADAPTER
    assert detect(ORDERS_JSON) is revel_api.ADAPTER
    assert detect(ITEMS_JSON) is revel_api.ADAPTER
    assert get("revel_api") is revel_api.ADAPTER


def test_other_formats_are_not_taken(tmp_path: Path) -> None:
    """Neither Revel adapter claims any other vendor's sample file (written by the generator)."""
    out = load_generator().generate(
        tmp_path / "s", start=pd.Timestamp("2025-03-01").date(), days=2, seed=3, readme=False
    )
    checked = 0
    for path in sorted(out.rglob("*")):
        if not path.is_file() or "revel" in path.parts or path.suffix == ".toml":
            continue
        found = detect(path)
        assert found not in (revel.ADAPTER, revel_api.ADAPTER), path
        checked += 1
    assert checked >= 8
    other_tables = tmp_path / "wide_order_item_modifier.csv"
    other_tables.write_text("order_id,order_created_at,order_item_id,pure_sales\n")
    assert not revel.ADAPTER.sniff(other_tables, other_tables.read_text())


# ---------------------------------------------------------------- through `flux import`


def _daily(settings: Settings) -> list[tuple[Any, ...]]:
    frame = demand_daily(settings)
    frame["business_date"] = frame["business_date"].dt.strftime("%Y-%m-%d")
    cols = ["restaurant_id", "business_date", "covers", "orders", "net_sales_minor"]
    cols.append("item_quantity")
    return [
        tuple(None if pd.isna(v) else v for v in rec)
        for rec in frame[cols].itertuples(index=False, name=None)
    ]


def _import(settings: Settings, *args: str) -> None:
    result = run_cli(settings, ["import", *args])
    assert result.exit_code == 0, result.stdout + result.stderr


# Expected demand per business day, by hand from the fixture rows:
CSV_ORDERS_ONLY = [
    # 1001 + 1002 + 1003: covers 2 + 1 + 3 = 6; net 40.50 + 22.00 + 18.75 = 81.25
    ("r05", "2025-03-08", 6, 3, 8125, 0.0),
    # 1004 (comp, net 0); 1005 voided, 1006 empty, 1007 a return: not demand
    ("r05", "2025-03-09", 2, 1, 0, 0.0),
    ("r09", "2025-03-08", 4, 1, 3333, 0.0),
    ("r09", "2025-03-09", None, 1, 1235, 0.0),  # 2002 has no guest count
]
CSV_ITEMS_ONLY = [
    # 27.00 + 5.40 + 8.10 (1001; the voided Wings aside) + 22.00 + 18.75 = 81.25;
    # items 2 + 1 + 1 + 1 + 1 = 6
    ("r05", "2025-03-08", None, 3, 8125, 6.0),
    ("r05", "2025-03-09", None, 1, 0, 1.0),  # the comped Brunch Plate
    ("r09", "2025-03-08", None, 1, 3333, 3.0),  # 12.00 + 21.33; 1 + 2 items
    ("r09", "2025-03-09", None, 1, 1235, 1.0),
]
CSV_BOTH = [  # covers from wide_order, money and items from the lines (not added twice)
    ("r05", "2025-03-08", 6, 3, 8125, 6.0),
    ("r05", "2025-03-09", 2, 1, 0, 1.0),
    ("r09", "2025-03-08", 4, 1, 3333, 3.0),
    ("r09", "2025-03-09", None, 1, 1235, 1.0),
]


def test_import_wide_order_alone(settings: Settings) -> None:
    _import(settings, str(RESTAURANTS), str(WIDE_ORDER))
    assert _daily(settings) == CSV_ORDERS_ONLY


def test_import_wide_order_item_alone(settings: Settings) -> None:
    _import(settings, str(RESTAURANTS), str(WIDE_ORDER_ITEM))
    assert _daily(settings) == CSV_ITEMS_ONLY


@pytest.mark.parametrize("items_first", [False, True])
def test_import_both_files_lines_decide(settings: Settings, items_first: bool) -> None:
    _import(settings, str(RESTAURANTS))
    files = [WIDE_ORDER_ITEM, WIDE_ORDER] if items_first else [WIDE_ORDER, WIDE_ORDER_ITEM]
    for path in files:
        _import(settings, str(path))
    assert _daily(settings) == CSV_BOTH


REST_ORDERS_ONLY = [
    # 7001 + 7002: covers 2 + 3; net 36.00 + 27.50 = 63.50
    ("r05", "2025-11-01", 5, 2, 6350, 0.0),
    # 7003 (comp, 0) + 7006 (22.50, no guest count); 7004 invoice, 7005 deleted
    ("r05", "2025-11-02", 1, 2, 2250, 0.0),
]
REST_BOTH = [
    # lines: 28.80 + 7.20 (7001) + 27.50 (7002) = 63.50; items 2 + 2 + 1 = 5
    ("r05", "2025-11-01", 5, 2, 6350, 5.0),
    # 0 (comp Brunch) + 22.50; items 1 + 1; the 11-03 return is not demand
    ("r05", "2025-11-02", 1, 2, 2250, 2.0),
]


def test_import_rest_orders_then_items(settings: Settings) -> None:
    _import(settings, str(RESTAURANTS), str(ORDERS_JSON))
    assert _daily(settings) == REST_ORDERS_ONLY
    _import(settings, str(ITEMS_JSON), "--restaurant", "r05")
    assert _daily(settings) == REST_BOTH


def test_import_rest_items_alone(settings: Settings) -> None:
    _import(settings, str(RESTAURANTS), str(ITEMS_JSON), "--restaurant", "r05")
    assert _daily(settings) == [(r, d, None, o, n, q) for r, d, _, o, n, q in REST_BOTH]


def test_csv_and_rest_share_natural_keys(settings: Settings, tmp_path: Path) -> None:
    """The same Revel items exported both ways are stored once (same order and line ids)."""
    _import(settings, str(RESTAURANTS), str(WIDE_ORDER), str(WIDE_ORDER_ITEM))
    before = _daily(settings)

    def rest_item(item_id: int, local: str, name: str, qty: int, price: str, pure: str) -> Any:
        return {
            "id": item_id,
            "order": "/resources/Order/1001/",
            "establishment": "/enterprise/Establishment/12/",
            "product_name_override": name,
            "quantity": qty,
            "price": price,
            "pure_sales": pure,
            "created_date": local,
            "resource_uri": f"/resources/OrderItem/{item_id}/",
        }

    # the CSV's UTC 23:31 is 18:31 in Toronto (EST)
    doc = {
        "meta": {"total_count": 3},
        "objects": [
            rest_item(50001, "2025-03-08T18:31:00", "Burger", 2, "15.00", "27.00"),
            rest_item(50002, "2025-03-08T18:31:00", "Fries", 1, "6.00", "5.40"),
            rest_item(50003, "2025-03-08T18:31:00", "Beer", 1, "9.00", "8.10"),
        ],
    }
    path = tmp_path / "order_items.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _import(settings, str(path))
    assert _daily(settings) == before == CSV_BOTH
