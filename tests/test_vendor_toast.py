"""Toast, end to end: the Orders API ``ordersBulk`` JSON (format ``toast``) and the data export
(format ``toast_export``), from fixtures built from Toast's published spec.

Sources (fixtures in ``tests/fixtures/vendors/toast/``, described in its ``README.md``):

- Toast Orders API 2.6.5, ``thedoughmonster/doughmonster-worker``
  ``src/schemas/toast-orders-api.yaml``: ``/ordersBulk`` (response: an array of ``Order``; the
  restaurant is the request header ``Toast-Restaurant-External-ID``, not a response field);
  ``Order`` (``guid``, ``openedDate``, ``modifiedDate``, ``numberOfGuests``, ``voided``,
  ``deleted``, ``businessDate``, ``checks``); ``Check`` (``voided``, ``deleted``,
  ``appliedDiscounts``, ``amount``, ``selections``, ``payments``); ``Selection`` (``price``: "Net
  price ... after considering discounts (including discounts at the check level), quantity
  adjustments, and modifier prices"; ``preDiscountPrice``; ``quantity``; ``voided``; ``deferred``;
  ``selectionType``; ``itemGroup`` as a ``ConfigReference`` (``guid``, ``entityType``, no name);
  ``modifiers``; ``refundDetails``); ``Payment`` (``refundStatus``, ``refund``); ``Refund``
  (``refundAmount``, ``refundDate``, ``refundTransaction``); ``RefundDetails`` (``refundAmount``
  "Includes the value of any nested modifier options", ``refundTransaction``).
- Toast developer guide, "Order object summary" (doc.toasttab.com/doc/devguide/
  apiOrdersOrderObjectSummary.html): ``price = preDiscountPrice - sum(discountAmount)``; check
  ``amount = sum(Item.price) + non-gratuity service charges``; and "Calculating net sales using the
  orders API" (apiOrdersNetSalesCalculation.html): leave out voided and deleted orders and checks,
  voided selections and gift cards.
- Toast platform guide, "Data export field reference" (doc.toasttab.com/doc/platformguide/
  adminDataExportFieldReference.html): the columns of ``ItemSelectionDetails.csv``,
  ``OrderDetails.csv``, ``CheckDetails.csv`` and ``PaymentDetails.csv``, dates ``MM/DD/YYYY
  HH:MM:SS`` (CheckDetails: ``MM/DD/YY`` and ``hh:mm a``); Toast Web's own download writes
  ``M/D/YY h:mm AM`` (a real ``ItemSelectionDetails.csv`` quoted in a public test:
  ``106 West 11th Street,1300000015734303122,5001,10/8/26 5:18 PM,...``); Toast's "Data Exports
  Overview" (support.toasttab.com): one numbered folder per location, one set of files per
  business day.

Every expected figure below is worked out by hand from the fixture files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters import detect, toast, toast_export
from pipelines.io.adapters.base import Directory, ParseContext, ParsedFile, RestaurantInfo
from pipelines.io.adapters.common import head_text
from pipelines.settings import Settings
from tests.conftest import ROOT, load_generator
from tests.helpers import demand_daily, run_cli
from tests.test_adapters_json import mutations, parse_quietly

FIXTURES = ROOT / "tests" / "fixtures" / "vendors" / "toast"
GUID = "6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b"  # r01's Toast restaurant GUID (pos_location_id)
API = FIXTURES / GUID
EXPORT_DAY = FIXTURES / GUID / "20250311"
WEB = FIXTURES / "toast_web_download" / "ItemSelectionDetails.csv"
NY = "America/New_York"
DIRECTORY = Directory(
    [
        RestaurantInfo("r01", NY, 4, "USD", "toast", GUID),
        RestaurantInfo("r09", "America/Chicago", 3, "USD", "toast", "Harbor Grill Uptown"),
        RestaurantInfo("r10", NY, 4, "USD", "toast", "Harbor Grill Midtown"),
        RestaurantInfo("r02", NY, 4, "USD", "square", "Main St"),
    ]
)
CTX = ParseContext(directory=DIRECTORY)

# Selection and order GUIDs of the ordersBulk fixture (see its README.md)
ORD = "9d1c5f20-4e2b-4f6a-8c3d-{:012d}".format
S = "c3283098-44c1-4712-866a-{:012d}".format
P = "e8cee462-78b4-4d83-a8ac-{:012d}".format


def line(parsed: ParsedFile, line_id: str) -> dict[str, Any]:
    rows = parsed.lines[parsed.lines[c.LINE_ID] == line_id]
    assert len(rows) == 1, f"{line_id}: {len(rows)} rows"
    return {str(k): v for k, v in rows.iloc[0].items()}


def order(parsed: ParsedFile, order_id: str) -> dict[str, Any]:
    rows = parsed.orders[parsed.orders[c.ORDER_ID] == order_id]
    assert len(rows) == 1, f"{order_id}: {len(rows)} rows"
    return {str(k): v for k, v in rows.iloc[0].items()}


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def daily(settings: Settings) -> dict[tuple[str, str], tuple[int | None, int, int, float]]:
    """demand_daily as {(restaurant, date): (covers, orders, net minor units, item quantity)}."""
    frame = demand_daily(settings)
    return {
        (str(r.restaurant_id), r.business_date.date().isoformat()): (
            None if pd.isna(r.covers) else int(r.covers),
            int(r.orders),
            int(r.net_sales_minor),
            round(float(r.item_quantity), 6),
        )
        for r in frame.itertuples(index=False)
    }


def import_ok(settings: Settings, *paths: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    result = run_cli(settings, ["import", *map(str, paths), "--json", *extra])
    assert result.exit_code == 0, result.stdout + result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


# ====================================================================== ordersBulk (format toast)


@pytest.fixture(scope="module")
def page1() -> ParsedFile:
    return toast.ADAPTER.parse(API / "ordersBulk_20250308.json", CTX)


def test_orders_bulk_lines(page1: ParsedFile) -> None:
    # The restaurant comes from the file's folder: the response has no restaurantGuid.
    assert set(page1.orders[c.RESTAURANT_ID]) == {"r01"}
    burger = line(page1, S(1))
    # price 22.50 = preDiscountPrice 25.00 (22.00 burger + 3.00 bacon) - 2.50 (its share of the
    # check's 10% discount): the modifiers' prices and the check discount are already inside.
    assert (burger[c.NET_AMOUNT_MINOR], burger[c.KIND], burger[c.PARENT_LINE_ID]) == (
        2250,
        "sale",
        None,
    )
    assert burger[c.CATEGORY] is None  # itemGroup is a bare reference (guid, entityType)
    for modifier in (S(2), S(3)):  # Add Bacon (3.00, inside the burger's price), No Onions (0)
        mod = line(page1, modifier)
        assert (mod[c.PARENT_LINE_ID], mod[c.NET_AMOUNT_MINOR], mod[c.KIND]) == (S(1), 0, "sale")
    tea = line(page1, S(4))  # price 0.00 after a 9.00 comp of preDiscountPrice 9.00
    assert (tea[c.KIND], tea[c.NET_AMOUNT_MINOR], tea[c.QUANTITY]) == ("comp", 0, 2.0)
    assert line(page1, S(5))[c.KIND] == "void"  # voided selection
    assert line(page1, S(11))[c.KIND] == "void"  # voided order O5
    assert line(page1, S(12))[c.KIND] == "void"  # deleted order O6 (check moved elsewhere)
    # the gift card (deferred, selectionType TOAST_CARD_SELL) is not demand: no line at all
    assert S(10) not in set(page1.lines[c.LINE_ID])


def test_orders_bulk_refunds(page1: ParsedFile) -> None:
    # S7's refundDetails.refundAmount 29.00 (pre-tax), dated by the payment refund with the same
    # refundTransaction: 2025-03-10T18:00Z = 14:00 EDT, business day 2025-03-10.
    refund = line(page1, S(7) + "-refund")
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.QUANTITY]) == (
        "refund",
        -2900,
        -1.0,
    )
    assert refund[c.ORDER_ID] == ORD(2)
    assert refund[c.BUSINESS_DATE] == day("2025-03-10")
    # ... so payment P3's refund (31.57, tax included) is not a second refund line
    assert P(3) + "-refund" not in set(page1.lines[c.LINE_ID])
    # O7's payment refund has no itemised selection: one line of its refundAmount 11.98
    # (tax included), at 2025-03-09T23:45Z = 19:45 EDT, business day 2025-03-09.
    p7 = line(page1, P(7) + "-refund")
    assert (p7[c.NET_AMOUNT_MINOR], p7[c.BUSINESS_DATE]) == (-1198, day("2025-03-09"))


def test_orders_bulk_orders_dates_and_rejects(page1: ParsedFile) -> None:
    assert page1.rows_read == 9
    # O1 19:05 EST on the 8th; O2 01:30 EST on the 9th (before the 04:00 cutoff: the 8th);
    # O3 03:30 EDT just after the spring-forward jump (still before 04:00: the 8th);
    # O4 04:30 EDT: the 9th.
    expected = {
        1: ("2025-03-08", 2),
        2: ("2025-03-08", 4),
        3: ("2025-03-08", 1),
        4: ("2025-03-09", 3),
    }
    for n, (bdate, guests) in expected.items():
        got = order(page1, ORD(n))
        assert (got[c.BUSINESS_DATE], got[c.COVERS]) == (day(bdate), guests)
    assert pd.isna(order(page1, ORD(7))[c.COVERS])  # numberOfGuests null: unknown, not 0
    # O4 comes twice; the copy modified last (09:40Z, Clam Chowder 11.00) wins over the later
    # copy in the file (modified 08:45Z, 10.00).
    assert line(page1, S(9))[c.NET_AMOUNT_MINOR] == 1100
    assert (page1.orders[c.ORDER_ID] == ORD(4)).sum() == 1
    # O8 (row 8): price "26,00" (a decimal comma) rejects the whole order, naming the field
    rejects = page1.rejects.set_index(c.REJECT_ROW)
    assert list(rejects.index) == [8]
    assert rejects.loc[8, c.REJECT_FIELD] == "checks[0].selections[0].price"
    assert "'26,00'" in str(rejects.loc[8, c.REJECT_REASON])
    assert ORD(8) not in set(page1.orders[c.ORDER_ID])


def test_orders_bulk_pages_written_one_after_another() -> None:
    # ordersBulk_20251101.json: two page arrays back to back, across the fall-back night.
    parsed = toast.ADAPTER.parse(API / "ordersBulk_20251101.json", CTX)
    assert parsed.rows_read == 3 and parsed.rejects.empty
    # 05:30Z = 01:30 EDT and 06:30Z = 01:30 EST (the repeated hour): both the 1st;
    # 09:30Z = 04:30 EST: the 2nd.
    assert order(parsed, ORD(9))[c.BUSINESS_DATE] == day("2025-11-01")
    assert order(parsed, ORD(10))[c.BUSINESS_DATE] == day("2025-11-01")
    assert order(parsed, ORD(11))[c.BUSINESS_DATE] == day("2025-11-02")
    fries = line(parsed, S(18))  # price 10.00 = 8.00 fries + 2.00 truffle oil
    assert fries[c.NET_AMOUNT_MINOR] == 1000
    assert line(parsed, S(19))[c.NET_AMOUNT_MINOR] == 0


def test_orders_bulk_array_of_pages(tmp_path: Path) -> None:
    pages = json.loads((API / "ordersBulk_20250308.json").read_text(encoding="utf-8"))
    folder = tmp_path / GUID
    folder.mkdir()
    path = folder / "pages.json"
    path.write_text(json.dumps([pages[:3], pages[3:]]), encoding="utf-8")
    parsed = toast.ADAPTER.parse(path, CTX)
    assert parsed.rows_read == 9 and len(parsed.orders) == 7


def test_orders_bulk_restaurant_resolution(tmp_path: Path) -> None:
    loose = tmp_path / "ordersBulk.json"
    shutil.copy(API / "ordersBulk_20251101.json", loose)
    with pytest.raises(ImportFileError) as info:
        toast.ADAPTER.parse(loose, CTX)
    message = str(info.value)
    assert "Toast-Restaurant-External-ID" in message and "--restaurant" in message
    parsed = toast.ADAPTER.parse(loose, ParseContext(DIRECTORY, restaurant="r01"))
    assert set(parsed.orders[c.RESTAURANT_ID]) == {"r01"}
    # a file named after the GUID works too
    named = tmp_path / f"{GUID}.json"
    shutil.copy(loose, named)
    assert set(toast.ADAPTER.parse(named, CTX).lines[c.RESTAURANT_ID]) == {"r01"}
    # files written by older tools carry restaurantGuid on each order: it wins, and an unknown
    # one rejects that order
    orders = json.loads((API / "ordersBulk_20250308.json").read_text(encoding="utf-8"))[:2]
    orders[0]["restaurantGuid"] = "Harbor Grill Uptown"
    orders[1]["restaurantGuid"] = "no-such-guid"
    del orders[0]["checks"][0]["selections"][0]["quantity"]  # "Quantity defaults to 1"
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps(orders), encoding="utf-8")
    parsed = toast.ADAPTER.parse(legacy, CTX)
    assert list(parsed.orders[c.RESTAURANT_ID]) == ["r09"]
    assert parsed.rejects.iloc[0][c.REJECT_FIELD] == "restaurantGuid"
    assert line(parsed, S(1))[c.QUANTITY] == 1.0


def test_orders_bulk_imports_per_business_day(settings: Settings) -> None:
    summary = import_ok(settings, FIXTURES / "restaurants.csv", API / "ordersBulk_20250308.json",
                        API / "ordersBulk_20251101.json")  # fmt: skip
    assert summary["rows_rejected"] == 1  # O8
    got = {k: v for k, v in daily(settings).items() if k[0] == "r01"}
    assert got == {
        # O1 22.50 (burger 22.50 + comped tea 0) + O2 34.00 + 29.00 + O3 18.00 = 103.50;
        # covers 2 + 4 + 1 = 7; items: burger 1 + tea 2 (comp) + lobster 1 + 1 + IPA 2 = 7
        ("r01", "2025-03-08"): (7, 3, 10350, 7.0),
        # O4 11.00 (the gift card left out) + O7 11.00 = 22.00; covers 3 (O7: unknown);
        # O5 (voided) and O6 (deleted) are not demand; the refunds are not demand either
        ("r01", "2025-03-09"): (3, 2, 2200, 2.0),
        # O9 17.00 + O10 16.00; covers 2 + 2
        ("r01", "2025-11-01"): (4, 2, 3300, 2.0),
        # O11 34.00 + 10.00 (fries 8.00 with truffle oil 2.00 inside); items 2 (not the modifier)
        ("r01", "2025-11-02"): (3, 1, 4400, 2.0),
    }


# ==================================================================== data export (toast_export)

# Business day 2025-03-11 (folder 20250311), hand-computed from the four files:
# orders 101 (12:10), 102 (19:45), 103 (01:15 on the 12th, before the 04:00 cutoff) are demand;
# 104 is voided. Net: 14.00 + 28.80 (32.00 - 3.20) + 0.00 (comped tea) + 42.00 + 27.00 +
# 26.00 = 137.80 (the voided Old Fashioned and Lobster Roll and the deferred gift card are not
# demand). Items: 1 + 1 + 1 (comp) + 1 + 3 (IPA) + 1 = 8. Covers: 2 + 4 + 1 = 7.
EXPORT_TRUTH = {("r01", "2025-03-11"): (7, 3, 13780, 8.0)}
EXPORT_FILES = (
    "ItemSelectionDetails.csv",
    "OrderDetails.csv",
    "CheckDetails.csv",
    "PaymentDetails.csv",
)


def test_export_files_are_detected() -> None:
    for name in EXPORT_FILES:
        assert detect(EXPORT_DAY / name) is toast_export.ADAPTER, name
    assert detect(WEB) is toast_export.ADAPTER
    assert detect(API / "ordersBulk_20250308.json") is toast.ADAPTER
    assert detect(API / "ordersBulk_20251101.json") is toast.ADAPTER


def test_export_items() -> None:
    parsed = toast_export.ADAPTER.parse(EXPORT_DAY / "ItemSelectionDetails.csv", CTX)
    assert parsed.rows_read == 9 and parsed.rejects.empty and parsed.orders.empty
    kinds = dict(zip(parsed.lines[c.LINE_ID], parsed.lines[c.KIND], strict=True))
    assert kinds["1300000019000002203"] == "comp"  # Gross 4.50, Net 0.00
    assert kinds["1300000019000002206"] == "void"  # Void? true
    assert kinds["1300000019000002209"] == "void"
    assert "1300000019000002207" not in kinds  # Deferred (gift card)
    salmon = line(parsed, "1300000019000002202")
    assert (salmon[c.NET_AMOUNT_MINOR], salmon[c.CATEGORY], salmon[c.SOURCE]) == (
        2880,
        "Entrees",
        "toast",
    )
    # Order Date 03/12/2025 01:15:00 local (EDT) = 05:15Z, business day the 11th
    fish = line(parsed, "1300000019000002208")
    assert fish[c.TS_UTC] == pd.Timestamp("2025-03-12T05:15:00Z")
    assert fish[c.BUSINESS_DATE] == day("2025-03-11")
    assert line(parsed, "1300000019000002205")[c.QUANTITY] == 3.0


def test_export_orders_checks_payments() -> None:
    orders = toast_export.ADAPTER.parse(EXPORT_DAY / "OrderDetails.csv", CTX)  # BOM and CRLF
    assert orders.rejects.empty and orders.lines.empty
    assert order(orders, "1300000019000000101")[c.NET_AMOUNT_MINOR] == 4280  # Amount 42.80
    assert order(orders, "1300000019000000102")[c.COVERS] == 4
    assert pd.isna(order(orders, "1300000019000000104")[c.NET_AMOUNT_MINOR])  # Voided
    checks = toast_export.ADAPTER.parse(EXPORT_DAY / "CheckDetails.csv", CTX)
    assert checks.rejects.empty
    # order 102's two checks both say Table Size 4: the party of 4, not 8
    assert order(checks, "1300000019000000102")[c.COVERS] == 4
    # the check's time is to the minute; the order's own (from ItemSelectionDetails) is used
    assert order(checks, "1300000019000000101")[c.OPENED_AT_UTC] == pd.Timestamp(
        "2025-03-11T16:10:05Z"
    )
    payments = toast_export.ADAPTER.parse(EXPORT_DAY / "PaymentDetails.csv", CTX)
    refund = line(payments, "1300000019000003303-refund")
    # Refund Amount 9.80 on 03/11/2025 21:30:00 EDT = 01:30Z on the 12th: business day the 11th
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.BUSINESS_DATE]) == (
        "refund",
        -980,
        day("2025-03-11"),
    )
    assert len(payments.lines) == 1 and len(payments.orders) == 3


def test_check_details_without_its_siblings_says_why(tmp_path: Path) -> None:
    folder = tmp_path / GUID / "20250311"
    folder.mkdir(parents=True)
    shutil.copy(EXPORT_DAY / "CheckDetails.csv", folder)
    parsed = toast_export.ADAPTER.parse(folder / "CheckDetails.csv", CTX)
    assert parsed.orders.empty and len(parsed.rejects) == 5
    first = parsed.rejects.iloc[0]
    assert (first[c.REJECT_ROW], first[c.REJECT_FIELD]) == (2, "Check Id")
    assert "no Order Id" in str(first[c.REJECT_REASON])


def test_export_imports_per_business_day(settings: Settings) -> None:
    summary = import_ok(settings, FIXTURES / "restaurants.csv", EXPORT_DAY)
    assert summary["rows_rejected"] == 0
    assert {f["format"] for f in summary["files"]} == {"restaurants", "toast_export"}
    assert {k: v for k, v in daily(settings).items() if k[0] == "r01"} == EXPORT_TRUTH
    again = import_ok(settings, EXPORT_DAY, extra=("--force",))
    assert again["rows_loaded"] == 0  # every file again: nothing changes, nothing counts twice
    assert {k: v for k, v in daily(settings).items() if k[0] == "r01"} == EXPORT_TRUTH


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # OrderDetails alone: orders, guests and net totals (Amount) but no items
        (("OrderDetails.csv",), (7, 3, 13780, 0.0)),
        # the items alone: no guest counts
        (("ItemSelectionDetails.csv",), (None, 3, 13780, 8.0)),
        # guests from CheckDetails (linked to orders by the items' Check Id); any order
        (("CheckDetails.csv", "ItemSelectionDetails.csv"), (7, 3, 13780, 8.0)),
        (
            ("PaymentDetails.csv", "ItemSelectionDetails.csv", "OrderDetails.csv"),
            (7, 3, 13780, 8.0),
        ),
        (
            (
                "ItemSelectionDetails.csv",
                "OrderDetails.csv",
                "CheckDetails.csv",
                "PaymentDetails.csv",
            ),
            (7, 3, 13780, 8.0),
        ),
        (
            (
                "PaymentDetails.csv",
                "CheckDetails.csv",
                "OrderDetails.csv",
                "ItemSelectionDetails.csv",
            ),
            (7, 3, 13780, 8.0),
        ),
    ],
    ids=["orders-only", "items-only", "checks-items", "payments-items-orders", "all", "reversed"],
)
def test_export_subsets_in_any_order(
    settings: Settings, files: tuple[str, ...], expected: tuple[Any, ...]
) -> None:
    import_ok(settings, FIXTURES / "restaurants.csv")
    import_ok(settings, *(EXPORT_DAY / name for name in files))
    assert {k: v for k, v in daily(settings).items() if k[0] == "r01"} == {
        ("r01", "2025-03-11"): expected
    }


def test_web_download_with_several_locations(settings: Settings) -> None:
    # Toast Web's download (BOM, CRLF, M/D/YY h:mm AM) for two locations, each matched by its
    # Location name (the restaurants' pos_location_id).
    parsed = toast_export.ADAPTER.parse(WEB, CTX)
    assert parsed.rejects.empty
    by_order = dict(zip(parsed.lines[c.ORDER_ID], parsed.lines[c.RESTAURANT_ID], strict=False))
    assert by_order["1400000000000000001"] == "r09" and by_order["1500000000000000003"] == "r10"
    import_ok(settings, FIXTURES / "restaurants.csv", WEB)
    assert {k: v for k, v in daily(settings).items() if k[0] in ("r09", "r10")} == {
        # Chicago, cutoff 03:00: 11/2/25 1:30 AM falls in the repeated hour (taken as CDT,
        # 06:30Z); either way 01:30 - 3 h is the 1st. Draft IPA 9.00.
        ("r09", "2025-11-01"): (None, 1, 900, 1.0),
        # 3:30 AM CST - 3 h = 00:30 on the 2nd. Iced Tea 4.50.
        ("r09", "2025-11-02"): (None, 1, 450, 1.0),
        # New York, cutoff 04:00: 3/9/25 2:30 AM does not exist (clocks jump to 03:00 EDT);
        # 03:00 - 4 h is the 8th. Burger 22.00 + fries 8.00.
        ("r10", "2025-03-08"): (None, 1, 3000, 2.0),
        # 4:30 AM EDT: the 9th. Clam Chowder x2, 22.00.
        ("r10", "2025-03-09"): (None, 1, 2200, 2.0),
    }


def test_export_restaurant_resolution(tmp_path: Path) -> None:
    # not in a folder named after a pos_location_id, Location not a pos_location_id either
    loose = tmp_path / "ItemSelectionDetails.csv"
    shutil.copy(EXPORT_DAY / "ItemSelectionDetails.csv", loose)
    with pytest.raises(ImportFileError) as info:
        toast_export.ADAPTER.parse(loose, CTX)
    assert "--restaurant" in str(info.value) and "Location" in str(info.value)
    parsed = toast_export.ADAPTER.parse(loose, ParseContext(DIRECTORY, restaurant="r01"))
    assert set(parsed.lines[c.RESTAURANT_ID]) == {"r01"}
    # two unknown locations in one file cannot both be the file's restaurant
    text = loose.read_text(encoding="utf-8").splitlines()
    text[2] = text[2].replace("Harbor Grill,", "Harbor Grill Downtown,", 1)
    loose.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        toast_export.ADAPTER.parse(loose, ParseContext(DIRECTORY, restaurant="r01"))
    assert info.value.field == "Location" and "several locations" in str(info.value)


def test_export_rejects_name_the_column(tmp_path: Path) -> None:
    folder = tmp_path / GUID
    folder.mkdir()
    lines = (EXPORT_DAY / "ItemSelectionDetails.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",14.00,1.0,", ",fourteen,1.0,")  # Net Price of row 2
    lines[2] = lines[2].replace("03/11/2025 12:10:05", "2025-13-45 12:10")  # Order Date of row 3
    lines[3] = lines[3].replace(",false,false,false,", ",maybe,false,false,")  # Void? of row 4
    lines.insert(5, "Harbor Grill,truncated")
    path = folder / "ItemSelectionDetails.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed = toast_export.ADAPTER.parse(path, CTX)
    rejects = parsed.rejects.set_index(c.REJECT_ROW)
    assert rejects.loc[2, c.REJECT_FIELD] == "Net Price"
    assert "'fourteen'" in str(rejects.loc[2, c.REJECT_REASON])
    assert rejects.loc[3, c.REJECT_FIELD] == "Order Date"
    assert "MM/DD/YYYY" in str(rejects.loc[3, c.REJECT_REASON])
    assert rejects.loc[4, c.REJECT_FIELD] == "Void?"
    assert "fields" in str(rejects.loc[6, c.REJECT_REASON])
    assert len(parsed.lines) == 9 - 4  # the deferred gift card is left out, not rejected
    # a required column missing: the whole file is refused, naming the column
    path.write_text("\n".join(lines).replace("Net Price", "Price"), encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        toast_export.ADAPTER.parse(path, CTX)
    assert info.value.field == "Net Price" and info.value.row == 1
    no_dates = "\n".join(lines).replace("Order Date", "Ordered").replace("Sent Date", "Sent")
    path.write_text(no_dates, encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        toast_export.ADAPTER.parse(path, CTX)
    assert info.value.field == "Order Date"


def test_modifier_export_is_not_read(tmp_path: Path) -> None:
    # ModifiersSelectionDetails.csv: its prices are inside the items' Net Price already
    header = (
        "Location,Order Id,Order #,Sent Date,Order Date,Check Id,Server,Table,Dining Area,"
        "Service,Dining Option,Item Selection Id,Modifier Id,Master Id,Modifier SKU,Modifier,"
        "Option Group ID,Option Group Name,Parent Menu Selection Item ID,Parent Menu Selection,"
        "Sales Category,Gross Price,Discount,Net Price,Qty,Void?,Void Reason ID,Void Reason"
    )
    path = tmp_path / "ModifiersSelectionDetails.csv"
    path.write_text(header + "\n", encoding="utf-8")
    assert detect(path) is None


def test_sniffers_leave_other_formats_alone(tmp_path: Path) -> None:
    """Every file of a generated sample goes to its own format: the Toast ones to toast and
    toast_export, no other vendor's to them."""
    import datetime as dt

    out = load_generator().generate(tmp_path / "s", start=dt.date(2025, 3, 1), days=3, seed=5)
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.suffix != ".md"):
        found = detect(path)
        name = found.name if found else None
        relative = path.relative_to(out).as_posix()
        if relative.startswith("toast/export/"):
            assert name == "toast_export", relative
        elif relative.startswith("toast/"):
            assert name == "toast", relative
        else:
            assert name not in ("toast", "toast_export"), relative
            head = head_text(path) if path.suffix != ".parquet" else ""
            assert not toast.ADAPTER.sniff(path, head) and not toast_export.ADAPTER.sniff(
                path, head
            )


