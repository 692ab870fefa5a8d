"""The JSON adapters: Toast, Lightspeed, Clover, Square's Orders API and Revel's REST resources.

Each vendor gets a small handcrafted file covering sales, modifiers, comps, voids, refunds, guests,
a sale after midnight before the cutoff, both DST changes of America/New_York in 2025, an unknown
location, a malformed record, and unreadable files; plus a property test that no input makes an
adapter raise anything but ImportFileError.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters import clover, get, lightspeed, revel_api, square_orders, toast
from pipelines.io.adapters.base import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    Adapter,
    Directory,
    ParseContext,
    ParsedFile,
    RestaurantInfo,
)

NY = "America/New_York"
CLOVER_MERCHANT = "7RZK2M4QX9WBA"
CLOVER_HREF = f"https://api.clover.com/v3/merchants/{CLOVER_MERCHANT}/orders"
DIRECTORY = Directory(
    [
        RestaurantInfo("r01", NY, 4, "USD", "toast", "tst-guid-1"),
        RestaurantInfo("r03", NY, 4, "USD", "lightspeed", "12345"),
        RestaurantInfo("r07", "Asia/Tokyo", 5, "JPY", "lightspeed", "777"),
        RestaurantInfo("r04", NY, 3, "USD", "clover", CLOVER_MERCHANT),
        RestaurantInfo("r05", "America/Toronto", 4, "CAD", "revel", "12"),
        RestaurantInfo("r08", "Europe/Berlin", 4, "EUR", "square", "LB7Q2M9XH3K4T"),
    ]
)
CTX = ParseContext(directory=DIRECTORY)
ADAPTERS: dict[str, Adapter] = {
    "toast": toast.ADAPTER,
    "lightspeed": lightspeed.ADAPTER,
    "clover": clover.ADAPTER,
    "revel_api": revel_api.ADAPTER,
    "square_orders": square_orders.ADAPTER,
}
SOURCES = {"square_orders": "square", "revel_api": "revel"}
"""The ``source`` of a format whose name is not its vendor's."""


def ctx_for(name: str) -> ParseContext:
    """The context a vendor's files need: Toast's ordersBulk files do not name their restaurant,
    so they get ``--restaurant r01``."""
    return ParseContext(DIRECTORY, restaurant="r01") if name == "toast" else CTX


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO instant."""
    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def line(parsed: ParsedFile, line_id: str) -> dict[str, Any]:
    rows = parsed.lines[parsed.lines[c.LINE_ID] == line_id]
    assert len(rows) == 1, f"{line_id}: {len(rows)} rows"
    return {str(k): v for k, v in rows.iloc[0].items()}


def order(parsed: ParsedFile, order_id: str) -> dict[str, Any]:
    rows = parsed.orders[parsed.orders[c.ORDER_ID] == order_id]
    assert len(rows) == 1, f"{order_id}: {len(rows)} rows"
    return {str(k): v for k, v in rows.iloc[0].items()}


def check_frames(parsed: ParsedFile, source: str) -> None:
    """Exactly the contract's columns and dtypes."""
    assert tuple(parsed.orders.columns) == ORDER_COLUMNS
    assert tuple(parsed.lines.columns) == LINE_COLUMNS
    o, x = parsed.orders.dtypes, parsed.lines.dtypes
    for col in (c.RESTAURANT_ID, c.SOURCE, c.ORDER_ID):
        assert str(o[col]) == "object" and str(x[col]) == "object"
    for col in (c.LINE_ID, c.PARENT_LINE_ID, c.ITEM, c.CATEGORY, c.CURRENCY, c.KIND):
        assert str(x[col]) == "object"
    assert str(o[c.OPENED_AT_UTC]) == "datetime64[ns, UTC]"
    assert str(x[c.TS_UTC]) == "datetime64[ns, UTC]"
    assert str(o[c.BUSINESS_DATE]) == "datetime64[ns]"
    assert str(x[c.BUSINESS_DATE]) == "datetime64[ns]"
    assert str(o[c.COVERS]) == "Int64"
    assert str(o[c.NET_AMOUNT_MINOR]) == "Int64"
    assert x[c.QUANTITY] == "float64"
    assert x[c.NET_AMOUNT_MINOR] == "int64"
    assert set(parsed.lines[c.SOURCE]) <= {source}
    assert set(parsed.lines[c.KIND]) <= set(c.LINE_KINDS)
    assert (parsed.lines[c.BUSINESS_DATE] == parsed.lines[c.BUSINESS_DATE].dt.normalize()).all()
    assert parsed.lines[[c.TS_UTC, c.BUSINESS_DATE]].notna().all().all()
    assert parsed.orders[[c.OPENED_AT_UTC, c.BUSINESS_DATE]].notna().all().all()


def sniffed_by(path: Path, head: str) -> list[str]:
    """The JSON adapters that claim the file (the registry serves the same objects)."""
    assert all(get(name) is adapter for name, adapter in ADAPTERS.items())
    return [name for name, adapter in ADAPTERS.items() if adapter.sniff(path, head)]


def kinds(parsed: ParsedFile) -> dict[str, str]:
    return dict(zip(parsed.lines[c.LINE_ID], parsed.lines[c.KIND], strict=True))


# ------------------------------------------------------------------------------------ Toast
# The Orders API 2.6.5 shape (``thedoughmonster/doughmonster-worker``
# ``src/schemas/toast-orders-api.yaml``, definitions ``Order``, ``Check``, ``Selection``,
# ``Payment``, ``Refund``): no ``restaurantGuid`` (the restaurant is the request header
# ``Toast-Restaurant-External-ID``: here the file's folder, named after r01's GUID), ``itemGroup``
# a bare reference, a selection's ``price`` already holding its modifiers' prices. The full
# fixtures with per-day figures are in ``tests/test_vendor_toast.py``.

TOAST_GUID = "tst-guid-1"


def toast_selection(guid: str, name: str, price: Any, **extra: Any) -> dict[str, Any]:
    return {
        "guid": guid,
        "entityType": "MenuItemSelection",
        "displayName": name,
        "itemGroup": {"guid": "g", "entityType": "MenuGroup"},
        "quantity": 1,
        "price": price,
        "preDiscountPrice": price,
        "voided": False,
        "deferred": False,
        "modifiers": [],
        "appliedDiscounts": [],
        **extra,
    }


