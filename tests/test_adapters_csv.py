"""The CSV-shaped adapters: Square, Revel, generic CSV/Parquet with a mapping, series, metadata.

Each gets a small handcrafted file with exact expected values (minor units, business dates
including a sale after midnight before the cutoff, DST, kinds, covers, modifiers), rejects with
their row and field, a missing column, a truncated last row, and a property test that arbitrary
text never makes ``parse`` raise anything but ImportFileError (or ConfigError for a mapping).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models import columns as c
from pipelines.errors import ConfigError, ImportFileError
from pipelines.io.adapters import (
    detect,
    generic,
    metadata,
    regressors,
    revel,
    series,
    square,
    toast_export,
)
from pipelines.io.adapters.base import (
    EVENT_COLUMNS,
    LINE_COLUMNS,
    OBSERVATION_COLUMNS,
    ORDER_COLUMNS,
    RESTAURANT_COLUMNS,
    Adapter,
    ColumnMapping,
    Directory,
    ParseContext,
    ParsedFile,
    RestaurantInfo,
)

NY = "America/New_York"
DIRECTORY = Directory(
    [
        RestaurantInfo("r02", NY, 4, "USD", "square", "Main St"),
        RestaurantInfo("r08", "Europe/Berlin", 4, "EUR", "square", "Brauhaus Mitte"),
        RestaurantInfo("r05", "America/Toronto", 4, "CAD", "revel", "12"),
        RestaurantInfo("r06", "Asia/Tokyo", 5, "JPY", "csv", "sakura"),
        RestaurantInfo("r01", NY, 4, "USD", "toast", "Harbor Grill"),
    ]
)
CTX = ParseContext(directory=DIRECTORY)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

LINE_DTYPES = {
    c.TS_UTC: "datetime64[ns, UTC]",
    c.BUSINESS_DATE: "datetime64[ns]",
    c.QUANTITY: "float64",
    c.NET_AMOUNT_MINOR: "int64",
}
ORDER_DTYPES = {
    c.OPENED_AT_UTC: "datetime64[ns, UTC]",
    c.BUSINESS_DATE: "datetime64[ns]",
    c.COVERS: "Int64",
    c.NET_AMOUNT_MINOR: "Int64",
}


def csv_text(rows: list[list[str]], line_end: str = "\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=line_end).writerows(rows)
    return buf.getvalue()


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame[columns].itertuples(index=False)]


def rejects(parsed: ParsedFile) -> list[tuple[int, str]]:
    return records(parsed.rejects, [c.REJECT_ROW, c.REJECT_FIELD])


def check_shapes(parsed: ParsedFile) -> None:
    """Exact columns and dtypes of every frame, whatever the input."""
    assert tuple(parsed.lines.columns) == LINE_COLUMNS
    assert tuple(parsed.orders.columns) == ORDER_COLUMNS
    for frame, dtypes in ((parsed.lines, LINE_DTYPES), (parsed.orders, ORDER_DTYPES)):
        if frame.empty:
            continue
        for name in frame.columns:
            assert str(frame[name].dtype) == dtypes.get(name, "object"), name


# ------------------------------------------------------------------------------- Square

SQUARE_HEADER = [
    "Date", "Time", "Time Zone", "Category", "Item", "Qty", "Price Point Name", "SKU",
    "Modifiers Applied", "Gross Sales", "Discounts", "Net Sales", "Tax", "Transaction ID",
    "Payment ID", "Device Name", "Notes", "Details", "Event Type", "Location", "Dining Option",
    "Customer ID", "Customer Name", "Customer Reference ID", "Unit", "Count", "GTIN",
    "Itemization Type", "Commission", "Employee", "Fulfillment Note", "Channel", "Token",
    "Card Brand", "PAN Suffix",
]  # fmt: skip
"""The Items export's header as of July 2026 (zoetankersley/sunrise_social_club,
data/raw/items-2026-07-18-2026-07-19.csv, line 1). More cases: tests/test_vendor_square.py."""


def square_row(**values: str) -> list[str]:
    row = dict.fromkeys(SQUARE_HEADER, "")
    row.update({"Time Zone": "Eastern Time (US & Canada)", "Location": "Main St"})
    row.update({key.replace("_", " "): value for key, value in values.items()})
    return [row[name] for name in SQUARE_HEADER]


def sale(
    date: str, time: str, item: str, qty: str, gross: str, net: str, txn: str, **kw: str
) -> list[str]:
    return square_row(
        Date=date, Time=time, Category="Food", Item=item, Qty=qty, Gross_Sales=gross,
        Net_Sales=net, Transaction_ID=txn, Event_Type=kw.pop("event", "Payment"), **kw,
    )  # fmt: skip


SQUARE_ROWS = [
    SQUARE_HEADER,
    sale("2025-03-08", "23:15:00", "Burger", "2", "$1,234.50", "$1,234.50", "T1"),  # row 2
    sale("2025-03-09", "01:30:00", "Fries", "1", "$3.00", "$0.00", "T1"),  # 3: comp, day before
    sale("2025-03-09", "02:30:00", "Soda", "1", "$2.00", "$2.00", "T2"),  # 4: skipped hour
    sale("2025-03-10", "12:00:00", "Burger", "-1", "-$5.00", "-$5.00", "T1", event="Refund"),
    sale("2025-03-10", "12:05:00", "Soda", "1", "$2.00", "$2.00", "T2", event="Refund"),  # 6
    sale("2025-03-10", "12:00:00", "Soda", "1", "$2.00", "$2.00", "T3", Location="Elm St"),
    sale("2025-03-10", "12:00:00", "Soda", "1", "$2.00", "abc", "T3"),  # 8: bad money
    sale("2025-02-30", "12:00:00", "Soda", "1", "$2.00", "$2.00", "T3"),  # 9: bad date
    sale("2025-03-10", "12:00:00", "Soda", "two", "$2.00", "$2.00", "T3"),  # 10: bad quantity
    sale("2025-03-10", "12:00:00", "Soda", "1", "$2.00", "$2.00", "T3", event="Void"),  # 11
    sale("2025-03-09", "03:59:59", "Cola", "1", "($0.50)", "$2.50", "T1"),  # 12: T1's third
    sale("2025-03-10", "", "Soda", "1", "$2.00", "$2.00", "T4"),  # 13: no time
]


def test_square_values(tmp_path: Path) -> None:
    text = csv_text(SQUARE_ROWS) + "2025-03-10,12:00:00,Eastern,Food,Soda"  # 14: truncated
    parsed = square.ADAPTER.parse(write(tmp_path, "items.csv", text), CTX)
    check_shapes(parsed)
    assert parsed.format == "square" and parsed.rows_read == 13
    columns = [c.ORDER_ID, c.LINE_ID, c.TS_UTC, c.BUSINESS_DATE, c.ITEM, c.QUANTITY]
    columns += [c.NET_AMOUNT_MINOR, c.KIND]
    assert records(parsed.lines, columns) == [
        ("T1", "T1:1", utc("2025-03-09 04:15"), day("2025-03-08"), "Burger", 2.0, 123450, "sale"),
        ("T1", "T1:2", utc("2025-03-09 06:30"), day("2025-03-08"), "Fries", 1.0, 0, "comp"),
        ("T2", "T2:1", utc("2025-03-09 07:00"), day("2025-03-08"), "Soda", 1.0, 200, "sale"),
        (
            "T1",
            "T1:R1@2025-03-10T12:00:00",
            utc("2025-03-10 16:00"),
            day("2025-03-10"),
            "Burger",
            -1.0,
            -500,
            "refund",
        ),
        (
            "T2",
            "T2:R1@2025-03-10T12:05:00",
            utc("2025-03-10 16:05"),
            day("2025-03-10"),
            "Soda",
            -1.0,
            -200,
            "refund",
        ),
        ("T1", "T1:3", utc("2025-03-09 07:59:59"), day("2025-03-08"), "Cola", 1.0, 250, "sale"),
    ]
    lines = parsed.lines
    assert set(lines[c.RESTAURANT_ID]) == {"r02"} and set(lines[c.SOURCE]) == {"square"}
    assert set(lines[c.CURRENCY]) == {"USD"} and set(lines[c.CATEGORY]) == {"Food"}
    assert lines[c.PARENT_LINE_ID].isna().all()
    assert records(parsed.orders, [c.ORDER_ID, c.OPENED_AT_UTC, c.BUSINESS_DATE]) == [
        ("T1", utc("2025-03-09 04:15"), day("2025-03-08")),
        ("T2", utc("2025-03-09 07:00"), day("2025-03-08")),
    ]
    assert parsed.orders[c.COVERS].isna().all()  # Square has no guest counts: empty, not zero
    assert rejects(parsed) == [
        (7, "Location"),
        (8, "Net Sales"),
        (9, "Date"),
        (10, "Qty"),
        (11, "Event Type"),
        (13, "Time"),
        (14, "Item"),  # the last column the truncated row reached
    ]
    reasons = parsed.rejects.set_index(c.REJECT_ROW)[c.REJECT_REASON]
    assert "'abc'" in reasons[8] and "unknown location" in reasons[7]
    assert parsed.rejects.set_index(c.REJECT_ROW)[c.REJECT_RAW][14].endswith("Food,Soda")


def test_square_euro_and_bom(tmp_path: Path) -> None:
    rows = [
        SQUARE_HEADER,
        sale("2025-10-26", "02:30:00", "Radler 0,5l", "1", "€4.90", "€4.90", "B1",
             Location="Brauhaus Mitte"),
    ]  # fmt: skip
    parsed = square.ADAPTER.parse(write(tmp_path, "items.csv", "\ufeff" + csv_text(rows)), CTX)
    # 02:30 happens twice in Berlin that night: the first (summer time, UTC+2) is taken
    assert records(parsed.lines, [c.RESTAURANT_ID, c.ITEM, c.TS_UTC, c.BUSINESS_DATE]) == [
        ("r08", "Radler 0,5l", utc("2025-10-26 00:30"), day("2025-10-25"))
    ]
    assert records(parsed.lines, [c.NET_AMOUNT_MINOR, c.CURRENCY]) == [(490, "EUR")]


def test_square_missing_column(tmp_path: Path) -> None:
    header = [name for name in SQUARE_HEADER if name != "Net Sales"]
    path = write(tmp_path, "items.csv", csv_text([header]))
    with pytest.raises(ImportFileError) as info:
        square.ADAPTER.parse(path, CTX)
    assert (info.value.row, info.value.field) == (1, "Net Sales")


def test_square_sniff(tmp_path: Path) -> None:
    path = write(tmp_path, "items.csv", csv_text(SQUARE_ROWS[:2]))
    assert square.ADAPTER.sniff(path, path.read_text())
    assert detect(path) is square.ADAPTER
    assert not square.ADAPTER.sniff(path, "order_id,establishment_id\n")


def test_square_sniff_tolerates_a_missing_column_or_wrong_encoding(tmp_path: Path) -> None:
    """A damaged export is recognised, then fails loudly instead of being skipped."""
    renamed = ["Txn" if name == "Transaction ID" else name for name in SQUARE_HEADER]
    path = write(tmp_path, "renamed.csv", csv_text([renamed]))
    assert detect(path) is square.ADAPTER
    with pytest.raises(ImportFileError, match="Transaction ID"):
        square.ADAPTER.parse(path, CTX)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(csv_text(SQUARE_ROWS[:3]).encode("utf-16"))
    assert detect(utf16) is square.ADAPTER
    with pytest.raises(ImportFileError, match="encoding") as info:
        square.ADAPTER.parse(utf16, CTX)
    assert info.value.row == 1


# -------------------------------------------------------------------------------- Revel
# Revel Data Connector models "wide_order" / "wide_order_item" (developer.revelsystems.com,
# Data Dictionary): the order columns as published; establishment_id as in wide_tax; the item
# columns and number_of_people as the REST OrderItem/Order name them (see
# tests/fixtures/vendors/revel/README.md). Full cases are in tests/test_vendor_revel.py.

REVEL_ORDER_HEADER = [
    "order_id", "gross_amount", "net_amount", "tax_amount", "tax_excluded_amount",
    "discount_amount", "service_fee_amount", "sales_amount", "created_by_employee_first_name",
    "created_by_employee_last_name", "order_created_at", "order_updated_at", "establishment_id",
    "number_of_people",
]  # fmt: skip
REVEL_ITEM_HEADER = [
    "order_id", "order_created_at", "order_updated_at", "establishment_id", "order_item_id",
    "created_date", "product_name", "product_class", "quantity", "price", "pure_sales",
    "discount_amount", "tax_amount", "is_voided", "void_reason", "is_return", "return_reason",
]  # fmt: skip


def revel_order(
    order_id: str, created: str, people: str, net: str = "18.000000", location: str = "12"
) -> list[str]:
    return [order_id, "20.000000", net, "2.340000", "0.000000", "2.000000", "0.000000",
            "20.000000", "Ana", "Silva", created, created, location, people]  # fmt: skip


def revel_item(
    item_id: str,
    created: str,
    name: str,
    qty: str,
    price: str,
    net: str,
    discount: str = "0.000000",
    *,
    voided: str = "false",
    returned: str = "false",
    order_id: str = "100",
) -> list[str]:
    return [order_id, "2025-01-15 07:30:00", "2025-01-15 07:30:00", "12", item_id, created, name,
            "Mains", qty, price, net, discount, "0.000000", voided, "", returned, ""]  # fmt: skip


def test_revel_orders(tmp_path: Path) -> None:
    rows = [
        REVEL_ORDER_HEADER,
        revel_order("100", "2025-01-15 07:30:00", "3"),  # 02:30 in Toronto: the day before
        revel_order("101", "2025-01-15 20:00:00", ""),  # no guest count
        revel_order("102", "2025-01-15 20:00:00", "2", location="99"),
        revel_order("103", "2025-01-15 20:00:00", "two"),
        revel_order("104", "2025-01-15 25:00:00", "2"),
        revel_order("105", "2025-01-15 20:00:00", "-1"),
        revel_order("106", "2025-01-15 20:00:00", "2", net="18,00"),
    ]
    parsed = revel.ADAPTER.parse(write(tmp_path, "wide_order.csv", csv_text(rows)), CTX)
    check_shapes(parsed)
    assert parsed.lines.empty
    columns = [c.RESTAURANT_ID, c.SOURCE, c.ORDER_ID, c.OPENED_AT_UTC, c.BUSINESS_DATE]
    assert records(parsed.orders, columns) == [
        ("r05", "revel", "100", utc("2025-01-15 07:30"), day("2025-01-14")),
        ("r05", "revel", "101", utc("2025-01-15 20:00"), day("2025-01-15")),
    ]
    assert parsed.orders[c.COVERS].tolist() == [3, pd.NA]
    # net_amount 18.000000 (gross 20.00 - discount 2.00): the order's total in cents
    assert parsed.orders[c.NET_AMOUNT_MINOR].tolist() == [1800, 1800]
    assert rejects(parsed) == [
        (4, "establishment_id"),
        (5, "number_of_people"),
        (6, "order_created_at"),
        (7, "number_of_people"),
        (8, "net_amount"),
    ]


def test_revel_items(tmp_path: Path) -> None:
    rows = [
        REVEL_ITEM_HEADER,
        revel_item("1", "2025-01-15 07:31:00", "Burger", "2", "9.000000", "18.000000"),
        revel_item("3", "2025-01-15 07:32:00", "Soda", "2", "2.50", "0.00", "5.00"),  # comp
        revel_item("4", "2025-01-15 07:33:00", "Fries", "1", "4.00", "4.00", voided="True"),
        revel_item("5", "2025-01-16 18:00:00", "Burger", "1", "9.00", "9.00", returned="true"),
        revel_item("6", "2025-01-16 18:00:00", "Burger", "1", "9.00", "abc"),
        revel_item("7", "2025-01-16 18:00:00", "Burger", "1", "9.00", "9.00", voided="maybe"),
        revel_item("8", "", "Salad", "1", "9.00", "8.00", "1.00"),  # the order's time
    ]
    text = csv_text(rows, "\r\n") + "100,2025-01-15 07:30:00,2025-01-15 07:30:00,12,9"
    parsed = revel.ADAPTER.parse(write(tmp_path, "wide_order_item.csv", text), CTX)
    check_shapes(parsed)
    columns = [c.LINE_ID, c.PARENT_LINE_ID, c.TS_UTC, c.BUSINESS_DATE, c.ITEM, c.QUANTITY]
    columns += [c.NET_AMOUNT_MINOR, c.KIND]
    assert records(parsed.lines, columns) == [
        ("1", None, utc("2025-01-15 07:31"), day("2025-01-14"), "Burger", 2.0, 1800, "sale"),
        ("3", None, utc("2025-01-15 07:32"), day("2025-01-14"), "Soda", 2.0, 0, "comp"),
        ("4", None, utc("2025-01-15 07:33"), day("2025-01-14"), "Fries", 1.0, 400, "void"),
        ("5", None, utc("2025-01-16 18:00"), day("2025-01-16"), "Burger", -1.0, -900, "refund"),
        ("8", None, utc("2025-01-15 07:30"), day("2025-01-14"), "Salad", 1.0, 800, "sale"),
    ]
    assert set(parsed.lines[c.CURRENCY]) == {"CAD"} and set(parsed.lines[c.ORDER_ID]) == {"100"}
    assert records(parsed.orders, [c.ORDER_ID, c.OPENED_AT_UTC]) == [
        ("100", utc("2025-01-15 07:30"))
    ]
    # row 9 is truncated after order_item_id
    assert rejects(parsed) == [(6, "pure_sales"), (7, "is_voided"), (9, "order_item_id")]


def test_revel_missing_column_and_sniff(tmp_path: Path) -> None:
    header = [name for name in REVEL_ITEM_HEADER if name != "pure_sales"]
    path = write(tmp_path, "wide_order_item.csv", csv_text([header]))
    with pytest.raises(ImportFileError) as info:
        revel.ADAPTER.parse(path, CTX)
    assert (info.value.row, info.value.field) == (1, "pure_sales")
    for name, header in (("a.csv", REVEL_ORDER_HEADER), ("b.csv", REVEL_ITEM_HEADER)):
        path = write(tmp_path, name, csv_text([header]))
        assert detect(path) is revel.ADAPTER


# ------------------------------------------------------------------------------ generic

MAPPING = """
source = "sakura_pos"          # source-system label stored on each line
restaurant = "r06"
timestamp_format = "%Y-%m-%d %H:%M"
timezone = "local"
money = "minor"

