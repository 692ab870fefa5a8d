"""Lightspeed Restaurant K-Series (and iKentoo) Financial API sales, format ``lightspeed``.

The fixtures in ``tests/fixtures/vendors/lightspeed/`` (their README lists the same sources) follow
the vendor's published OpenAPI, ``https://api-docs.lsk.lightspeed.app/source.json``, mirrored in
the public repository ``api-evangelist/lightspeed-pos``:

- ``v1_financials_le_petit_zinc.json``: the 200 response of ``GET /f/finance/{businessLocationId}
  /financials/{from}/{to}`` in ``openapi/lightspeed-pos-financial-api-openapi.yml``, schemas
  ``financial-apiFinancialDto`` (envelope: businessName, nextStartOfDayAsIso8601,
  businessLocationId, sales, dataComplete, _links) and ``financial-apiSaleDto`` (sale:
  accountReference, accountFiscId, receiptId, source, salesLines, payments, timeofOpening,
  timeofCloseAndPaid, cancelled, type with its 11-value enum, nbCovers, dineIn...; line: id,
  parentLineId, totalNetAmountWithTax, totalNetAmountWithoutTax, menuListPrice, serviceCharge,
  discountAmount, taxAmount, taxLines, accountDiscountAmount, totalDiscountAmount, sku, name,
  quantity, accountingGroup, currency, timeofSale, voidReason with its enum). Times are UTC
  (``...Z``, milliseconds) as in the spec's examples.
- ``v2_sales_harbour_fish_bar.json``: the 200 response of ``GET /f/v2/business-location/
  {businessLocationId}/sales`` in ``openapi/lightspeed-pos-financialv2-api-openapi.yml``, schemas
  ``financial-apiSalesExportDto`` (sales, nextPageToken: no business location in the body),
  ``financial-apiSale`` (timeOfOpening, timeClosed) and ``financial-apiLine`` (timeOfSale,
  quantity "1.000").
- ``ikentoo_financials_harbour_fish_bar.json``: the iKentoo-era ``financials`` response documented
  in ``maillotf/ikentoo-bridge-bundle`` ``src/Service/FinancialService.php`` (docblock of
  getReceiptTransactionsRange: businessName, businessLocationId, sales, dataComplete,
  nextPageToken, _links; sales with accountReference, accountFiscId, source, no receiptId,
  timeOfOpening / timeOfCloseAndPaid with a local offset, type, nbCovers 6.0, dineIn; lines with no
  id and no totalNetAmountWithoutTax: totalNetAmountWithTax, menuListPrice, serviceCharge,
  serviceChargeRate, taxAmount, sku, name, quantity "1.000", accountingGroup, currency,
  categories) and ``omniboost/go-ikentoo`` ``types.go`` (amounts as strings or JSON numbers, the
  ``Number`` type; timeOfSale). Written with a UTF-8 BOM and CRLF line ends.
- ``v1_pages_two_locations.json``: V1 responses (pages with ``_links.nextPage``) of two business
  locations and an unknown third one, concatenated in a JSON array.
- ``spec_sale_by_external_reference.json``: the spec's example values for ``GET /f/finance/
  {businessLocationId}/saleByExternalReference`` (schema ``financial-apiSaleDto``), one sale.

The restaurants are the sample data's r03 (Le Petit Zinc, Europe/Paris, cutoff 05:00, EUR,
business location 158796341233665) and r07 (Harbour Fish Bar, Australia/Sydney, cutoff 04:00, AUD,
business location 7700112). Every expected figure below is worked out by hand from the fixture.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters import FORMATS, detect, get, lightspeed
from pipelines.io.adapters.base import Directory, ParseContext, ParsedFile, RestaurantInfo
from pipelines.settings import Settings
from tests.conftest import load_generator
from tests.helpers import demand_daily, run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "vendors" / "lightspeed"
V1 = FIXTURES / "v1_financials_le_petit_zinc.json"
V2 = FIXTURES / "v2_sales_harbour_fish_bar.json"
IKENTOO = FIXTURES / "ikentoo_financials_harbour_fish_bar.json"
PAGES = FIXTURES / "v1_pages_two_locations.json"
SPEC_SALE = FIXTURES / "spec_sale_by_external_reference.json"

R03 = RestaurantInfo("r03", "Europe/Paris", 5, "EUR", "lightspeed", "158796341233665")
R07 = RestaurantInfo("r07", "Australia/Sydney", 4, "AUD", "lightspeed", "7700112")
R90 = RestaurantInfo("r90", "Europe/London", 4, "GBP", "lightspeed", "45454565682155")
DIRECTORY = Directory([R03, R07, R90])
CTX = ParseContext(directory=DIRECTORY)

Day = tuple[int | None, int, int, float]  # covers, orders, net sales (minor units), item quantity

# r03, V1. Business date = Paris wall time minus 05:00; clocks went back at 03:00 CEST on Oct 26.
V1_EXPECTED: dict[str, Day] = {
    # A65315.17 (21:58 CEST, 2 covers): Steak frites x2 40.090909 -> 40.09, its sauce 4.545455
    # -> 4.55 and free cooking 0.00 (modifiers: money, no items), Bordeaux comped (net 0.00,
    # discount 7.50: an item), crème brûlée voided with its ice cream (no demand), Café x2
    # 4.545455 -> 4.55 (the 0.50 service charge is not in totalNetAmountWithoutTax).
    # A65315.18 (03:30 CEST on Oct 25 < 05:00, 3 covers): Moules 17.727273 -> 17.73; its Café
    # was sold at 05:10 CEST (timeofSale) and counts on Oct 25.
    # covers 2 + 3; net 40.09 + 4.55 + 4.55 + 17.73 = 66.92; items 2 + 1 + 2 + 1 = 6
    "2025-10-24": (5, 2, 6692, 6.0),
    # A65315.19 (nbCovers 1.5 -> 2) Croque 12.727273 -> 12.73; A65315.20 at the first 02:30
    # (CEST, 00:30Z) and A65315.21 at the second 02:30 (CET, 01:30Z) of Oct 26, both before
    # 05:00: Pichet 14.545455 -> 14.55 (2 covers), Kir 5.909091 -> 5.91 (1 cover); plus
    # A65315.18's Café 2.272727 -> 2.27. Cancelled A65315.23 and VOID A65315.24 are no demand;
    # the TRANSFER copy of the Croque and the RECALL are bookkeeping.
    # covers 2 + 2 + 1; net 12.73 + 14.55 + 5.91 + 2.27 = 35.46; items 1 + 1 + 1 + 1
    "2025-10-25": (5, 3, 3546, 4.0),
    # A65315.22 (05:30 CET, 2 covers): Plat du jour 16.363636 -> 16.36, cheese 0.250 kg
    # 4.090909 -> 4.09. The CANCEL A65315.25 is no demand, the REFUND A65315.26 (-20.05) is a
    # refund, the SPLIT copy of the Plat du jour, TRANSITORY and CROSS_BL are bookkeeping.
    # net 16.36 + 4.09 = 20.45; items 1 + 0.25
    "2025-10-26": (2, 1, 2045, 1.25),
}

# The same in the database: a line's sales count on its sale's business day (as the rollups count
# a check), so A65315.18's Café (rung at 05:10 on Oct 25) counts with A65315.18 on Oct 24:
# Oct 24 net 66.92 + 2.27 = 69.19, items 6 + 1 = 7; Oct 25 net 35.46 - 2.27 = 33.19, items 3.
V1_STORED: dict[str, Day] = {
    **V1_EXPECTED,
    "2025-10-24": (5, 2, 6919, 7.0),
    "2025-10-25": (5, 3, 3319, 3.0),
}

# r07, V2. Business date = Sydney wall time minus 04:00; clocks jumped 02:00 -> 03:00 on Oct 5.
V2_EXPECTED: dict[str, Day] = {
    # A88001.1 (18:30 AEST, 4 covers): flathead x2 50.909091 -> 50.91, its chips x2 10.909091
    # -> 10.91 (modifier), 3 schooners 30.00, half-price wine 5.909091 -> 5.91
    # net 50.91 + 10.91 + 30.00 + 5.91 = 97.73; items 2 + 3 + 1
    "2025-10-03": (4, 1, 9773, 6.0),
    # A88001.2 at 01:30 AEST and A88001.3 at 03:30 AEDT on Oct 5, both before 04:00:
    # tacos 21.818182 -> 21.82 (2 covers), chips 7.272727 -> 7.27 (1 cover)
    "2025-10-04": (3, 2, 2909, 2.0),
    # A88001.4 at 04:30 AEDT: prawn roll 23.636364 -> 23.64 (2 covers). The REFUND of the wine
    # (written positive, stored -5.91) is no demand; the TRANSFER copy is bookkeeping.
    "2025-10-05": (2, 1, 2364, 1.0),
}

# r07, iKentoo era: no totalNetAmountWithoutTax on most lines, so net = totalNetAmountWithTax
# - taxAmount - serviceCharge. Clocks went back 03:00 AEDT -> 02:00 AEST on Apr 6.
IKENTOO_EXPECTED: dict[str, Day] = {
    # A4275.9 (19:05 +11:00, 6 covers): platter 98.00 - 8.9091 = 89.0909 -> 89.09; 3 schooners
    # 36.30 - 3.00 tax - 3.30 service = 30.00; 2 pavlovas (JSON numbers) 28 - 2.5455 = 25.4545
    # -> 25.45; flat white totalNetAmountWithoutTax 4.545455 -> 4.55
    # net 89.09 + 30.00 + 25.45 + 4.55 = 149.09; items 1 + 3 + 2 + 1
    "2025-04-04": (6, 1, 14909, 7.0),
    # A4275.10 at 02:30 +11:00 and A4275.11 at 02:30 +10:00 (the repeated hour), both before
    # 04:00 on Apr 6: kids fish 14.00 - 1.2727 = 12.7273 -> 12.73 (2 covers), chips 8.00 -
    # 0.7273 = 7.2727 -> 7.27 (1 cover)
    "2025-04-05": (3, 2, 2000, 2.0),
    # A4275.12 (12:00 +10:00, 2 covers): barramundi 34.00 - 3.0909 = 30.9091 -> 30.91, voided
    # lamington, comped lemon lime & bitters (0.00 with a 6.50 discount: an item). The REFUND
    # of a pavlova and the cancelled A4275.14 are no demand.
    "2025-04-06": (2, 1, 3091, 2.0),
}


def rollup(parsed: ParsedFile) -> dict[str, dict[str, Day]]:
    """Per restaurant and business day: (covers, orders, net sales, item quantity), following
    docs/formats.md "Demand" (a reference written for the test, not Flux's rollup)."""
    lines = parsed.lines
    demand = lines[lines[c.KIND].isin([c.KIND_SALE, c.KIND_COMP])]
    top = demand[demand[c.PARENT_LINE_ID].isna()]
    counted = set(zip(top[c.RESTAURANT_ID], top[c.ORDER_ID], strict=True))
    out: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for o in parsed.orders.itertuples(index=False):
        rid, oid = getattr(o, c.RESTAURANT_ID), getattr(o, c.ORDER_ID)
        if (rid, oid) not in counted:
            continue
        day = out[rid].setdefault(str(getattr(o, c.BUSINESS_DATE).date()), [None, 0, 0, 0.0])
        covers = getattr(o, c.COVERS)
        if not pd.isna(covers):
            day[0] = (day[0] or 0) + int(covers)
        day[1] += 1
    for x in demand.itertuples(index=False):
        day = out[getattr(x, c.RESTAURANT_ID)].setdefault(
            str(getattr(x, c.BUSINESS_DATE).date()), [None, 0, 0, 0.0]
        )
        day[2] += int(getattr(x, c.NET_AMOUNT_MINOR))
        if pd.isna(getattr(x, c.PARENT_LINE_ID)):
            day[3] += float(getattr(x, c.QUANTITY))
    return {
        rid: {d: (v[0], v[1], v[2], round(v[3], 6)) for d, v in days.items()}
        for rid, days in out.items()
    }


def parse(path: Path, ctx: ParseContext = CTX) -> ParsedFile:
    return lightspeed.ADAPTER.parse(path, ctx)


def one(parsed: ParsedFile, line_id: str) -> dict[str, Any]:
    rows = parsed.lines[parsed.lines[c.LINE_ID] == line_id]
    assert len(rows) == 1, f"{line_id}: {len(rows)} rows"
    return {str(k): v for k, v in rows.iloc[0].items()}


def write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# ------------------------------------------------------------------------- V1 (current spec)


def test_v1_daily_demand() -> None:
    parsed = parse(V1)
    assert parsed.rejects.empty, parsed.rejects.to_dict("records")
    assert parsed.rows_read == 17  # 10 sales and refunds, 7 bookkeeping records
    assert rollup(parsed) == {"r03": V1_EXPECTED}


def test_v1_lines_kinds_and_bookkeeping() -> None:
    parsed = parse(V1)
    kinds = dict(zip(parsed.lines[c.LINE_ID], parsed.lines[c.KIND], strict=True))
    assert kinds["S65315.34"] == "comp"  # 0.00 after a 7.50 discount
    assert kinds["S65315.35"] == kinds["S65315.36"] == "void"  # voidReason, and its child
    assert kinds["S65315.33"] == "sale"  # a free modifier, not a comp
    assert {kinds[i] for i in ("S65315.47", "S65315.48", "S65315.49")} == {"void"}
    sauce = one(parsed, "S65315.32")
    assert (sauce[c.PARENT_LINE_ID], sauce[c.NET_AMOUNT_MINOR]) == ("S65315.31", 455)
    assert sauce[c.CATEGORY] == "Suppléments"
    steak = one(parsed, "S65315.31")
    assert (steak[c.ORDER_ID], steak[c.QUANTITY], steak[c.CURRENCY]) == ("A65315.17", 2.0, "EUR")
    assert steak[c.TS_UTC] == pd.Timestamp("2025-10-24T20:01:02.474Z")  # its timeofSale
    # the refund is dated at its own sale (Oct 26, 13:05 CET), not its line's timeofSale
    refund = one(parsed, "S65315.60")
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.QUANTITY]) == ("refund", -2005, -1)
    assert refund[c.BUSINESS_DATE] == pd.Timestamp("2025-10-26")
    assert refund[c.TS_UTC] == pd.Timestamp("2025-10-26T12:05:00Z")
    # bookkeeping records add no order and no line; the UPDATE of A65315.18 changed nothing
    orders = set(parsed.orders[c.ORDER_ID])
    assert not orders & {f"A65315.{n}" for n in range(27, 33)}
    moules = one(parsed, "S65315.40")
    assert (moules[c.QUANTITY], moules[c.NET_AMOUNT_MINOR]) == (1.0, 1773)
    covers = dict(zip(parsed.orders[c.ORDER_ID], parsed.orders[c.COVERS], strict=True))
    assert covers["A65315.19"] == 2  # nbCovers 1.5, rounded half up
    assert parsed.orders.loc[parsed.orders[c.ORDER_ID] == "A65315.20", c.OPENED_AT_UTC].item() == (
        pd.Timestamp("2025-10-26T00:30:00Z")
    )