def toast_order(guid: str, opened: str, selections: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "guid": guid,
        "entityType": "Order",
        "businessDate": 20250101,
        "openedDate": opened,
        "voided": False,
        "deleted": False,
        "checks": [
            {"guid": f"{guid}-c", "voided": False, "deleted": False, "selections": selections}
        ],
        **extra,
    }


TOAST_ORDERS: list[Any] = [
    toast_order(
        "T1",
        "2025-01-14T23:05:12.000+0000",
        [
            # 12.50 burger + 1.25 cheese = 13.75: the parent's price holds the modifier's
            toast_selection(
                "S1",
                "Burger",
                13.75,
                modifiers=[toast_selection("S1M", "Cheese", 1.25, itemGroup=None)],
            ),
            toast_selection("S2", "Soda", 0.0, quantity=2, preDiscountPrice=3.0),
            toast_selection("S3", "Fries", 4.0, voided=True),
        ],
        numberOfGuests=2,
    ),
    toast_order("T2", "2025-01-15T06:30:00.000+0000", [toast_selection("S4", "Tea", 2.35)]),
    toast_order("T3", "2025-03-09T07:30:00.000+0000", [toast_selection("S5", "Tea", 2.0)]),
    toast_order("T4", "2025-03-09T08:30:00.000+0000", [toast_selection("S6", "Tea", 2.0)]),
    toast_order("T5", "2025-11-02T08:30:00.000+0000", [toast_selection("S7", "Tea", 2.0)]),
    toast_order("T6", "2025-11-02T09:30:00.000+0000", [toast_selection("S8", "Tea", 2.0)]),
    toast_order(
        "T7",
        "2025-01-14T20:00:00.000+0000",
        [toast_selection("S9", "Steak", 31.0, modifiers=[toast_selection("S9M", "Sauce", 1.0)])],
        voided=True,
    ),
    # written by an older tool: a restaurantGuid of its own, unknown here
    {**toast_order("T8", "2025-01-14T20:00:00.000+0000", []), "restaurantGuid": "elsewhere"},
    toast_order(
        "T9",
        "2025-01-14T20:00:00.000+0000",
        [toast_selection("S10", "Tea", 2.0), toast_selection("S11", "Pie", "abc")],
    ),
    {k: v for k, v in toast_order("T10", "x", []).items() if k != "openedDate"},
    toast_order("T11", "2025-01-14 20:00:00", [toast_selection("S12", "Tea", 2.0)]),
]
TOAST_ORDERS[0]["checks"][0]["payments"] = [
    {"guid": "P1", "amount": 20.0, "refundStatus": "NONE", "refund": None},
    {
        "guid": "P2",
        "refundStatus": "PARTIAL",
        "refund": {"refundAmount": 5.0, "refundDate": "2025-01-16T15:00:00.000+0000"},
    },
]


def toast_file(folder: Path, name: str, document: Any) -> Path:
    """A Toast file in a folder named after r01's restaurant GUID (its pos_location_id)."""
    where = folder / TOAST_GUID
    where.mkdir(exist_ok=True)
    return write(where, name, document)


@pytest.fixture(scope="module")
def toast_parsed(tmp_path_factory: pytest.TempPathFactory) -> ParsedFile:
    path = toast_file(tmp_path_factory.mktemp("toast"), "orders.json", TOAST_ORDERS)
    return toast.ADAPTER.parse(path, CTX)


def test_toast_frames(toast_parsed: ParsedFile) -> None:
    check_frames(toast_parsed, "toast")
    assert toast_parsed.rows_read == len(TOAST_ORDERS)
    assert set(toast_parsed.lines[c.RESTAURANT_ID]) == {"r01"}
    assert set(toast_parsed.lines[c.CURRENCY]) == {"USD"}


def test_toast_sale_modifier_comp_void_refund(toast_parsed: ParsedFile) -> None:
    burger = line(toast_parsed, "S1")
    assert (burger[c.KIND], burger[c.NET_AMOUNT_MINOR], burger[c.QUANTITY]) == ("sale", 1375, 1.0)
    # itemGroup is a reference without a name: no category
    assert (burger[c.ITEM], burger[c.CATEGORY], burger[c.PARENT_LINE_ID]) == ("Burger", None, None)
    assert burger[c.ORDER_ID] == "T1"
    assert burger[c.TS_UTC] == pd.Timestamp("2025-01-14T23:05:12Z")
    assert burger[c.BUSINESS_DATE] == day("2025-01-14")
    cheese = line(toast_parsed, "S1M")  # its 1.25 is inside the burger's 13.75
    assert (cheese[c.KIND], cheese[c.NET_AMOUNT_MINOR], cheese[c.PARENT_LINE_ID]) == (
        "sale",
        0,
        "S1",
    )
    soda = line(toast_parsed, "S2")
    assert (soda[c.KIND], soda[c.NET_AMOUNT_MINOR], soda[c.QUANTITY]) == ("comp", 0, 2.0)
    assert (line(toast_parsed, "S3")[c.KIND], line(toast_parsed, "S3")[c.NET_AMOUNT_MINOR]) == (
        "void",
        400,
    )
    refund = line(toast_parsed, "P2-refund")
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.ORDER_ID]) == (
        "refund",
        -500,
        "T1",
    )
    assert refund[c.BUSINESS_DATE] == day("2025-01-16")
    assert refund[c.TS_UTC] == pd.Timestamp("2025-01-16T15:00:00Z")
    assert "P1-refund" not in set(toast_parsed.lines[c.LINE_ID])
    assert kinds(toast_parsed)["S9"] == "void" and kinds(toast_parsed)["S9M"] == "void"


def test_toast_guests_and_business_dates(toast_parsed: ParsedFile) -> None:
    assert order(toast_parsed, "T1")[c.COVERS] == 2
    assert pd.isna(order(toast_parsed, "T2")[c.COVERS])
    assert order(toast_parsed, "T1")[c.OPENED_AT_UTC] == pd.Timestamp("2025-01-14T23:05:12Z")
    # 01:30 local on the 15th, cutoff 04:00: the 14th
    assert order(toast_parsed, "T2")[c.BUSINESS_DATE] == day("2025-01-14")
    assert line(toast_parsed, "S4")[c.NET_AMOUNT_MINOR] == 235
    # Spring forward: 07:30Z is 03:30 EDT (the 8th), 08:30Z is 04:30 EDT (the 9th)
    assert line(toast_parsed, "S5")[c.BUSINESS_DATE] == day("2025-03-08")
    assert line(toast_parsed, "S6")[c.BUSINESS_DATE] == day("2025-03-09")
    # Fall back: 08:30Z is 03:30 EST (Nov 1st), 09:30Z is 04:30 EST (Nov 2nd)
    assert line(toast_parsed, "S7")[c.BUSINESS_DATE] == day("2025-11-01")
    assert order(toast_parsed, "T6")[c.BUSINESS_DATE] == day("2025-11-02")