[columns]
order_id = "ticket"
line_id = "line"
timestamp = "sold_at"
item = "menu_item"
category = "menu_category"
quantity = "qty"
amount = "amount_jpy"
kind = "status"
covers = "guests"
parent_line_id = "parent_line"

[kinds]
sold = "sale"
void = "void"
refund = "refund"
comp = "comp"
"""
GENERIC_HEADER = (
    "ticket,line,sold_at,menu_item,menu_category,qty,amount_jpy,status,guests,parent_line"
)
GENERIC_ROWS = [
    "T1,1,2025-01-15 01:30,味噌ラーメン,ラーメン,1,1050,sold,,",  # 2: 01:30 < cutoff 5
    "T1,2,2025-01-15 01:30,Egg,Toppings,1,150,sold,2,1",  # 3: modifier; first guest count
    "T1,3,2025-01-15 01:31,Gyoza,Sides,1,0,COMP,3,",  # 4: later guest counts do not count
    "T1,4,2025-01-15 01:31,Tea,Drinks,1,300,void,2,",  # 5
    "T2,1,2025-01-16 12:00,Ramen,Noodles,1,1200,refund,,",  # 6: positive in the file
    "T2,2,2025-01-16 12:00,Ramen,Noodles,1,1200,bogus,,",  # 7: unknown kind
    "T2,3,2025-01-16 25:00,Ramen,Noodles,1,1200,sold,,",  # 8: bad time
    "T2,4,2025-01-16 12:00,Ramen,Noodles,1,12.5,sold,,",  # 9: not whole minor units
    "T2,5,2025-01-16 12:00,Ramen,Noodles,1,100,sold,many,",  # 10: bad covers
    "T3,1,2025-01-16 12:00,Ramen",  # 11: truncated
]


def generic_file(tmp_path: Path, rows: list[str] = GENERIC_ROWS, stem: str = "lines") -> Path:
    write(tmp_path, f"{stem}.mapping.toml", MAPPING)
    return write(tmp_path, f"{stem}.csv", "\n".join([GENERIC_HEADER, *rows]) + "\n")


def test_generic_values(tmp_path: Path) -> None:
    parsed = generic.ADAPTER.parse(generic_file(tmp_path), CTX)
    check_shapes(parsed)
    assert parsed.format == "csv"
    columns = [c.ORDER_ID, c.LINE_ID, c.PARENT_LINE_ID, c.TS_UTC, c.BUSINESS_DATE, c.ITEM]
    columns += [c.QUANTITY, c.NET_AMOUNT_MINOR, c.KIND]
    assert records(parsed.lines, columns) == [
        (
            "T1",
            "1",
            None,
            utc("2025-01-14 16:30"),
            day("2025-01-14"),
            "味噌ラーメン",
            1.0,
            1050,
            "sale",
        ),
        ("T1", "2", "1", utc("2025-01-14 16:30"), day("2025-01-14"), "Egg", 1.0, 150, "sale"),
        ("T1", "3", None, utc("2025-01-14 16:31"), day("2025-01-14"), "Gyoza", 1.0, 0, "comp"),
        ("T1", "4", None, utc("2025-01-14 16:31"), day("2025-01-14"), "Tea", 1.0, 300, "void"),
        (
            "T2",
            "1",
            None,
            utc("2025-01-16 03:00"),
            day("2025-01-16"),
            "Ramen",
            -1.0,
            -1200,
            "refund",
        ),
    ]
    assert set(parsed.lines[c.SOURCE]) == {"sakura_pos"} and set(parsed.lines[c.CURRENCY]) == {
        "JPY"
    }
    columns = [c.RESTAURANT_ID, c.ORDER_ID, c.OPENED_AT_UTC, c.BUSINESS_DATE, c.COVERS]
    assert records(parsed.orders, columns) == [
        ("r06", "T1", utc("2025-01-14 16:30"), day("2025-01-14"), 2),
        ("r06", "T2", utc("2025-01-16 03:00"), day("2025-01-16"), pd.NA),
    ]
    assert rejects(parsed) == [
        (7, "status"),
        (8, "sold_at"),
        (9, "amount_jpy"),
        (10, "guests"),
        (11, "menu_item"),
    ]


def test_generic_sniff_and_gzip_sibling(tmp_path: Path) -> None:
    import gzip

    write(tmp_path, "sakura_lines.mapping.toml", MAPPING)
    path = tmp_path / "sakura_lines.csv.gz"
    path.write_bytes(gzip.compress("\n".join([GENERIC_HEADER, *GENERIC_ROWS[:2]]).encode()))
    assert generic.mapping_path(path) == tmp_path / "sakura_lines.mapping.toml"
    assert detect(path) is generic.ADAPTER
    assert len(generic.ADAPTER.parse(path, CTX).lines) == 2
    lonely = write(tmp_path, "other.csv", GENERIC_HEADER + "\n")
    assert not generic.ADAPTER.sniff(lonely, GENERIC_HEADER)
    with pytest.raises(ConfigError, match=r"other\.mapping\.toml"):
        generic.ADAPTER.parse(lonely, CTX)


def test_generic_missing_mapped_column(tmp_path: Path) -> None:
    path = generic_file(tmp_path)
    path.write_text(GENERIC_HEADER.replace("sold_at", "when") + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        generic.ADAPTER.parse(path, CTX)
    assert (info.value.row, info.value.field) == (1, "sold_at")


def test_generic_flags_utc_decimal_and_derived_line_ids(tmp_path: Path) -> None:
    text = "store,ticket,when,what,euros\nsakura,A,2025-01-15T01:00:00Z,Ramen,12.50\n"
    text += "sakura,A,2025-01-15T01:05:00,Tea,3\nnowhere,B,2025-01-15T01:05:00,Tea,3\n"
    path = write(tmp_path, "x.csv", text)
    mapping = generic.mapping_from_flags(
        ["restaurant_id=store", "order_id=ticket", "timestamp=when", "item=what",
         "amount=euros", "timezone=utc", "money=decimal", "source=pos9"],
        None,
    )  # fmt: skip
    parsed = generic.ADAPTER.parse(path, ParseContext(DIRECTORY, mapping=mapping))
    columns = [c.RESTAURANT_ID, c.SOURCE, c.LINE_ID, c.TS_UTC, c.BUSINESS_DATE]
    columns += [c.QUANTITY, c.NET_AMOUNT_MINOR, c.KIND, c.CATEGORY]
    assert records(parsed.lines, columns) == [
        ("r06", "pos9", "A:1", utc("2025-01-15 01:00"), day("2025-01-15"), 1.0, 13, "sale", None),
        ("r06", "pos9", "A:2", utc("2025-01-15 01:05"), day("2025-01-15"), 1.0, 3, "sale", None),
    ]  # JPY has no minor unit: 12.50 rounds to 13
    assert parsed.orders[c.COVERS].isna().all()
    assert rejects(parsed) == [(4, "store")]
    offset = generic.mapping_from_flags(["timezone=offset"], mapping)
    parsed = generic.ADAPTER.parse(path, ParseContext(DIRECTORY, mapping=offset))
    assert rejects(parsed) == [(3, "when"), (4, "store")]  # no offset on row 3


def test_generic_parquet(tmp_path: Path) -> None:
    table = pa.table(
        {
            "ticket": ["A", "A", "B"],
            "at": pd.to_datetime(["2025-01-15 01:00", "2025-01-15 06:00", "2300-01-01 00:00"]),
            "item": ["Ramen", "Tea", "Tea"],
            "yen": [1050, 300, 300],
            "qty": [1.0, 2.5, 1.0],
            "guests": [None, 3, None],
        }
    )
    path = tmp_path / "lines.parquet"
    pq.write_table(table, path)
    mapping = generic.mapping_from_flags(
        ["order_id=ticket", "timestamp=at", "item=item", "amount=yen", "quantity=qty",
         "covers=guests", "restaurant=r06", "money=minor"],
        None,
    )  # fmt: skip
    parsed = generic.ADAPTER.parse(path, ParseContext(DIRECTORY, mapping=mapping))
    check_shapes(parsed)
    columns = [c.LINE_ID, c.TS_UTC, c.BUSINESS_DATE, c.QUANTITY, c.NET_AMOUNT_MINOR]
    assert records(parsed.lines, columns) == [
        ("A:1", utc("2025-01-14 16:00"), day("2025-01-14"), 1.0, 1050),
        ("A:2", utc("2025-01-14 21:00"), day("2025-01-15"), 2.5, 300),
    ]
    assert parsed.orders[c.COVERS].tolist() == [3]
    assert rejects(parsed) == [(3, "at")]  # Parquet rows count from 1
    with pytest.raises(ImportFileError) as info:
        generic.ADAPTER.parse(
            path, ParseContext(DIRECTORY, mapping=generic.mapping_from_flags(["item=x"], mapping))
        )
    assert info.value.field == "x"


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("source = ", "not a valid TOML"),
        ('colour = "red"', "unknown key 'colour'"),
        ('[columns]\nticket_no = "t"', "columns.ticket_no: unknown field"),
        ('[kinds]\nsold = "sold"', "kinds.sold"),
        ('timezone = "mars"', "timezone"),
        ('money = "cents"', "money"),
        ("[columns]\norder_id = 3", "columns.order_id must be a non-empty string"),
        ('timestamp_format = "%Y-%m-%d %Q"', "timestamp_format"),
    ],
)
def test_bad_mappings(tmp_path: Path, toml: str, match: str) -> None:
    path = write(tmp_path, "m.toml", toml)
    with pytest.raises(ConfigError, match=match) as info:
        generic.load_mapping(path)
    assert str(path) in str(info.value)


def test_mapping_from_flags() -> None:
    base = ColumnMapping(columns={"order_id": "ticket"}, source="pos", kinds={"sold": "sale"})
    got = generic.mapping_from_flags(["item = dish", "kinds.gone=void", "money=minor"], base)
    assert got.columns == {"order_id": "ticket", "item": "dish"}
    assert got.kinds == {"sold": "sale", "gone": "void"}
    assert (got.source, got.money, got.timezone) == ("pos", "minor", "local")
    assert base.columns == {"order_id": "ticket"}  # the base is not changed
    for bad in ("order_id", "colour=red", "=x", "kinds.x=sold"):
        with pytest.raises(ConfigError):
            generic.mapping_from_flags([bad], base)


def test_generic_mapping_without_required_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "a,b,c,d\n1,2,3,4\n")
    mapping = generic.mapping_from_flags(["order_id=a", "timestamp=b", "item=c"], None)
    with pytest.raises(ConfigError, match="'amount'"):
        generic.ADAPTER.parse(path, ParseContext(DIRECTORY, mapping=mapping))
    mapping = generic.mapping_from_flags(["amount=d"], mapping)
    with pytest.raises(ConfigError, match="restaurant"):
        generic.ADAPTER.parse(path, ParseContext(DIRECTORY, mapping=mapping))
    mapping = generic.mapping_from_flags(["restaurant=r99"], mapping)
    with pytest.raises(ImportFileError, match="r99"):
        generic.ADAPTER.parse(path, ParseContext(DIRECTORY, mapping=mapping))


# ------------------------------------------------------------------------------- series


def test_series_long(tmp_path: Path) -> None:
    text = (
        "restaurant_id,date,target,value\n"
        "r05,2025-01-01,visitors,10\n"
        "r05,2025-01-02,visitors,-1\n"
        "zz,2025-01-02,visitors,1\n"
        "r06,2025-01-03,visitors,\n"
        "r06,2025-01-03,visitors,x\n"
        "r06,2025-13-03,visitors,1\n"
        "r06,2025-01-04,,1\n"
        "r06,2025-01-04,orders,2.5\n"
        "r05,2025-01-01,visitors,12\n"
    )
    path = write(tmp_path, "s.csv", text)
    assert detect(path) is series.ADAPTER
    parsed = series.ADAPTER.parse(path, CTX)
    assert tuple(parsed.observations.columns) == OBSERVATION_COLUMNS
    assert records(parsed.observations, list(OBSERVATION_COLUMNS)) == [
        ("r05", day("2025-01-01"), "visitors", 10.0),
        ("r06", day("2025-01-04"), "orders", 2.5),
        ("r05", day("2025-01-01"), "visitors", 12.0),  # repeated day: kept; the loader decides
    ]
    assert str(parsed.observations[c.DATE].dtype) == "datetime64[ns]"
    assert str(parsed.observations[c.VALUE].dtype) == "float64"
    assert rejects(parsed) == [
        (3, "value"),
        (4, "restaurant_id"),
        (5, "value"),
        (6, "value"),
        (7, "date"),
        (8, "target"),
    ]


def test_series_with_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "air.csv", "air_store_id,visit_date,visitors\nsakura,2016-01-13,25\n")
    mapping = generic.mapping_from_flags(
        ["restaurant_id=air_store_id", "date=visit_date", "value=visitors"], None
    )
    mapping = dataclasses.replace(mapping, target="visitors")  # what --target sets
    parsed = series.ADAPTER.parse(path, ParseContext(DIRECTORY, mapping=mapping))
    assert records(parsed.observations, list(OBSERVATION_COLUMNS)) == [
        ("r06", day("2016-01-13"), "visitors", 25.0)
    ]
    with pytest.raises(ImportFileError) as info:
        series.ADAPTER.parse(path, CTX)
    assert info.value.field == "restaurant_id"


# ----------------------------------------------------------------------------- metadata

RESTAURANTS_HEADER = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency"
)
RESTAURANTS_CSV = f"""{RESTAURANTS_HEADER}
r01,Main,America/New_York,US,NY,4,square,Main St,USD
r02,,Europe/Berlin,de,be,0,,,eur
r03,X,Mars/Base,US,,4,,,USD
r04,X,UTC,XX,,4,,,USD
r05,X,UTC,US,ZZ,4,,,USD
r06,X,UTC,US,,13,,,USD
r07,X,UTC,US,,4.5,,,USD
r08,X,UTC,US,,4,foo,,USD
r09,X,UTC,US,,4,,,US
r01,X,UTC,US,,4,,,USD
r10,X,UTC,US,,4,Square,Main St,USD
,X,UTC,US,,4,,,USD
r11,Tokyo,Asia/Tokyo,JP,,12,csv,,JPY
"""


def test_restaurants(tmp_path: Path) -> None:
    path = write(tmp_path, "restaurants.csv", RESTAURANTS_CSV)
    assert detect(path) is metadata.RESTAURANTS
    parsed = metadata.RESTAURANTS.parse(path, ParseContext(Directory([])))
    frame = parsed.restaurants
    # the tenant: the import's (``default``) where the file has no tenant column
    assert tuple(frame.columns) == (*RESTAURANT_COLUMNS, "tenant_id")
    assert set(frame["tenant_id"]) == {"default"}
    assert records(frame, list(RESTAURANT_COLUMNS)) == [
        ("r01", "Main", "America/New_York", "US", "NY", 4, "square", "Main St", "USD"),
        ("r02", "r02", "Europe/Berlin", "DE", "BE", 0, None, None, "EUR"),
        ("r11", "Tokyo", "Asia/Tokyo", "JP", None, 12, "csv", None, "JPY"),
    ]
    assert str(frame[c.CUTOFF_HOUR].dtype) == "int64"
    assert rejects(parsed) == [
        (4, "timezone"),
        (5, "country"),
        (6, "subdivision"),
        (7, "cutoff_hour"),
        (8, "cutoff_hour"),
        (9, "pos_provider"),
        (10, "currency"),
        (11, "restaurant_id"),
        (12, "pos_location_id"),
        (13, "restaurant_id"),
    ]


def test_restaurants_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path, "restaurants.csv", "restaurant_id,name,timezone,country,currency\n")
    with pytest.raises(ImportFileError) as info:
        metadata.RESTAURANTS.parse(path, CTX)
    assert (info.value.row, info.value.field) == (1, "cutoff_hour")


EVENTS_CSV = """restaurant_id,kind,name,start_date,end_date,lower_window,upper_window
,holiday,New Year,2025-01-01,2025-01-01,-1,1
r05,closure,Renovation,2025-02-01,2025-02-07,,
r05,Event,,2025-03-01,,0,2
r05,party,X,2025-02-01,,,
r05,event,X,2025-02-08,2025-02-01,,
r05,event,X,2025-02-30,,,
r05,event,X,2025-02-01,,1,
r05,event,X,2025-02-01,,,-1
r05,event,X,2025-02-01,,x,
zz,event,X,2025-02-01,,,
r05,event,X,01/02/2025,,,
"""


def test_events_missing_column(tmp_path: Path) -> None:
    path = write(
        tmp_path, "events.csv", "restaurant_id,kind,name,end_date\n,holiday,X,2025-01-01\n"
    )
    with pytest.raises(ImportFileError) as info:
        metadata.EVENTS.parse(path, CTX)
    assert (info.value.row, info.value.field) == (1, "start_date")


def test_events(tmp_path: Path) -> None:
    path = write(tmp_path, "events.csv", EVENTS_CSV)
    assert detect(path) is metadata.EVENTS
    parsed = metadata.EVENTS.parse(path, CTX)
    frame = parsed.events
    assert tuple(frame.columns) == EVENT_COLUMNS
    assert records(frame, list(EVENT_COLUMNS)) == [
        (None, "holiday", "New Year", day("2025-01-01"), day("2025-01-01"), -1, 1),
        ("r05", "closure", "Renovation", day("2025-02-01"), day("2025-02-07"), 0, 0),
        ("r05", "event", "event", day("2025-03-01"), day("2025-03-01"), 0, 2),
    ]
    assert [str(frame[n].dtype) for n in EVENT_COLUMNS[3:]] == ["datetime64[ns]"] * 2 + [
        "int64"
    ] * 2
    assert rejects(parsed) == [
        (5, "kind"),
        (6, "end_date"),
        (7, "start_date"),
        (8, "lower_window"),
        (9, "upper_window"),
        (10, "lower_window"),
        (11, "restaurant_id"),
        (12, "start_date"),
    ]


def test_detection_tells_the_csv_formats_apart(tmp_path: Path) -> None:
    headers = {
        "restaurants": RESTAURANTS_HEADER.split(","),
        "events": EVENTS_CSV.splitlines()[0].split(","),
        "square": SQUARE_HEADER,
        "revel": REVEL_ORDER_HEADER,
        "series": ["restaurant_id", "date", "target", "value"],
        "regressors": list(regressors.COLUMNS),
    }
    for expected, header in headers.items():
        path = write(tmp_path, f"{expected}.csv", csv_text([header]))
        found = detect(path)
        assert found is not None and found.name == expected
    # Toast's data export files (each named data.csv: told apart by their header alone)
    for header in TOAST_EXPORT_HEADERS.values():
        found = detect(write(tmp_path, "data.csv", csv_text([list(header)])))
        assert found is toast_export.ADAPTER
    for header in headers.values():  # and no other format's file is taken for one
        assert not toast_export.ADAPTER.sniff(tmp_path / "x.csv", csv_text([header]))
    assert detect(write(tmp_path, "items.csv", csv_text([REVEL_ITEM_HEADER]))) is revel.ADAPTER
    assert detect(write(tmp_path, "other.csv", "a,b,c\n1,2,3\n")) is None


# ------------------------------------------------------------------ no other exceptions

# Toast's data export files (the real ones are tested in tests/test_vendor_toast.py)
TOAST_EXPORT_HEADERS: dict[str, tuple[str, ...]] = {
    "items": toast_export.Items.HEADER,
    "orders": toast_export.Orders.HEADER,
    "checks": toast_export.Checks.HEADER,
    "payments": toast_export.Payments.HEADER,
}

VALUES = st.sampled_from(
    ["", " ", "1", "-1", "2.5", "0", "x", "$1,234.50", "-$2.00", "($2.00)", "€12", "abc",
     "2025-03-09", "2025-03-09 02:30:00", "2025-03-09T02:30:00+05:00", "02:30:00", "25:61",
     "2025-02-30", "9999-12-31", "0001-01-01 00:00:00", "Payment", "Refund", "true", "maybe",
     "Main St", "12", "r05", "r06", "sakura", "sold", "void", "comp", "refund", "1e309", "nan",
     "03/11/2025 12:10:05", "3/9/25 2:30 AM", "12:10 PM", "03/11/25", "Harbor Grill", "false",
     "inf", "NaN", "\u00e9", "1" * 30, '"', "a,b", "Z", "T1",
     # Square: older dates, 12-hour times, the Details link, Category and Itemization Type values
     "11/15/2017", "13/45/2017", "9:05 PM", "12:00 AM", "13:00 PM", "None", "Gift Card",
     "https://app.squareup.com/dashboard/sales/transactions/T1/by-unit/Main St", "1.0", "-2.0"]
)  # fmt: skip


def fuzz_text(header: list[str]) -> st.SearchStrategy[str]:
    """CSV text: the adapter's header (or part of it) and rows of plausible or hostile values."""
    rows = st.lists(st.lists(VALUES, min_size=0, max_size=len(header) + 1), max_size=6)
    garbage = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)

    def render(head: list[str], body: list[list[str]], tail: str) -> str:
        return csv_text([head, *body]) + tail

    return st.one_of(
        garbage,
        st.builds(render, st.just(header), rows, st.sampled_from(["", "x,", '"unterminated'])),
        st.builds(
            render,
            st.permutations(header).map(lambda h: h[: max(1, len(h) - 1)]),
            rows,
            st.just(""),
        ),
    )