# ---------------------------------------------------------------------------- V2 (no location)


def test_v2_with_restaurant_option() -> None:
    parsed = parse(V2, ParseContext(DIRECTORY, restaurant="r07"))
    assert parsed.rejects.empty
    assert rollup(parsed) == {"r07": V2_EXPECTED}
    refund = one(parsed, "S88001.20")  # written positive: stored negative
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR], refund[c.QUANTITY]) == ("refund", -591, -1)
    assert refund[c.BUSINESS_DATE] == pd.Timestamp("2025-10-05")
    assert "A88001.6" not in set(parsed.orders[c.ORDER_ID])  # the TRANSFER


def test_v2_restaurant_from_folder_name(tmp_path: Path) -> None:
    path = tmp_path / "7700112" / V2.name  # a folder named after the business location id
    path.parent.mkdir()
    shutil.copy(V2, path)
    assert rollup(parse(path)) == {"r07": V2_EXPECTED}


def test_v2_without_restaurant_is_an_import_error() -> None:
    with pytest.raises(ImportFileError, match="--restaurant") as info:
        parse(V2)
    assert "business-location" in str(info.value)


# ------------------------------------------------------------------------------- iKentoo era


def test_ikentoo_daily_demand_bom_crlf() -> None:
    raw = IKENTOO.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    parsed = parse(IKENTOO)
    assert parsed.rejects.empty, parsed.rejects.to_dict("records")
    assert rollup(parsed) == {"r07": IKENTOO_EXPECTED}