# ============================================================================ property tests

PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FIXTURE_ORDERS = json.loads((API / "ordersBulk_20250308.json").read_text(encoding="utf-8"))[:3]


@PROPERTY
@given(data=st.data())
def test_mutated_orders_bulk_only_import_file_error(tmp_path: Path, data: st.DataObject) -> None:
    """The fixture's first orders (refundDetails, refund transactions, check discounts,
    modifiers) with one value anywhere replaced: only ImportFileError may escape."""
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(data.draw(mutations(FIXTURE_ORDERS))), encoding="utf-8")
    parse_quietly(toast.ADAPTER, path)


def test_header_only_export_files_load_nothing(tmp_path: Path) -> None:
    # a closed day's export: every file with its header only, in a folder naming no restaurant
    for name, header in zip(
        EXPORT_FILES,
        (toast_export.Items.HEADER, toast_export.Orders.HEADER, toast_export.Checks.HEADER,
         toast_export.Payments.HEADER),
        strict=True,
    ):  # fmt: skip
        path = tmp_path / name
        path.write_text(",".join(header) + "\n", encoding="utf-8")
        assert detect(path) is toast_export.ADAPTER
        parsed = toast_export.ADAPTER.parse(path, CTX)
        assert parsed.rows_read == 0 and parsed.lines.empty and parsed.orders.empty