FUZZ_CASES: dict[str, tuple[Adapter, list[str], ColumnMapping | None]] = {
    "square": (square.ADAPTER, SQUARE_HEADER, None),
    "revel_orders": (revel.ADAPTER, REVEL_ORDER_HEADER, None),
    "revel_items": (revel.ADAPTER, REVEL_ITEM_HEADER, None),
    "generic": (
        generic.ADAPTER,
        GENERIC_HEADER.split(","),
        generic.mapping_from_flags(
            [
                "order_id=ticket",
                "line_id=line",
                "timestamp=sold_at",
                "item=menu_item",
                "amount=amount_jpy",
                "kind=status",
                "covers=guests",
                "parent_line_id=parent_line",
                "restaurant=r06",
                "quantity=qty",
            ],
            None,
        ),
    ),
    "series": (series.ADAPTER, ["restaurant_id", "date", "target", "value"], None),
    "restaurants": (metadata.RESTAURANTS, RESTAURANTS_CSV.splitlines()[0].split(","), None),
    "events": (metadata.EVENTS, EVENTS_CSV.splitlines()[0].split(","), None),
    "regressors": (regressors.ADAPTER, list(regressors.COLUMNS), None),
    **{
        f"toast_export_{kind}": (toast_export.ADAPTER, list(header), None)
        for kind, header in TOAST_EXPORT_HEADERS.items()
    },
}


@pytest.mark.parametrize("case", sorted(FUZZ_CASES))
def test_arbitrary_text_raises_only_import_errors(tmp_path: Path, case: str) -> None:
    adapter, header, mapping = FUZZ_CASES[case]
    # Toast's export files name their location only by name: the file's restaurant is r01
    ctx = ParseContext(
        DIRECTORY, mapping=mapping, restaurant="r01" if case.startswith("toast") else None
    )

    @given(content=fuzz_text(header))
    @example(content=",".join(header) + "\n" + "," * (len(header) - 1) + "\n")  # all blank
    @FUZZ
    def run(content: str) -> None:
        path = write(tmp_path, "fuzz.csv", content)
        try:
            parsed = adapter.parse(path, ctx)
        except (ImportFileError, ConfigError):
            return
        check_shapes(parsed)
        assert list(parsed.rejects.columns) == [
            c.REJECT_ROW,
            c.REJECT_FIELD,
            c.REJECT_REASON,
            c.REJECT_RAW,
        ]

    run()