def test_ikentoo_ids_and_amounts() -> None:
    parsed = parse(IKENTOO)
    # no receiptId: the order id is accountFiscId; lines without id: <order id>#<position>
    assert list(parsed.lines.loc[parsed.lines[c.ORDER_ID] == "A4275.9", c.LINE_ID]) == [
        "A4275.9#1",
        "A4275.9#2",
        "A4275.9#3",
        "A4275.9#4",
    ]
    assert parse(IKENTOO).lines[c.LINE_ID].tolist() == parsed.lines[c.LINE_ID].tolist()
    assert one(parsed, "A4275.9#2")[c.NET_AMOUNT_MINOR] == 3000  # 36.30 - 3.00 - 3.30
    assert one(parsed, "A4275.9#3")[c.NET_AMOUNT_MINOR] == 2545  # 28 - 2.5455 (numbers)
    refund = one(parsed, "A4275.13#1")  # -14.00 - (-1.2727) = -12.7273
    assert (refund[c.KIND], refund[c.NET_AMOUNT_MINOR]) == ("refund", -1273)
    opened = dict(zip(parsed.orders[c.ORDER_ID], parsed.orders[c.OPENED_AT_UTC], strict=True))
    assert opened["A4275.10"] == pd.Timestamp("2025-04-05T15:30:00Z")  # 02:30 +11:00
    assert opened["A4275.11"] == pd.Timestamp("2025-04-05T16:30:00Z")  # 02:30 +10:00


