"""Clover orders JSON, built from Clover's published shape, through the adapter and ``flux import``.

Sources (see tests/fixtures/vendors/clover/README.md for field-by-field notes):

- clover/clover-android-sdk ``clover-android-sdk/src/androidTest/assets/orders/order_items_1.json``
  (one order: ``href`` ``.../v3/merchants/{mId}/orders/{id}``, ``createdTime`` /
  ``clientCreatedTime`` / ``modifiedTime`` in epoch ms, ``state`` "open", ``testMode``,
  ``lineItems.elements[]`` with ``price`` in cents, ``exchanged``, ``refunded``, ``isRevenue``,
  ``taxRates.elements[].rate`` 825000 = 8.25 %, ``total`` 1545 including tax) and
  ``order_items_400.json`` (``"discounts": null, "modifications": null``);
- the same repository's models ``com/clover/sdk/v3/order/LineItem.java`` (every list is
  ``{"elements": [...]}``), ``Discount.java`` (``amount`` <= 0 in cents, ``percentage`` >= 0),
  ``OrderCalc.java`` (percentages summed and clamped to 0-100; amounts summed; refunded items stay
  in the total before refunds, exchanged ones never; VAT prices include tax) and
  ``payments/Credit.java``;
- goparrot/clover-api-client ``src/api/interface/ICloverApiLineItem.ts`` (``unitQty``: "PRICE *
  (UNIT QTY / 1000)") and ``ICloverApiRefund.ts`` (refund ``amount`` "including tax and tip",
  ``taxAmount``, ``tipAmount``);
- api-evangelist/clover ``json-schema/platform-rest-api-order-schema.json`` (``paymentState``,
  ``testMode``, ``deletedTimestamp``, ``discounts``, ``refunds``, ``credits``);
- docs.clover.com "Calculate order totals" (line price plus modifiers; line percentage then
  amount discounts; order percentage then amount discounts) and help.clover.com "Label summaries
  use order-level discount values" (an order's percentage applies to each item, its amount is
  shared in proportion).

Every expected figure below is worked out by hand in the comments.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io import schema
from pipelines.io.adapters import FORMATS, clover, detect, get
from pipelines.io.adapters.base import Directory, ParseContext, ParsedFile, RestaurantInfo
from pipelines.io.db import Database
from pipelines.settings import Settings
from tests.conftest import load_generator
from tests.helpers import demand_daily, run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "vendors" / "clover"
NIGHT_OWL = "7RZK2M4QX9WBA"  # r04's Clover merchant id
SAN_JOSE = "SJ4CAFE7KQ2MB"
DUBLIN = "EU7DUBL1NPUB3"
RESTAURANTS = [
    RestaurantInfo("r04", "America/Chicago", 4, "USD", "clover", NIGHT_OWL),
    RestaurantInfo("r10", "America/Los_Angeles", 4, "USD", "clover", SAN_JOSE),
    RestaurantInfo("r11", "Europe/Dublin", 3, "EUR", "clover", DUBLIN),
    RestaurantInfo("r01", "America/New_York", 4, "USD", "toast", "toast-guid"),
]
RESTAURANTS_CSV = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    f"r04,Night Owl Diner,America/Chicago,US,IL,4,clover,{NIGHT_OWL},USD\n"
    f"r10,San Jose Cafe,America/Los_Angeles,US,CA,4,clover,{SAN_JOSE},USD\n"
    f"r11,Dublin Pub,Europe/Dublin,IE,,3,clover,{DUBLIN},EUR\n"
    "r01,Harbor Grill,America/New_York,US,NY,4,toast,toast-guid,USD\n"
)


def ctx(restaurant: str | None = None) -> ParseContext:
    return ParseContext(directory=Directory(RESTAURANTS), restaurant=restaurant)


def parse(path: Path, restaurant: str | None = None) -> ParsedFile:
    return clover.ADAPTER.parse(path, ctx(restaurant))


def write(folder: Path, name: str, document: Any) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def line(parsed: ParsedFile, line_id: str) -> dict[str, Any]:
    rows = parsed.lines[parsed.lines[c.LINE_ID] == line_id]
    assert len(rows) == 1, f"{line_id}: {len(rows)} rows"
    return {str(k): v for k, v in rows.iloc[0].items()}


def daily(parsed: ParsedFile) -> dict[tuple[str, str], tuple[int, int, float]]:
    """(restaurant, day) -> (orders, net sales, item quantity), by the rules of docs/formats.md.

    A small independent reading of the frames (not Flux's rollups): orders with a top-level sale
    or comp line count on their own business date; net sales and items on each line's.
    """
    x = parsed.lines
    demand = x[x[c.KIND].isin(["sale", "comp"])]
    top = demand[demand[c.PARENT_LINE_ID].isna()]
    orders = parsed.orders[parsed.orders[c.ORDER_ID].isin(set(top[c.ORDER_ID]))]
    out: dict[tuple[str, str], list[float]] = {}
    for _, o in orders.iterrows():
        key = (o[c.RESTAURANT_ID], str(o[c.BUSINESS_DATE].date()))
        out.setdefault(key, [0, 0, 0.0])[0] += 1
    for _, ln in demand.iterrows():
        key = (ln[c.RESTAURANT_ID], str(ln[c.BUSINESS_DATE].date()))
        got = out.setdefault(key, [0, 0, 0.0])
        got[1] += int(ln[c.NET_AMOUNT_MINOR])
        if pd.isna(ln[c.PARENT_LINE_ID]):
            got[2] += float(ln[c.QUANTITY])
    return {k: (int(v[0]), int(v[1]), round(v[2], 6)) for k, v in out.items()}


# -------------------------------------------------------------- the Night Owl list response

# orders_night_owl.json: GET /v3/merchants/7RZK2M4QX9WBA/orders?expand=lineItems,... for r04
# (America/Chicago, business day turns at 04:00). Chicago is UTC-6 until 2025-03-09 02:00, then
# UTC-5.
#
# 2025-03-07 (Fri):
#   O1 19:10 CST  Cheeseburger 13.95 + Add Bacon 2.50 + No Onions 0.00 = 16.45, less "Lunch
#                 deal" 1.00 = 15.45; Onion Rings 4.95 less 25 % (1.2375 -> 1.24) = 3.71;
#                 coffee beans 16.00/lb x 500/1000 lb = 8.00. Subtotal 15.45 + 3.71 + 8.00 =
#                 27.16; order 10 % off (2.716 -> 2.72): 27.16 - 2.72 = 24.44
#   O2 01:30 CST on the 8th (before 04:00): Apple Pie 6.50 comped (100 %) = 0.00 and Milkshake
#                 7.50; order "$2 off" goes to the shake (the pie has nothing left): 5.50
#   O3 20:00 CST  Gift Card 25.00 (isRevenue false: not demand) + Fountain Soda 3.00 = 3.00
#   O4 21:00 CST  testMode order: not demand
#   O5 22:00 CST  Pancake Stack 9.95 (refunded on the 9th: the sale stays demand) = 9.95
#   O9 03:50 CST on the 8th: Hash Browns 4.95 (the Apple Pie added at 04:20 counts on the 8th)
#   orders: O1, O2, O3, O5, O9 = 5
#   net: 24.44 + 5.50 + 3.00 + 9.95 + 4.95 = 47.84
#   items: O1 1 + 1 + 0.5, O2 1 + 1, O3 1, O5 1, O9 1 = 7.5
# 2025-03-08 (Sat):
#   O6 18:00 CST  Fountain Soda exchanged (void) for Orange Juice 4.25 = 4.25
#   O7 01:30 CST on the 9th (before 04:00 and before the clocks change): Coffee 3.50
#   O9's Apple Pie 6.50 (line createdTime 04:20 CST on the 8th)
#   orders: O6, O7 = 2; net: 4.25 + 3.50 + 6.50 = 14.25; items: 1 + 1 + 1 = 3
# 2025-03-09 (Sun, 23 hours):
#   O8 04:30 CDT  Coffee 3.50; O5's refund (10.97 paid back incl. 1.02 tax) is not demand
#   orders 1, net 3.50, items 1
NIGHT_OWL_DAYS = {
    ("r04", "2025-03-07"): (5, 4784, 7.5),
    ("r04", "2025-03-08"): (2, 1425, 3.0),
    ("r04", "2025-03-09"): (1, 350, 1.0),
}


@pytest.fixture(scope="module")
def night_owl() -> ParsedFile:
    return parse(FIXTURES / "orders_night_owl.json")


def test_night_owl_days(night_owl: ParsedFile) -> None:
    assert night_owl.rejects.empty
    assert night_owl.rows_read == 9
    assert daily(night_owl) == NIGHT_OWL_DAYS
    assert night_owl.orders[c.COVERS].isna().all()  # Clover orders carry no guest count
    assert set(night_owl.lines[c.SOURCE]) == {"clover"}


def test_night_owl_discounts_shared_out(night_owl: ParsedFile) -> None:
    # O1's order discount 2.72 shared in proportion to 15.45 / 3.71 / 8.00 (of 27.16):
    #   burger 272 x 1545 / 2716 = 154.72, rings 37.15, beans 80.12 -> 154 + 37 + 80 = 271,
    #   the last cent to the largest remainder (the burger): 155, 37, 80
    #   burger 15.45 - 1.55 = 13.90, rings 3.71 - 0.37 = 3.34, beans 8.00 - 0.80 = 7.20
    # the burger's 16.45 - 13.90 = 2.55 off shared between 13.95 / 2.50 / 0.00:
    #   255 x 1395 / 1645 = 216.24, 255 x 250 / 1645 = 38.75 -> 216 + 38, one cent to the
    #   bacon (remainder .75): 13.95 - 2.16 = 11.79 and 2.50 - 0.39 = 2.11
    assert line(night_owl, "LI1BURGER0001")[c.NET_AMOUNT_MINOR] == 1179
    assert line(night_owl, "LI1BURGER0001:MD1BACON00001")[c.NET_AMOUNT_MINOR] == 211
    assert line(night_owl, "LI1BURGER0001:MD1BACON00001")[c.PARENT_LINE_ID] == "LI1BURGER0001"
    no_onions = line(night_owl, "LI1BURGER0001:MD1NOONION001")
    assert (no_onions[c.NET_AMOUNT_MINOR], no_onions[c.KIND]) == (0, "sale")  # free, not a comp
    assert line(night_owl, "LI1FRIES00001")[c.NET_AMOUNT_MINOR] == 334
    beans = line(night_owl, "LI1BEANS00001")
    assert (beans[c.NET_AMOUNT_MINOR], beans[c.QUANTITY]) == (720, 0.5)
    assert line(night_owl, "LI1BURGER0001")[c.CATEGORY] == "Burgers"  # item.categories
    pie = line(night_owl, "LI2PIE0000001")
    assert (pie[c.KIND], pie[c.NET_AMOUNT_MINOR]) == ("comp", 0)
    assert line(night_owl, "LI2SHAKE00001")[c.NET_AMOUNT_MINOR] == 550  # 7.50 - 2.00


def test_night_owl_kinds(night_owl: ParsedFile) -> None:
    kinds = dict(zip(night_owl.lines[c.LINE_ID], night_owl.lines[c.KIND], strict=True))
    assert "LI3GIFTCARD01" not in kinds  # isRevenue false: not imported
    assert kinds["LI4BURGER0001"] == "void"  # testMode order
    assert kinds["LI6SODA000001"] == "void"  # exchanged for the orange juice
    assert kinds["LI6JUICE00001"] == "sale"
    refund = line(night_owl, "refund-RF5PANCAKES01")
    # refunded 10.97, of which tax 1.02 and tip 0.00: 9.95 before tax, dated 12:00 CDT on the 9th
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.ORDER_ID]) == (
        "refund",
        -995,
        "O5REFUNDED001",
    )
    assert refund[c.BUSINESS_DATE] == pd.Timestamp("2025-03-09")
    assert line(night_owl, "LI5PANCAKES01")[c.KIND] == "sale"  # the sale stays demand
    # O9: the order opens 03:50 CST (the 7th), its pie is added 04:20 CST (the 8th)
    assert line(night_owl, "LI9APPLEPIE01")[c.TS_UTC] == pd.Timestamp("2025-03-08T10:20:00Z")
    # orders open at clientCreatedTime (createdTime is 412 ms later on the server)
    o1 = night_owl.orders[night_owl.orders[c.ORDER_ID] == "O1FRIBURGER01"].iloc[0]
    assert o1[c.OPENED_AT_UTC] == pd.Timestamp("2025-03-08T01:10:00Z")


# ------------------------------------------------------------------- other shapes and places


def test_single_order_like_the_sdk_fixture() -> None:
    # order_single.json: GET /v3/merchants/SJ4CAFE7KQ2MB/orders/{id}, shaped as the SDK's
    # order_items_1.json: 12.95 Chicken Fried Steak, total 15.45 with three tax rates (not
    # read). 19:05 PDT on 2025-06-14 -> 1 order, 12.95, 1 item.
    parsed = parse(FIXTURES / "order_single.json")
    assert parsed.rejects.empty
    assert daily(parsed) == {("r10", "2025-06-14"): (1, 1295, 1.0)}


def test_pages_of_two_merchants_with_bom_and_crlf() -> None:
    # orders_two_merchants.json: two list responses in one array (UTF-8 BOM, CRLF).
    # Page 1 (merchant 7RZK2M4QX9WBA): OA has no href of its own and takes its page's: r04,
    #   12:00 CDT 2025-03-10, Patty Melt 12.95.
    # Page 2 (SJ4CAFE7KQ2MB): OB names it in its own href: r10, 12:00 PDT 2025-06-14, 24.99;
    #   OC's href names merchant QQ9UNKNOWNMER, which no restaurant has: rejected (row 3).
    raw = (FIXTURES / "orders_two_merchants.json").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    parsed = parse(FIXTURES / "orders_two_merchants.json")
    assert daily(parsed) == {
        ("r04", "2025-03-10"): (1, 1295, 1.0),
        ("r10", "2025-06-14"): (1, 2499, 1.0),
    }
    rejects = parsed.rejects
    assert list(rejects[c.REJECT_ROW]) == [3]
    assert rejects[c.REJECT_FIELD].iloc[0] == "href"
    assert "QQ9UNKNOWNMER" in rejects[c.REJECT_REASON].iloc[0]


def test_vat_prices_lose_their_tax() -> None:
    # orders_vat_dublin.json: isVat orders of r11 (Europe/Dublin, cutoff 03:00, EUR); prices
    # include VAT, taken out per line item's taxRates:
    #   Fish & Chips 15.00 at 13.5 %: 1500 / 1.135 = 1321.59 -> 13.22
    #   Pint 6.00 at 23 %: 600 / 1.23 = 487.80 -> 4.88
    # 2025-10-25: V1 21:30 IST (13.22 + 4.88), V2 01:30 IST and V3 01:30 GMT on the 26th (the
    #   hour repeated when the clocks go back; both before 03:00): 4.88 each
    #   orders 3, net 13.22 + 4.88 x 3 = 27.86, items 4
    # 2025-10-26: V4 03:30 GMT: 1 order, 4.88, 1 item
    parsed = parse(FIXTURES / "orders_vat_dublin.json")
    assert parsed.rejects.empty
    assert daily(parsed) == {
        ("r11", "2025-10-25"): (3, 2786, 4.0),
        ("r11", "2025-10-26"): (1, 488, 1.0),
    }


def order(oid: str, ms: int, items: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "currency": "USD",
        "createdTime": ms,
        "lineItems": {"elements": items},
        **extra,
    }


def item(lid: str, price: Any, **extra: Any) -> dict[str, Any]:
    return {"id": lid, "name": "Patty Melt", "price": price, **extra}


T0 = 1741629600000  # 2025-03-10T18:00:00Z, 13:00 CDT in Chicago


def test_plain_arrays_and_an_array_of_orders(tmp_path: Path) -> None:
    # An array of orders whose collections are plain arrays (the atomic-order shape), each
    # naming its merchant in merchant.id: 12.95 - 10 % (1.295 -> 1.30) = 11.65, then 2 x 3.00 =
    # 6.00 less 0.50: 5.50. 2025-03-10: 2 orders, 11.65 + 5.50 = 17.15, 2 items.
    ref = {"merchant": {"id": NIGHT_OWL}}
    doc = [
        order("P1", T0, [item("L1", 1295)], discounts=[{"percentage": 10}], **ref),
        order(
            "P2",
            T0,
            [item("L2", 300, unitQty=2000, discounts=[{"name": "50c", "amount": -50}])],
            **ref,
        ),
    ]
    path = write(tmp_path, "orders.json", doc)
    assert detect(path) is clover.ADAPTER
    assert daily(parse(path)) == {("r04", "2025-03-10"): (2, 1715, 3.0)}


def test_restaurant_from_flag_or_folder_when_no_href(tmp_path: Path) -> None:
    doc = {"elements": [order("N1", T0, [item("L1", 1295)])]}
    plain = write(tmp_path, "orders.json", doc)
    with pytest.raises(ImportFileError, match="href"):
        parse(plain)  # nothing names the merchant
    assert set(parse(plain, restaurant="r04").lines[c.RESTAURANT_ID]) == {"r04"}
    in_folder = write(tmp_path / NIGHT_OWL, "orders.json", doc)
    assert set(parse(in_folder).lines[c.RESTAURANT_ID]) == {"r04"}
    with pytest.raises(ImportFileError, match="toast"):
        parse(plain, restaurant="r01")  # a Toast restaurant never gets a Clover file


def test_unknown_merchant_of_a_whole_file(tmp_path: Path) -> None:
    doc = {
        "href": "https://api.clover.com/v3/merchants/QQ9UNKNOWNMER/orders",
        "elements": [order("N1", T0, [item("L1", 1295)])],
    }
    path = write(tmp_path, "orders.json", doc)
    with pytest.raises(ImportFileError, match="QQ9UNKNOWNMER") as info:
        parse(path)
    assert info.value.field == "href"
    assert set(parse(path, restaurant="r04").lines[c.RESTAURANT_ID]) == {"r04"}


def test_rejects_name_the_field_and_the_reason(tmp_path: Path) -> None:
    ok = item("L0", 1295)
    doc = {
        "href": f"https://api.clover.com/v3/merchants/{NIGHT_OWL}/orders",
        "elements": [
            order("R1", T0, [ok]),
            {k: v for k, v in order("R2", T0, [ok]).items() if k != "createdTime"},
            order("R3", T0, [item("L3", 500, discounts={"elements": [{"name": "?"}]})]),
            order("R4", T0, [], lineItems={"href": "https://api.clover.com/v3/x"}),
            order("R5", T0, [item("L5", 500, modifications={"href": "https://x"})]),
            order("R6", T0, [ok], currency="EUR"),
            order("R7", T0, [item("L7", "5.00")]),
            order("R8", T0, [item("L8", 500, discounts=[{"percentage": 150}])]),
            "not an order",
        ],
    }
    parsed = parse(write(tmp_path, "orders.json", doc))
    got = {
        int(r[c.REJECT_ROW]): (r[c.REJECT_FIELD], r[c.REJECT_REASON])
        for _, r in parsed.rejects.iterrows()
    }
    assert got[2] == ("createdTime", "missing")
    assert got[3][0] == "lineItems.elements[0].discounts.elements[0].amount"
    assert "no percentage" in got[3][1]
    assert got[4][0] == "lineItems" and "expand=lineItems" in got[4][1]
    assert got[5][0] == "lineItems.elements[0].modifications"
    assert "expand=lineItems.modifications" in got[5][1]
    assert got[6][0] == "currency"
    assert got[7][0] == "lineItems.elements[0].price" and "5.00" in got[7][1]
    assert got[8][0] == "lineItems.elements[0].discounts[0].percentage"
    assert got[9][0] == "$"
    assert set(got) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert set(parsed.lines[c.ORDER_ID]) == {"R1"}


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    for text, field in (
        ('{"elements": {"id": 1}}', "elements"),
        ('{"id": 1, "total": 5}', "elements"),
        ('{"elements": [{"id": "X", "createdTime": 1, "total": 0}]}', "lineItems"),
    ):
        path = tmp_path / "bad.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ImportFileError) as info:
            parse(path)
        assert info.value.field == field and str(path) in str(info.value)
    path = tmp_path / "cut.json"
    path.write_text((FIXTURES / "orders_night_owl.json").read_text()[:5000], encoding="utf-8")
    with pytest.raises(ImportFileError) as cut:
        parse(path)
    assert cut.value.row is not None and cut.value.row > 1


# ----------------------------------------------------------------------------------- sniffing


def test_detected_and_not_stealing(tmp_path_factory: pytest.TempPathFactory) -> None:
    for path in FIXTURES.glob("*.json"):
        assert detect(path) is clover.ADAPTER, path
    # nobody else claims a Clover fixture
    for path in FIXTURES.glob("*.json"):
        head = path.read_bytes()[:8192].decode("utf-8-sig", errors="replace")
        others = [n for n in FORMATS if n != "clover" and get(n).sniff(path, head)]
        assert others == [], (path, others)
    # and Clover claims no other vendor's fixture or sample file
    vendors = Path(__file__).parent / "fixtures" / "vendors"
    sample = tmp_path_factory.mktemp("sample")
    load_generator().generate(sample, days=2, restaurants=["r01", "r02", "r03", "r05", "r06"])
    theirs = [p for p in vendors.rglob("*") if p.is_file() and "clover" not in p.parts]
    theirs += [p for p in sample.rglob("*") if p.is_file()]
    assert len(theirs) >= 8
    for path in theirs:
        assert detect(path) is not clover.ADAPTER, path


# --------------------------------------------------------------------------- through flux import


def items_daily(settings: Settings) -> dict[tuple[str, str], float]:
    db = Database(settings)
    with db.connect() as conn:
        rows = conn.execute(sa.select(schema.demand_items_daily)).mappings().all()
    db.dispose()
    out: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (r[c.RESTAURANT_ID], str(r[c.BUSINESS_DATE])[:10])
        out[key] = round(out.get(key, 0.0) + float(r[c.QUANTITY]), 6)
    return out


def test_flux_import_lands_the_hand_figures(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "restaurants.csv").write_text(RESTAURANTS_CSV, encoding="utf-8")
    for name in ("orders_night_owl.json", "order_single.json", "orders_vat_dublin.json"):
        shutil.copy(FIXTURES / name, folder / name)
    result = run_cli(settings, ["import", str(folder), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {f["format"] for f in summary["files"]} == {"restaurants", "clover"}
    assert summary["rows_rejected"] == 0
    got = demand_daily(settings)
    figures = {
        (r[c.RESTAURANT_ID], str(r[c.BUSINESS_DATE].date())): (
            None if pd.isna(r[c.COVERS]) else int(r[c.COVERS]),
            int(r[c.ORDERS]),
            int(r[c.NET_SALES_MINOR]),
        )
        for _, r in got.iterrows()
    }
    # the hand figures of the tests above, but each line on its order's business day (as the
    # rollups count a check): O9's Apple Pie, rung at 04:20 on the 8th, counts with O9 on the
    # 7th: 47.84 + 6.50 = 54.34 and 7.5 + 1 items; the 8th keeps 4.25 + 3.50 = 7.75 and 2 items.
    # Covers empty (Clover has no guest count).
    assert figures == {
        ("r04", "2025-03-07"): (None, 5, 5434),
        ("r04", "2025-03-08"): (None, 2, 775),
        ("r04", "2025-03-09"): (None, 1, 350),
        ("r10", "2025-06-14"): (None, 1, 1295),
        ("r11", "2025-10-25"): (None, 3, 2786),
        ("r11", "2025-10-26"): (None, 1, 488),
    }
    assert items_daily(settings) == {
        ("r04", "2025-03-07"): 8.5,
        ("r04", "2025-03-08"): 2.0,
        ("r04", "2025-03-09"): 1.0,
        ("r10", "2025-06-14"): 1.0,
        ("r11", "2025-10-25"): 4.0,
        ("r11", "2025-10-26"): 1.0,
    }
    again = run_cli(settings, ["import", str(folder), "--force", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["rows_loaded"] == 0