def test_toast_rejects(toast_parsed: ParsedFile) -> None:
    rejects = toast_parsed.rejects.set_index(c.REJECT_ROW)
    assert list(rejects.index) == [8, 9, 10, 11]
    assert rejects.loc[8, c.REJECT_FIELD] == "restaurantGuid"
    assert "elsewhere" in str(rejects.loc[8, c.REJECT_REASON])
    assert rejects.loc[9, c.REJECT_FIELD] == "checks[0].selections[1].price"
    assert "abc" in str(rejects.loc[9, c.REJECT_REASON])
    assert json.loads(str(rejects.loc[9, c.REJECT_RAW])) == TOAST_ORDERS[8]
    assert rejects.loc[10, c.REJECT_FIELD] == "openedDate"
    assert rejects.loc[10, c.REJECT_REASON] == "missing"
    assert rejects.loc[11, c.REJECT_FIELD] == "openedDate"  # no UTC offset
    # a rejected order leaves nothing behind, not even its good lines
    assert not {"T8", "T9", "T10", "T11"} & set(toast_parsed.orders[c.ORDER_ID])
    assert "S10" not in set(toast_parsed.lines[c.LINE_ID])


def test_toast_needs_its_restaurant(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.json", TOAST_ORDERS[:2])
    with pytest.raises(ImportFileError, match="Toast-Restaurant-External-ID"):
        toast.ADAPTER.parse(path, CTX)
    parsed = toast.ADAPTER.parse(path, ParseContext(DIRECTORY, restaurant="r01"))
    assert set(parsed.orders[c.RESTAURANT_ID]) == {"r01"}


def test_toast_sniff(tmp_path: Path) -> None:
    path = write(tmp_path, "export.json", TOAST_ORDERS[:2])
    head = path.read_text()[:8192]
    assert sniffed_by(path, head) == ["toast"]
    assert not toast.ADAPTER.sniff(tmp_path / "x.csv", head)
    assert not toast.ADAPTER.sniff(path, "")


# ------------------------------------------------------------------------------- Lightspeed
# K-Series Financial API V1 shape (schema financial-apiSaleDto of api-evangelist/lightspeed-pos
# openapi/lightspeed-pos-financial-api-openapi.yml); tests/test_vendor_lightspeed.py covers V2,
# the iKentoo era and the spec's fixtures in detail.


def ls_line(line_id: str, name: str, net: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": line_id,
        "totalNetAmountWithTax": net,
        "totalNetAmountWithoutTax": net,
        "menuListPrice": net,
        "discountAmount": "0.00",
        "taxAmount": "0.00",
        "totalDiscountAmount": "0.00",
        "sku": f"sku-{name}",
        "name": name,
        "quantity": "1.000",
        "accountingGroup": {"accountingGroupId": 7, "name": "Food"},
        **extra,
    }


def ls_sale(fisc: str, opened: str, lines: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "accountReference": f"ref-{fisc}",
        "accountFiscId": fisc,
        "receiptId": f"R-{fisc}",
        "salesLines": lines,
        "payments": [],
        "timeofOpening": opened,
        "timeofCloseAndPaid": opened,
        "cancelled": False,
        "type": "SALE",
        "nbCovers": 2.0,
        "dineIn": True,
        **extra,
    }


LS_SALES: list[Any] = [
    ls_sale(
        "L1",
        "2025-01-14T23:05:00.000Z",
        [
            ls_line("1", "Pasta", "24.00", quantity="2"),
            ls_line("2", "Extra sauce", "1.50", parentLineId="1", accountingGroup=None),
            ls_line("3", "Wine", "0.00", totalDiscountAmount="9.00"),
            ls_line("4", "Dessert", "7.00", voidReason="User Mistake"),
            ls_line("5", "Cream", "0.50", parentLineId="4"),
        ],
        nbCovers=3.0,
    ),
    ls_sale(
        "L2",
        "2025-01-16T17:00:00.000Z",
        [ls_line("6", "Pasta", "-12.00", quantity="-1")],
        type="REFUND",
        nbCovers=None,
    ),
    ls_sale("L3", "2025-01-15T06:30:00.000Z", [ls_line("7", "Beer", "5.005")]),
    ls_sale("L4", "2025-01-15T00:00:00.000Z", [ls_line("8", "Beer", "5.00")], cancelled=True),
    ls_sale("L5", "2025-03-09T07:30:00.000Z", [ls_line("9", "Beer", "5.00")]),
    ls_sale("L6", "2025-03-09T08:30:00.000Z", [ls_line("10", "Beer", "5.00")]),
    ls_sale("L7", "2025-11-02T09:30:00.000Z", [ls_line("11", "Beer", "5.00")]),
    ls_sale("L8", "2025-11-02T05:30:00.000Z", [ls_line("12", "Beer", "5.00")]),
    ls_sale("L9", "2025-01-15T00:00:00.000Z", [ls_line("13", "Beer", "5.00", quantity="two")]),
    ls_sale("L10", "2025-01-15T00:00:00.000Z", [ls_line("14", "Beer", "5.00")], type="SWAP"),
    ls_sale("L1-split", "2025-01-14T23:05:00.000Z", [ls_line("1", "Pasta", "24.00")], type="SPLIT"),
    {  # iKentoo era: timeOfOpening with an offset, no receiptId, a line without id or net
        "accountFiscId": "A12.1",
        "timeOfOpening": "2025-01-14T20:00:00-05:00",
        "type": "SALE",
        "nbCovers": 1.0,
        "salesLines": [
            {
                "totalNetAmountWithTax": "5.50",
                "taxAmount": "0.50",
                "name": "Tea",
                "quantity": "1.000",
            }
        ],
    },
    "not a sale",
]


@pytest.fixture(scope="module")
def ls_parsed(tmp_path_factory: pytest.TempPathFactory) -> ParsedFile:
    document = {"businessLocationId": 12345, "sales": LS_SALES}
    path = write(tmp_path_factory.mktemp("ls"), "sales.json", document)
    return lightspeed.ADAPTER.parse(path, CTX)


def test_lightspeed_frames(ls_parsed: ParsedFile) -> None:
    check_frames(ls_parsed, "lightspeed")
    assert ls_parsed.rows_read == len(LS_SALES)
    assert set(ls_parsed.lines[c.RESTAURANT_ID]) == {"r03"}


def test_lightspeed_lines(ls_parsed: ParsedFile) -> None:
    pasta = line(ls_parsed, "1")
    assert (pasta[c.KIND], pasta[c.NET_AMOUNT_MINOR], pasta[c.QUANTITY]) == ("sale", 2400, 2.0)
    assert (pasta[c.ITEM], pasta[c.CATEGORY], pasta[c.ORDER_ID]) == ("Pasta", "Food", "L1")
    assert pasta[c.TS_UTC] == pd.Timestamp("2025-01-14T23:05:00Z")
    sauce = line(ls_parsed, "2")
    assert (sauce[c.KIND], sauce[c.NET_AMOUNT_MINOR], sauce[c.PARENT_LINE_ID]) == ("sale", 150, "1")
    assert sauce[c.CATEGORY] is None
    assert (line(ls_parsed, "3")[c.KIND], line(ls_parsed, "3")[c.NET_AMOUNT_MINOR]) == ("comp", 0)
    assert kinds(ls_parsed)["4"] == "void" and kinds(ls_parsed)["5"] == "void"
    refund = line(ls_parsed, "6")
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.QUANTITY]) == (
        "refund",
        -1200,
        -1.0,
    )
    assert refund[c.BUSINESS_DATE] == day("2025-01-16")
    assert line(ls_parsed, "7")[c.NET_AMOUNT_MINOR] == 501  # half away from zero
    assert kinds(ls_parsed)["8"] == "void"  # cancelled sale
    assert "L1-split" not in set(ls_parsed.orders[c.ORDER_ID])  # SPLIT: bookkeeping
    tea = line(ls_parsed, "A12.1#1")  # no id: <order id>#<position>; net 5.50 - 0.50
    assert (tea[c.ORDER_ID], tea[c.NET_AMOUNT_MINOR], tea[c.KIND]) == ("A12.1", 500, "sale")