# ---------------------------------------------------------- several locations, one sale


def test_pages_of_two_locations() -> None:
    parsed = parse(PAGES)
    # r03: A1.1 Plat du jour 16.36 (2 covers), A1.2 Steak frites 22.27 (3 covers), June 2nd
    # r07: A7.1 2 x chips 7.27 (1 cover) at 12:00 AEST June 2nd
    assert rollup(parsed) == {
        "r03": {"2025-06-02": (5, 2, 1636 + 2227, 2.0)},
        "r07": {"2025-06-02": (1, 1, 727, 2.0)},
    }
    assert parsed.rejects[c.REJECT_ROW].tolist() == [4]  # the fourth sale of the file
    assert parsed.rejects[c.REJECT_FIELD].tolist() == ["[3].businessLocationId"]
    assert "'999'" in parsed.rejects[c.REJECT_REASON].item()


def test_spec_sale_by_external_reference() -> None:
    parsed = parse(SPEC_SALE, ParseContext(DIRECTORY, restaurant="r90"))
    line = one(parsed, "S65315.33")
    assert (line[c.ITEM], line[c.CATEGORY], line[c.NET_AMOUNT_MINOR]) == ("Burger", "Food", 833)
    assert (line[c.PARENT_LINE_ID], line[c.KIND], line[c.CURRENCY]) == ("S65315.32", "sale", "GBP")
    assert parsed.orders[[c.ORDER_ID, c.COVERS]].values.tolist() == [["A65315.17", 2]]
    # the example is in GBP: to a EUR restaurant it is refused, naming the field
    wrong = parse(SPEC_SALE, ParseContext(DIRECTORY, restaurant="r03"))
    assert wrong.lines.empty
    assert wrong.rejects[c.REJECT_FIELD].tolist() == ["salesLines[0].currency"]
    assert "EUR" in wrong.rejects[c.REJECT_REASON].item()