def test_lightspeed_guests_and_business_dates(ls_parsed: ParsedFile) -> None:
    assert order(ls_parsed, "L1")[c.COVERS] == 3
    assert pd.isna(order(ls_parsed, "L2")[c.COVERS])
    assert order(ls_parsed, "L3")[c.COVERS] == 2
    assert order(ls_parsed, "L3")[c.BUSINESS_DATE] == day("2025-01-14")
    assert line(ls_parsed, "9")[c.BUSINESS_DATE] == day("2025-03-08")
    assert line(ls_parsed, "10")[c.BUSINESS_DATE] == day("2025-03-09")
    assert line(ls_parsed, "11")[c.BUSINESS_DATE] == day("2025-11-02")
    # 01:30 EDT on Nov 2nd (before clocks go back): still Nov 1st's business
    assert line(ls_parsed, "12")[c.BUSINESS_DATE] == day("2025-11-01")
    assert line(ls_parsed, "12")[c.TS_UTC] == pd.Timestamp("2025-11-02T05:30:00Z")


def test_lightspeed_rejects(ls_parsed: ParsedFile) -> None:
    rejects = ls_parsed.rejects.set_index(c.REJECT_ROW)
    assert list(rejects.index) == [9, 10, 13]
    assert rejects.loc[9, c.REJECT_FIELD] == "salesLines[0].quantity"
    assert rejects.loc[10, c.REJECT_FIELD] == "type"
    assert rejects.loc[13, c.REJECT_FIELD] == "$"
    assert rejects.loc[13, c.REJECT_RAW] == '"not a sale"'


def test_lightspeed_unknown_location(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", {"businessLocationId": 999, "sales": LS_SALES[:3]})
    with pytest.raises(ImportFileError, match="'999'") as info:
        lightspeed.ADAPTER.parse(path, CTX)
    assert info.value.field == "businessLocationId"
    parsed = lightspeed.ADAPTER.parse(path, ParseContext(DIRECTORY, restaurant="r03"))
    assert set(parsed.lines[c.RESTAURANT_ID]) == {"r03"}  # --restaurant names it


def test_lightspeed_currency_exponent(tmp_path: Path) -> None:
    sale = ls_sale("J1", "2025-01-14T11:00:00.000Z", [ls_line("1", "Ramen", "1200")])
    path = write(tmp_path, "s.json", {"businessLocationId": 777, "sales": [sale]})
    parsed = lightspeed.ADAPTER.parse(path, CTX)
    ramen = line(parsed, "1")
    assert (ramen[c.RESTAURANT_ID], ramen[c.NET_AMOUNT_MINOR], ramen[c.CURRENCY]) == (
        "r07",
        1200,
        "JPY",
    )


def test_lightspeed_file_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", {"sales": LS_SALES[:1]})  # V2: no location in the body
    with pytest.raises(ImportFileError, match="--restaurant"):
        lightspeed.ADAPTER.parse(path, CTX)
    path = write(tmp_path, "s.json", {"businessLocationId": 1, "sales": {}})
    with pytest.raises(ImportFileError) as info:
        lightspeed.ADAPTER.parse(path, CTX)
    assert info.value.field == "sales"
    path = write(tmp_path, "s.json", "sales")
    with pytest.raises(ImportFileError, match="expected a JSON object"):
        lightspeed.ADAPTER.parse(path, CTX)


def test_lightspeed_sniff(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", {"businessLocationId": 12345, "sales": LS_SALES[:2]})
    head = path.read_text()[:8192]
    assert sniffed_by(path, head) == ["lightspeed"]
    path = write(tmp_path, "v2.json", {"sales": LS_SALES[:2], "nextPageToken": ""})
    assert sniffed_by(path, path.read_text()[:8192]) == ["lightspeed"]
    path = write(tmp_path, "a.json", LS_SALES[:2])  # an array of sales
    assert sniffed_by(path, path.read_text()[:8192]) == ["lightspeed"]


# ----------------------------------------------------------------------------------- Clover


def cl_item(item_id: str, name: str, price: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": name,
        "price": price,
        "isRevenue": True,
        "refunded": False,
        "item": {"id": f"I-{name}", "categories": {"elements": [{"id": "K", "name": "Mains"}]}},
        **extra,
    }


def cl_order(order_id: str, created: str, items: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "currency": "USD",
        "total": 0,
        "state": "locked",
        "createdTime": ms(created),
        "lineItems": {"elements": items},
        **extra,
    }


CL_ORDERS: list[Any] = [
    cl_order(
        "C1",
        "2025-01-14T23:05:00+00:00",
        [
            cl_item(
                "LI1",
                "Burger",
                1250,
                modifications={"elements": [{"id": "M1", "name": "Bacon", "amount": 200}]},
                discounts={"elements": [{"name": "1 off", "amount": -100}]},
            ),
            cl_item(
                "LI2",
                "Coffee",
                300,
                discounts={"elements": [{"name": "Comp", "percentage": 100}]},
                modifications={"elements": [{"id": "M2", "name": "Oat milk", "amount": 50}]},
            ),
            cl_item("LI3", "Salad bar", 899, unitQty=1500, item=None),
            cl_item("LI4", "Gift card", 5000, isRevenue=False),
            cl_item("LI5", "Cake", 600, discounts={"elements": [{"percentage": 50}]}),
            cl_item(
                "LI15",
                "Pie",
                400,
                discounts={"elements": [{"name": "comp", "amount": -450}]},
                modifications={
                    "elements": [
                        {"id": "M3", "name": "Cream", "amount": 50},
                        {"id": "M4", "name": "No nuts", "amount": 0},
                    ]
                },
            ),
        ],
        refunds={
            "elements": [{"id": "RF1", "amount": 300, "createdTime": ms("2025-01-16T15:00:00Z")}]
        },
    ),
    cl_order("C2", "2025-01-15T06:30:00+00:00", [cl_item("LI6", "Tea", 250)]),
    cl_order("C3", "2025-03-09T06:30:00+00:00", [cl_item("LI7", "Tea", 250)]),
    cl_order("C4", "2025-03-09T07:30:00+00:00", [cl_item("LI8", "Tea", 250)]),
    cl_order("C5", "2025-11-02T07:30:00+00:00", [cl_item("LI9", "Tea", 250)]),
    cl_order("C6", "2025-11-02T08:30:00+00:00", [cl_item("LI10", "Tea", 250)]),
    cl_order("C7", "2025-01-14T20:00:00+00:00", [cl_item("LI11", "Tea", 250), {"id": "LI12"}]),
    cl_order("C8", "2025-01-14T20:00:00+00:00", [cl_item("LI13", "Tea", "2.50")]),
    cl_order("C9", "2025-01-14T20:00:00+00:00", [cl_item("LI14", "Tea", 250)], currency="EUR"),
    {**cl_order("C10", "2025-01-14T20:00:00+00:00", []), "createdTime": -5},
]


@pytest.fixture(scope="module")
def cl_parsed(tmp_path_factory: pytest.TempPathFactory) -> ParsedFile:
    document = {"elements": CL_ORDERS, "href": CLOVER_HREF}
    path = write(tmp_path_factory.mktemp("clover"), "orders.json", document)
    return clover.ADAPTER.parse(path, CTX)


def test_clover_frames(cl_parsed: ParsedFile) -> None:
    check_frames(cl_parsed, "clover")
    assert cl_parsed.rows_read == len(CL_ORDERS)
    assert set(cl_parsed.lines[c.RESTAURANT_ID]) == {"r04"}
    assert cl_parsed.orders[c.COVERS].isna().all()  # Clover has no guest count


def test_clover_lines(cl_parsed: ParsedFile) -> None:
    # Burger 12.50 + Bacon 2.00 = 14.50, less 1.00 = 13.50; the 1.00 shared 12.50 : 2.00:
    # 100 x 1250 / 1450 = 86.2 and 100 x 200 / 1450 = 13.8 -> 86 + 13, the last cent to the
    # larger remainder (the bacon): 12.50 - 0.86 = 11.64, 2.00 - 0.14 = 1.86
    burger = line(cl_parsed, "LI1")
    assert (burger[c.KIND], burger[c.NET_AMOUNT_MINOR], burger[c.QUANTITY]) == ("sale", 1164, 1.0)
    assert (burger[c.ITEM], burger[c.CATEGORY], burger[c.ORDER_ID]) == ("Burger", "Mains", "C1")
    assert burger[c.TS_UTC] == pd.Timestamp("2025-01-14T23:05:00Z")
    assert burger[c.BUSINESS_DATE] == day("2025-01-14")
    bacon = line(cl_parsed, "LI1:M1")
    assert (bacon[c.KIND], bacon[c.NET_AMOUNT_MINOR], bacon[c.PARENT_LINE_ID]) == (
        "sale",
        186,
        "LI1",
    )
    # a 100 % comp covers the item and its priced modification
    coffee, oat = line(cl_parsed, "LI2"), line(cl_parsed, "LI2:M2")
    assert (coffee[c.KIND], coffee[c.NET_AMOUNT_MINOR]) == ("comp", 0)
    assert (oat[c.KIND], oat[c.NET_AMOUNT_MINOR]) == ("comp", 0)
    salad = line(cl_parsed, "LI3")
    assert (salad[c.QUANTITY], salad[c.NET_AMOUNT_MINOR], salad[c.CATEGORY]) == (1.5, 1349, None)
    assert "LI4" not in set(cl_parsed.lines[c.LINE_ID])  # not revenue
    assert line(cl_parsed, "LI5")[c.NET_AMOUNT_MINOR] == 300
    # a comp whose discount also covers a modification: both comps; a free one stays a sale
    assert (line(cl_parsed, "LI15")[c.KIND], line(cl_parsed, "LI15")[c.NET_AMOUNT_MINOR]) == (
        "comp",
        0,
    )
    assert (line(cl_parsed, "LI15:M3")[c.KIND], line(cl_parsed, "LI15:M3")[c.NET_AMOUNT_MINOR]) == (
        "comp",
        0,
    )
    assert line(cl_parsed, "LI15:M4")[c.KIND] == "sale"
    refund = line(cl_parsed, "refund-RF1")
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.ORDER_ID]) == (
        "refund",
        -300,
        "C1",
    )
    assert refund[c.BUSINESS_DATE] == day("2025-01-16")
    assert "void" not in set(cl_parsed.lines[c.KIND])