# ----------------------------------------------------------------------------- rejects, errors


def v1_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(V1.read_text(encoding="utf-8"))
    return document


def test_rejects_name_the_field_and_reason(tmp_path: Path) -> None:
    document = v1_document()
    sales = document["sales"]
    sales[2]["type"] = "SWAP"
    sales[3]["salesLines"][0]["quantity"] = "two"
    for key in ("timeofOpening", "timeofCloseAndPaid"):
        del sales[4][key]
    del sales[5]["salesLines"][1]["totalNetAmountWithoutTax"]
    del sales[5]["salesLines"][1]["taxAmount"]
    sales[5]["salesLines"][1].pop("taxLines")
    sales[0]["nbCovers"] = -1
    sales[1]["salesLines"][0]["timeofSale"] = "2025-10-25 01:31:10"  # no offset
    sales.append("not a sale")
    parsed = parse(write_json(tmp_path / "s.json", document))
    rejects = parsed.rejects.set_index(c.REJECT_ROW)
    assert list(rejects.index) == [1, 2, 3, 4, 5, 6, 18]
    assert rejects.loc[1, c.REJECT_FIELD] == "nbCovers"
    assert rejects.loc[2, c.REJECT_FIELD] == "salesLines[0].timeofSale"
    assert "UTC offset" in rejects.loc[2, c.REJECT_REASON]
    assert rejects.loc[3, c.REJECT_FIELD] == "type"
    assert (
        "SWAP" in rejects.loc[3, c.REJECT_REASON] and "CROSS_BL" in rejects.loc[3, c.REJECT_REASON]
    )
    assert rejects.loc[4, c.REJECT_FIELD] == "salesLines[0].quantity"
    assert rejects.loc[5, c.REJECT_FIELD] == "timeofOpening"
    assert rejects.loc[6, c.REJECT_FIELD] == "salesLines[1].taxAmount"
    assert rejects.loc[18, c.REJECT_FIELD] == "$"
    assert rejects.loc[18, c.REJECT_RAW] == '"not a sale"'
    assert not set(parsed.orders[c.ORDER_ID]) & {f"A65315.{n}" for n in range(17, 23)}