def test_clover_business_dates(cl_parsed: ParsedFile) -> None:
    # cutoff 03:00: 01:30 EST on the 15th belongs to the 14th
    assert order(cl_parsed, "C2")[c.BUSINESS_DATE] == day("2025-01-14")
    assert order(cl_parsed, "C2")[c.OPENED_AT_UTC] == pd.Timestamp("2025-01-15T06:30:00Z")
    # Spring forward: 06:30Z is 01:30 EST (the 8th), 07:30Z is 03:30 EDT (the 9th)
    assert line(cl_parsed, "LI7")[c.BUSINESS_DATE] == day("2025-03-08")
    assert line(cl_parsed, "LI8")[c.BUSINESS_DATE] == day("2025-03-09")
    # Fall back: 07:30Z is 02:30 EST (Nov 1st), 08:30Z is 03:30 EST (Nov 2nd)
    assert line(cl_parsed, "LI9")[c.BUSINESS_DATE] == day("2025-11-01")
    assert line(cl_parsed, "LI10")[c.BUSINESS_DATE] == day("2025-11-02")


def test_clover_rejects(cl_parsed: ParsedFile) -> None:
    rejects = cl_parsed.rejects.set_index(c.REJECT_ROW)
    assert list(rejects.index) == [7, 8, 9, 10]
    assert rejects.loc[7, c.REJECT_FIELD] == "lineItems.elements[1].price"
    assert rejects.loc[8, c.REJECT_FIELD] == "lineItems.elements[0].price"
    assert "2.50" in str(rejects.loc[8, c.REJECT_REASON])
    assert rejects.loc[9, c.REJECT_FIELD] == "currency"
    assert rejects.loc[10, c.REJECT_FIELD] == "createdTime"
    assert "LI11" not in set(cl_parsed.lines[c.LINE_ID])


def test_clover_unknown_location_and_file_errors(tmp_path: Path) -> None:
    # the merchant is only in the href; a file of one unknown merchant is refused whole
    href = "https://api.clover.com/v3/merchants/NOPE0NOPE0NOP/orders"
    path = write(tmp_path, "o.json", {"elements": CL_ORDERS[:2], "href": href})
    with pytest.raises(ImportFileError, match="NOPE0NOPE0NOP") as info:
        clover.ADAPTER.parse(path, CTX)
    assert info.value.field == "href"
    path = write(tmp_path, "o.json", {"elements": CL_ORDERS[:2]})
    with pytest.raises(ImportFileError, match="href"):
        clover.ADAPTER.parse(path, CTX)
    parsed = clover.ADAPTER.parse(path, ParseContext(DIRECTORY, restaurant="r04"))
    assert set(parsed.lines[c.RESTAURANT_ID]) == {"r04"} and parsed.rejects.empty


def test_clover_sniff(tmp_path: Path) -> None:
    path = write(tmp_path, "o.json", {"elements": CL_ORDERS[:2], "href": CLOVER_HREF})
    head = path.read_text()[:8192]
    assert sniffed_by(path, head) == ["clover"]


# ---------------------------------------------------------------------------- Square


def sq_money(amount: Any) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def sq_line(uid: str, name: str, qty: str, gross: int, **extra: Any) -> dict[str, Any]:
    """An OrderLineItem (api.json OrderLineItem); more cases: tests/test_vendor_square.py."""
    return {
        "uid": uid,
        "name": name,
        "quantity": qty,
        "base_price_money": sq_money(gross),
        "gross_sales_money": sq_money(gross),
        "total_discount_money": sq_money(0),
        "total_tax_money": sq_money(0),
        "total_money": sq_money(gross),
        **extra,
    }


def sq_order(order_id: str, closed: str, lines: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "location_id": "LB7Q2M9XH3K4T",
        "line_items": lines,
        "created_at": closed,
        "closed_at": closed,
        "state": "COMPLETED",
        **extra,
    }


SQ_ORDERS: list[Any] = [
    sq_order("S1", "2025-10-25T19:02:13.000Z", [sq_line("a", "Burger", "1", 1290)]),
    sq_order("S2", "2025-10-26T00:45:00.000Z", [sq_line("b", "Tea", "2", 700)]),
    sq_order("S3", "2025-10-26T03:30:00.000Z", [sq_line("c", "Pasta", "1.5", 1500)]),
    sq_order("S4", "2025-10-26T04:30:00Z", [sq_line("d", "Tea", "1", {"x": 1})]),  # bad money
]


def test_square_orders_frames_and_rejects(tmp_path: Path) -> None:
    path = write(tmp_path, "o.json", {"orders": SQ_ORDERS, "cursor": "next"})
    parsed = square_orders.ADAPTER.parse(path, CTX)
    check_frames(parsed, "square")
    assert parsed.format == "square_orders" and parsed.rows_read == 4
    assert list(parsed.lines[c.NET_AMOUNT_MINOR]) == [1290, 700, 1500]
    # 00:45Z is 02:45 CEST on the night summer time ends: before the 04:00 cutoff
    assert list(parsed.lines[c.BUSINESS_DATE]) == [day("2025-10-25")] * 2 + [day("2025-10-26")]
    assert parsed.orders[c.COVERS].isna().all()  # the Orders API has no guest count
    assert records_of(parsed.rejects) == [(4, "line_items[0].gross_sales_money.amount")]


def records_of(rejects: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rejects[[c.REJECT_ROW, c.REJECT_FIELD]].itertuples(index=False)]


def test_square_orders_sniff(tmp_path: Path) -> None:
    for document in ({"orders": SQ_ORDERS[:2]}, [{"orders": SQ_ORDERS[:2], "cursor": "x"}]):
        path = write(tmp_path, "o.json", document)
        assert sniffed_by(path, path.read_text()[:8192]) == ["square_orders"]


# ---------------------------------------------------------------------- unreadable files


# ----------------------------------------------------------------------------- Revel REST

# A few objects of tests/fixtures/vendors/revel/ (GET /resources/Order/ and /resources/OrderItem/
# in Revel's {"meta", "objects"} envelope; sources in that folder's README), the items naming
# their establishment. The full cases are in tests/test_vendor_revel.py.
REVEL_FIXTURES = Path(__file__).parent / "fixtures" / "vendors" / "revel"
REVEL_DOCUMENT: dict[str, Any] = {
    "meta": {"limit": 20, "next": None, "offset": 0, "previous": None, "total_count": 6},
    "objects": json.loads((REVEL_FIXTURES / "orders.json").read_text())["objects"][:3]
    + [
        {**item, "establishment": "/enterprise/Establishment/12/"}
        for item in json.loads((REVEL_FIXTURES / "order_items.json").read_text())["objects"][:3]
    ],
}


def test_revel_api_sniff(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.json", REVEL_DOCUMENT)
    assert sniffed_by(path, path.read_text()[:8192]) == ["revel_api"]
    for name, document in VALID.items():
        if name != "revel_api":
            other = write(tmp_path, f"{name}.json", document)
            assert not revel_api.ADAPTER.sniff(other, other.read_text()[:8192]), name


VALID: dict[str, Any] = {
    "toast": TOAST_ORDERS[:3],
    "lightspeed": {"businessLocationId": 12345, "sales": LS_SALES[:3]},
    "clover": {"href": CLOVER_HREF, "elements": CL_ORDERS[:3]},
    "revel_api": REVEL_DOCUMENT,
    "square_orders": [{"orders": SQ_ORDERS[:2], "cursor": "next"}, {"orders": SQ_ORDERS[2:3]}],
}


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_truncated_json_names_the_row(tmp_path: Path, name: str) -> None:
    text = json.dumps(VALID[name], indent=1)
    path = tmp_path / f"{name}.json"
    path.write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        ADAPTERS[name].parse(path, ctx_for(name))
    assert info.value.row is not None and info.value.row > 1
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_latin1_bytes_are_an_import_error(tmp_path: Path, name: str) -> None:
    text = json.dumps(VALID[name], ensure_ascii=False, indent=1).replace("Tea", "Thé")
    text = text.replace("Pasta", "Pâtes").replace("Burger", "Café burger")
    path = tmp_path / f"{name}.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ImportFileError, match="not valid UTF-8") as info:
        ADAPTERS[name].parse(path, ctx_for(name))
    assert info.value.row is not None
    latin1 = dataclasses.replace(ctx_for(name), encoding="latin-1")
    parsed = ADAPTERS[name].parse(path, latin1)
    assert not parsed.lines.empty


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_gzip_and_bom(tmp_path: Path, name: str) -> None:
    import gzip

    data = ("\ufeff" + json.dumps(VALID[name])).encode("utf-8")
    path = tmp_path / f"{name}.json.gz"
    path.write_bytes(gzip.compress(data))
    parsed = ADAPTERS[name].parse(path, ctx_for(name))
    assert not parsed.lines.empty and parsed.rejects.empty


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_empty_inputs(tmp_path: Path, name: str) -> None:
    empty = {
        "toast": [],
        "lightspeed": {"businessLocationId": 1, "sales": []},
        "revel_api": {"meta": {"total_count": 0}, "objects": []},
        "square_orders": {"orders": []},
    }
    document = empty.get(name, {"href": CLOVER_HREF, "elements": []})
    parsed = ADAPTERS[name].parse(write(tmp_path, "e.json", document), ctx_for(name))
    check_frames(parsed, SOURCES.get(name, name))
    assert parsed.rows_read == 0 and parsed.lines.empty and parsed.rejects.empty
    path = tmp_path / "blank.json"
    path.write_bytes(b"")
    with pytest.raises(ImportFileError):
        ADAPTERS[name].parse(path, CTX)


# ----------------------------------------------------------------------- property tests

VOCABULARY = [
    # Toast
    "guid", "restaurantGuid", "openedDate", "voided", "deleted", "numberOfGuests", "checks",
    "selections", "payments", "displayName", "itemGroup", "name", "quantity", "price",
    "preDiscountPrice", "modifiers", "refundStatus", "refund", "refundAmount", "refundDate",
    "refundDetails", "refundTransaction", "deferred", "selectionType", "modifiedDate",
    "entityType",
    # Lightspeed
    "businessLocationId", "sales", "receiptId", "accountFiscId", "accountReference",
    "timeofOpening", "timeOfOpening", "timeClosed", "cancelled", "type", "nbCovers", "salesLines",
    "id", "totalNetAmountWithoutTax", "totalNetAmountWithTax", "taxAmount", "taxLines",
    "taxIncluded", "serviceCharge", "totalDiscountAmount", "menuListPrice", "accountingGroup",
    "voidReason", "parentLineId", "timeofSale", "timeOfSale", "nextPageToken", "SPLIT", "VOID",
    # Clover
    "href", "elements", "currency", "createdTime", "clientCreatedTime", "lineItems", "refunds",
    "credits", "unitQty", "isRevenue", "exchanged", "testMode", "deletedTimestamp", "isVat",
    "taxRates", "rate", "taxAmount", "discounts", "amount", "percentage", "modifications", "item",
    "categories", "merchant",
    # Revel
    "meta", "objects", "resource_uri", "establishment", "created_date", "number_of_people",
    "subtotal", "discount_amount", "is_invoice", "order", "product", "product_name_override",
    "pure_sales", "is_voided", "voided_date", "modifieritems", "qty", "modifier",
    # Square
    "orders", "order", "cursor", "order_entries", "errors", "location_id", "state", "created_at",
    "closed_at", "line_items", "uid", "quantity", "item_type", "gross_sales_money",
    "total_discount_money", "applied_taxes", "tax_uid", "applied_money", "type",
    "base_price_money", "variation_total_price_money", "modifiers", "total_price_money",
    "returns", "return_line_items", "gross_return_money", "return_taxes", "refunds",
    "amount_money", "status",
]  # fmt: skip
NICE_VALUES = [
    "tst-guid-1", "12345", CLOVER_MERCHANT, CLOVER_HREF, "777", "USD", "JPY", "SALE", "REFUND",
    "FULL", "NONE",
    "LB7Q2M9XH3K4T", "EUR", "COMPLETED", "CANCELED", "OPEN", "INCLUSIVE", "GIFT_CARD", "1.5",
    "2025-01-14T23:05:12.000+0000", "2025-03-09T07:30:00Z", "2025-11-02T01:30:00-04:00",
    "9999-12-31T00:00:00+00:00", "0001-01-01T00:00:00Z", "12.50", "-3", "1e400", "NaN", "",
    "/resources/Order/7/", "/resources/OrderItem/31/", "/enterprise/Establishment/12/",
    "2025-11-02T01:30:00", 12345, 777, 1736899512000, -1, 0, 10**30, 2**63, 1.5, 1e308,
    float("nan"), float("inf"),
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(NICE_VALUES)
)
keys = st.sampled_from(VOCABULARY) | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=8),
    max_leaves=40,
)
records = st.dictionaries(keys, json_values, max_size=12)
documents = (
    json_values
    | st.lists(records, max_size=4)
    | st.fixed_dictionaries(
        {},
        optional={
            "businessLocationId": st.sampled_from([12345, "12345", 999, None, [1]]),
            "href": st.sampled_from([CLOVER_HREF, "https://x/v3/merchants/r04/orders", 5, None]),
            "sales": st.lists(records | json_values, max_size=4),
            "elements": st.lists(records | json_values, max_size=4),
            "objects": st.lists(records | json_values, max_size=4),
            "orders": st.lists(records | json_values, max_size=4),
        },
    )
)
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def parse_quietly(adapter: Adapter, path: Path) -> None:
    """Parses; only ImportFileError may escape. Checks the frames when it succeeds."""
    try:
        parsed = adapter.parse(path, ctx_for(adapter.name))
    except ImportFileError:
        return
    check_frames(parsed, SOURCES.get(adapter.name, adapter.name))
    assert parsed.lines[c.RESTAURANT_ID].notna().all()