def test_file_errors_name_the_field(tmp_path: Path) -> None:
    document = v1_document()
    cases: list[tuple[Any, str | None, str]] = [
        ({**document, "sales": {}}, "sales", "array"),
        ({**document, "businessLocationId": [1]}, "businessLocationId", "location id"),
        ({**document, "businessLocationId": 999}, "businessLocationId", "'999'"),
        ({"elements": [], "href": "x"}, "sales", "elements, href"),
        ("sales", None, "a string"),
    ]
    for doc, field, words in cases:
        with pytest.raises(ImportFileError) as info:
            parse(write_json(tmp_path / "e.json", doc))
        assert info.value.field == field, doc
        assert words in str(info.value) and str(tmp_path / "e.json") in str(info.value)
    for raw in (b"", b'{"sales": [', b"\xff\xfe{}"):
        (tmp_path / "e.json").write_bytes(raw)
        with pytest.raises(ImportFileError):
            parse(tmp_path / "e.json")


def test_empty_responses(tmp_path: Path) -> None:
    for doc in (
        {"businessLocationId": 7700112, "sales": []},
        {"sales": [], "nextPageToken": ""},
        [],
    ):
        parsed = parse(write_json(tmp_path / "e.json", doc))
        assert parsed.rows_read == 0 and parsed.lines.empty and parsed.rejects.empty


# ---------------------------------------------------------------------------------- detection


def test_detected_and_steals_no_other_format(tmp_path: Path) -> None:
    for path in (V1, V2, IKENTOO, PAGES, SPEC_SALE):
        found = detect(path)
        assert found is not None and found.name == "lightspeed", path
    sample = load_generator().generate(
        tmp_path / "s", start=pd.Timestamp("2025-06-02").date(), days=2
    )
    seen = set()
    for path in sorted(p for p in sample.rglob("*") if p.is_file() and p.suffix != ".md"):
        found = detect(path)
        is_lightspeed = path.parent.name == "lightspeed"
        assert (found is not None and found.name == "lightspeed") == is_lightspeed, path
        seen.add(is_lightspeed)
    assert seen == {True, False}
    head = V1.read_text(encoding="utf-8")[:8192]
    others = [name for name in FORMATS if name != "lightspeed" and get(name).sniff(V1, head)]
    assert others == []
    assert not lightspeed.ADAPTER.sniff(tmp_path / "x.csv", head)


# ------------------------------------------------------------------------ through `flux import`

RESTAURANT_HEADER = (
    "restaurant_id", "name", "timezone", "country", "subdivision", "cutoff_hour", "pos_provider",
    "pos_location_id", "currency",
)  # fmt: skip
RESTAURANTS = [
    ("r03", "Le Petit Zinc", "Europe/Paris", "FR", "", 5, "lightspeed", "158796341233665", "EUR"),
    ("r07", "Harbour Fish Bar", "Australia/Sydney", "AU", "NSW", 4, "lightspeed", "7700112", "AUD"),
]


def import_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "import"
    folder.mkdir()
    with (folder / "restaurants.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(RESTAURANT_HEADER)
        writer.writerows(RESTAURANTS)
    shutil.copy(V1, folder / V1.name)
    shutil.copy(IKENTOO, folder / IKENTOO.name)
    (folder / "7700112").mkdir()  # the V2 response does not name its location: its folder does
    shutil.copy(V2, folder / "7700112" / V2.name)
    return folder


def daily(settings: Settings) -> dict[str, dict[str, Day]]:
    out: dict[str, dict[str, Day]] = defaultdict(dict)
    for row in demand_daily(settings).itertuples(index=False):
        covers = None if pd.isna(row.covers) else int(row.covers)
        out[row.restaurant_id][str(row.business_date.date())] = (
            covers,
            int(row.orders),
            int(row.net_sales_minor),
            round(float(row.item_quantity), 6),
        )
    return dict(out)


def test_flux_import_lands_the_hand_worked_demand(settings: Settings, tmp_path: Path) -> None:
    folder = import_folder(tmp_path)
    result = run_cli(settings, ["import", str(folder), "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows_rejected"] == 0
    formats = {Path(f["path"]).name: f["format"] for f in summary["files"]}
    assert {formats[p.name] for p in (V1, V2, IKENTOO)} == {"lightspeed"}
    expected = {"r03": V1_STORED, "r07": {**V2_EXPECTED, **IKENTOO_EXPECTED}}
    assert daily(settings) == expected
    again = run_cli(settings, ["import", str(folder), "--force", "--json"])
    assert again.exit_code == 0, again.stderr
    assert daily(settings) == expected  # re-importing changes nothing


def test_flux_import_of_a_copy_with_another_shape_does_not_double_count(
    settings: Settings, tmp_path: Path
) -> None:
    """The same sales re-sent in the V2 shape (timeOfOpening, timeClosed, timeOfSale, no
    envelope location) keep their account and line ids: the import updates rows in place."""
    folder = import_folder(tmp_path)
    assert run_cli(settings, ["import", str(folder)]).exit_code == 0
    document = v1_document()
    for sale in document["sales"]:
        sale["timeOfOpening"] = sale.pop("timeofOpening")
        sale["timeClosed"] = sale.pop("timeofCloseAndPaid")
        for line in sale["salesLines"]:
            line["timeOfSale"] = line.pop("timeofSale")
    v2 = copy.deepcopy({"sales": document["sales"], "nextPageToken": ""})
    path = write_json(tmp_path / "again" / "158796341233665" / "sales.json", v2)
    result = run_cli(settings, ["import", str(path)])
    assert result.exit_code == 0, result.stderr
    assert daily(settings)["r03"] == V1_STORED