@pytest.mark.parametrize("name", list(ADAPTERS))
@PROPERTY_SETTINGS
@given(document=documents)
def test_any_json_only_import_file_error(tmp_path: Path, name: str, document: Any) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    parse_quietly(ADAPTERS[name], path)
    ADAPTERS[name].sniff(path, path.read_text()[:8192])


def mutations(document: Any) -> st.SearchStrategy[Any]:
    """A valid document with one value somewhere replaced by an arbitrary one."""

    def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        found = [prefix]
        if isinstance(value, dict):
            for k, v in value.items():
                found += paths(v, (*prefix, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                found += paths(v, (*prefix, i))
        return found

    def replace(value: Any, where: tuple[Any, ...], new: Any) -> Any:
        if not where:
            return new
        copy: Any = dict(value) if isinstance(value, dict) else list(value)
        copy[where[0]] = replace(copy[where[0]], where[1:], new)
        return copy

    return st.builds(replace, st.just(document), st.sampled_from(paths(document)), json_values)


@pytest.mark.parametrize("name", list(ADAPTERS))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_mutated_valid_file_only_import_file_error(
    tmp_path: Path, name: str, data: st.DataObject
) -> None:
    document = data.draw(mutations(VALID[name]))
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    parse_quietly(ADAPTERS[name], path)


@pytest.mark.parametrize("name", list(ADAPTERS))
@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=300))
def test_any_bytes_only_import_file_error(tmp_path: Path, name: str, raw: bytes) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(raw)
    parse_quietly(ADAPTERS[name], path)
    ADAPTERS[name].sniff(path, raw.decode("utf-8", errors="replace"))


def test_deep_nesting_and_huge_numbers(tmp_path: Path) -> None:
    for text in ("[" * 100_000 + "]" * 100_000, "[" + "9" * 5000 + "]"):
        path = tmp_path / "x.json"
        path.write_text(text)
        for adapter in ADAPTERS.values():
            with pytest.raises(ImportFileError):
                adapter.parse(path, CTX)


# ------------------------------------------------------------------------------------ speed


def big_document(name: str, lines: int) -> Any:
    """About ``lines`` lines of each vendor: orders of 4 lines, one with a modifier."""
    n = lines // 4
    if name == "toast":
        sel = [toast_selection(f"s{k}", "Tea", 2.5) for k in range(3)]
        sel[0]["modifiers"] = [toast_selection("m", "Milk", 0.5)]
        return [
            toast_order(f"o{i}", f"2025-01-{1 + i % 28:02d}T18:{i % 60:02d}:00.000+0000", sel)
            for i in range(n)
        ]
    if name == "lightspeed":
        ls = [ls_line(str(k), "Tea", "2.50") for k in range(4)]
        ls[3]["parentLineId"] = "0"
        return {
            "businessLocationId": 12345,
            "sales": [
                ls_sale(f"o{i}", f"2025-01-{1 + i % 28:02d}T18:{i % 60:02d}:00-05:00", ls)
                for i in range(n)
            ],
        }
    if name == "square_orders":
        sq = [sq_line(f"l{k}", "Tea", "1", 250) for k in range(4)]
        sq[0]["modifiers"] = [{"name": "Milk", "total_price_money": sq_money(50)}]
        return {
            "orders": [
                sq_order(f"o{i}", f"2025-01-{1 + i % 28:02d}T18:{i % 60:02d}:00.000Z", sq)
                for i in range(n)
            ]
        }
    if name == "revel_api":
        order = json.loads((REVEL_FIXTURES / "orders.json").read_text())["objects"][0]
        item = json.loads((REVEL_FIXTURES / "order_items.json").read_text())["objects"][0]
        orders, order_items = [], []
        for i in range(n):
            uri = f"/resources/Order/{i}/"
            created = f"2025-01-{1 + i % 28:02d}T18:{i % 60:02d}:00"
            orders.append({**order, "id": i, "resource_uri": uri, "created_date": created})
            order_items += [
                {
                    **item,
                    "id": 4 * i + k,
                    "order": uri,
                    "establishment": order["establishment"],
                    "modifieritems": [],
                    "created_date": created,
                    "resource_uri": f"/resources/OrderItem/{4 * i + k}/",
                }
                for k in range(4)
            ]
        return {"meta": {"total_count": 5 * n}, "objects": orders + order_items}
    items = [cl_item(f"i{k}", "Tea", 250) for k in range(3)]
    items[0]["modifications"] = {"elements": [{"id": "m", "name": "Milk", "amount": 50}]}
    return {
        "href": CLOVER_HREF,
        "elements": [
            cl_order(f"o{i}", f"2025-01-{1 + i % 28:02d}T18:{i % 60:02d}:00+00:00", items)
            for i in range(n)
        ],
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ADAPTERS))
def test_100k_lines_parse(tmp_path: Path, name: str) -> None:
    """Every vendor's parser reads a 100,000-line document whole (its speed is measured side by
    side in benchmarks/import_speed.py, not asserted here)."""
    path = write(tmp_path, "big.json", big_document(name, 100_000))
    parsed = ADAPTERS[name].parse(path, ctx_for(name))
    assert len(parsed.lines) == 100_000 and parsed.rejects.empty
