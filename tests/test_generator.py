"""Tests of the sample-data generator (sample_data/generate.py).

The generator is loaded from its path (it is not part of the Flux packages). Its ground truth is
checked against small reference readers written here straight from docs/formats.md, so a file
that does not carry what an importer needs to reproduce the truth fails the test.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import os
import subprocess
import sys
import tomllib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "sample_data" / "generate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flux_sample_generate", GENERATOR)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


gen = _load()

# Covers the end of Berlin/Paris summer time (2025-10-26) and the US fall-back night (2025-11-02).
SMALL = {"start": date(2025, 10, 24), "days": 10, "seed": 11}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gen.generate(tmp_path_factory.mktemp("small"), **SMALL)


# --------------------------------------------------------------------------------------------
# Reference readers: each yields orders {(oid): (opened_utc, guests|None)} and demand lines
# (oid, is_top, ts_utc, net_minor, qty, kind) for one restaurant, following docs/formats.md.
# --------------------------------------------------------------------------------------------


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8-sig")


def _minor(s: str | float, exp: int = 2) -> int:
    from decimal import Decimal

    return int((Decimal(str(s)) * (10**exp)).to_integral_value())


def _money(s: str) -> int:
    neg = s.startswith("-")
    digits = "".join(ch for ch in s if ch.isdigit() or ch == ".")
    v = _minor(digits)
    return -v if neg else v


class Reader:
    def __init__(self) -> None:
        self.orders: dict[str, tuple[datetime, int | None]] = {}
        self.lines: list[tuple[str, bool, datetime, int, float, str]] = []

    def line(self, oid: str, top: bool, ts: datetime, net: int, qty: float, kind: str) -> None:
        self.lines.append((oid, top, ts, net, qty, kind))


def read_toast(json_path: Path, export_dir: Path, tz: str) -> Reader:
    """Toast: ordersBulk JSON (Orders API 2.6.5) plus the data export's daily folders.

    JSON: a selection's ``price`` is its net price with its modifiers' prices included (so the
    modifiers add nothing); voided/deleted orders and checks and voided selections are voids;
    ``price`` 0 with ``preDiscountPrice`` above 0 is a comp; deferred selections are not demand.
    Export (Toast's "Data export field reference"): ItemSelectionDetails rows are the lines
    (``Net Price``, ``Void?``, ``Deferred``, ``Qty``, dated at ``Order Date``, local wall time
    ``MM/DD/YYYY HH:MM:SS``); OrderDetails gives each order's ``Opened`` and ``# of Guests``.
    """
    rd = Reader()
    zone = ZoneInfo(tz)
    for o in json.loads(_text(json_path)):
        opened = datetime.strptime(o["openedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
        rd.orders[o["guid"]] = (opened, o.get("numberOfGuests"))
        for chk in o["checks"]:
            cvoid = o["voided"] or o["deleted"] or chk["voided"] or chk["deleted"]
            for s in chk["selections"]:
                if s["deferred"]:
                    continue
                price = _minor(s["price"])
                kind = (
                    "void"
                    if cvoid or s["voided"]
                    else ("comp" if _minor(s["preDiscountPrice"]) > 0 and price == 0 else "sale")
                )
                rd.line(o["guid"], True, opened, price, float(s["quantity"]), kind)
    wall = lambda t: datetime.strptime(t, "%m/%d/%Y %H:%M:%S").replace(tzinfo=zone)  # noqa: E731
    for folder in sorted(p for p in export_dir.iterdir() if p.is_dir()):
        for row in csv.DictReader(io.StringIO(_text(folder / "OrderDetails.csv"))):
            rd.orders[row["Order Id"]] = (wall(row["Opened"]), int(row["# of Guests"]))
        for row in csv.DictReader(io.StringIO(_text(folder / "ItemSelectionDetails.csv"))):
            if row["Deferred"] == "true":
                continue
            net, gross = _minor(row["Net Price"]), _minor(row["Gross Price"])
            kind = "void" if row["Void?"] == "true" else "comp" if net == 0 < gross else "sale"
            rd.line(row["Order Id"], True, wall(row["Order Date"]), net, float(row["Qty"]), kind)
    return rd


def read_square(path: Path, tz: str) -> Reader:
    """Square Dashboard's Items export: Payment rows are sales (Net Sales includes modifiers)."""
    rd = Reader()
    zone = ZoneInfo(tz)
    for row in csv.DictReader(io.StringIO(_text(path))):
        if row["Event Type"] != "Payment":
            continue
        ts = datetime.fromisoformat(f"{row['Date']}T{row['Time']}").replace(tzinfo=zone)
        oid = row["Transaction ID"]
        if oid not in rd.orders or ts < rd.orders[oid][0]:
            rd.orders[oid] = (ts, None)
        gross, net = _money(row["Gross Sales"]), _money(row["Net Sales"])
        rd.line(oid, True, ts, net, float(row["Qty"]), "comp" if gross > 0 and net == 0 else "sale")
    return rd


def read_square_orders(path: Path) -> Reader:
    """Square SearchOrders pages (api.json Order, OrderLineItem): COMPLETED orders are sales, at
    closed_at; a line's net is gross_sales_money - total_discount_money - its INCLUSIVE taxes."""
    rd = Reader()
    for page in json.loads(_text(path)):
        for o in page.get("orders", []):
            if o["state"] != "COMPLETED":
                continue
            ts = datetime.fromisoformat(o["closed_at"].replace("Z", "+00:00"))
            inclusive = {t["uid"] for t in o.get("taxes", []) if t["type"] == "INCLUSIVE"}
            lines = o.get("line_items", [])
            if lines:
                rd.orders[o["id"]] = (ts, None)
            for li in lines:
                gross = li["gross_sales_money"]["amount"]
                tax = sum(
                    a["applied_money"]["amount"]
                    for a in li.get("applied_taxes", [])
                    if a["tax_uid"] in inclusive
                )
                net = gross - li["total_discount_money"]["amount"] - tax
                kind = "comp" if gross > 0 and net == 0 else "sale"
                rd.line(o["id"], True, ts, net, float(li["quantity"]), kind)
    return rd


def read_lightspeed(path: Path) -> Reader:
    """K-Series Financial API responses (V1 pages, or one iKentoo-era response), from the spec
    (api-evangelist/lightspeed-pos openapi/lightspeed-pos-financial-api-openapi.yml): only SALE
    accounts are demand; an order is its accountFiscId; a line's net is totalNetAmountWithoutTax,
    else totalNetAmountWithTax - taxAmount - serviceCharge; voidReason and cancelled void."""
    rd = Reader()
    doc = json.loads(_text(path))
    pages = doc if isinstance(doc, list) else [doc]
    for s in (s for page in pages for s in page["sales"]):
        if s.get("type", "SALE") != "SALE":  # refunds, voids, cancels, splits, transfers...
            continue
        opened = datetime.fromisoformat(s.get("timeofOpening") or s["timeOfOpening"])
        oid = s["accountFiscId"]
        rd.orders[oid] = (opened, round(s["nbCovers"]))
        void_sale = s.get("cancelled", False) or s.get("voidReason") is not None
        voided: set[str] = set()
        for ln in s["salesLines"]:
            line_void = ln.get("voidReason") is not None or ln.get("parentLineId") in voided
            if line_void and "id" in ln:  # its modifiers (listed after it) are void too
                voided.add(ln["id"])
            if "totalNetAmountWithoutTax" in ln:
                net = _minor(ln["totalNetAmountWithoutTax"])
            else:
                net = (
                    _minor(ln["totalNetAmountWithTax"])
                    - _minor(ln["taxAmount"])
                    - _minor(ln.get("serviceCharge", "0"))
                )
            disc = _minor(ln.get("totalDiscountAmount", "0"))
            kind = "void" if void_sale or line_void else "comp" if net == 0 and disc > 0 else "sale"
            when = ln.get("timeofSale") or ln.get("timeOfSale")
            ts = datetime.fromisoformat(when) if when else opened
            rd.line(oid, "parentLineId" not in ln, ts, net, float(ln["quantity"]), kind)
    return rd


def read_clover(path: Path) -> Reader:
    """Clover's ``GET /v3/merchants/{mId}/orders`` response: the merchant only in ``href``s, cents,
    epoch ms; a line item's price (x unitQty / 1000) plus its modifications, less its percentage
    then amount discounts; the order's percentage then amount discounts off their sum."""
    rd = Reader()
    doc = json.loads(_text(path))
    assert "merchantId" not in doc and "/v3/merchants/" in doc["href"]

    def discounted(amount: int, obj: dict) -> int:
        found = obj.get("discounts", {}).get("elements", [])
        pct = sum(d["percentage"] for d in found if "percentage" in d)
        cents = sum(-d["amount"] for d in found if "percentage" not in d)
        return max(amount - (2 * amount * pct + 100) // 200 - cents, 0)  # half up

    for o in doc["elements"]:
        assert "/v3/merchants/" in o["href"]
        ts = datetime.fromtimestamp(o["clientCreatedTime"] / 1000, UTC)
        rd.orders[o["id"]] = (ts, None)
        subtotal = 0
        for li in o.get("lineItems", {}).get("elements", []):
            if "unitQty" in li:
                assert li["price"] * li["unitQty"] % 1000 == 0
                gross, qty = li["price"] * li["unitQty"] // 1000, li["unitQty"] / 1000
            else:
                gross, qty = li["price"], 1.0
            mods = sum(m["amount"] for m in li.get("modifications", {}).get("elements", []))
            net = discounted(gross + mods, li)
            subtotal += net
            rd.line(o["id"], True, ts, net, qty, "comp" if gross > 0 and net == 0 else "sale")
        if "discounts" in o:  # the order's discount, as one more (non-item) line
            rd.line(o["id"], False, ts, discounted(subtotal, o) - subtotal, 0.0, "sale")
    return rd


def read_revel(order_path: Path, item_path: Path) -> Reader:
    """Revel Data Connector: ``wide_order`` gives the orders (UTC ``order_created_at``, guests);
    ``wide_order_item`` the lines: ``pure_sales`` is the item's net with its modifiers (there are
    no modifier rows), ``is_voided`` a void, ``is_return`` a return (not demand), net 0 with a
    discount or a price a comp."""
    rd = Reader()
    utc = lambda s: datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)  # noqa: E731
    for row in csv.DictReader(io.StringIO(_text(order_path))):
        rd.orders[row["order_id"]] = (utc(row["order_created_at"]), int(row["number_of_people"]))
    for row in csv.DictReader(io.StringIO(_text(item_path))):
        if row["is_return"] == "true":
            continue
        net, disc = _minor(row["pure_sales"]), _minor(row["discount_amount"])
        qty = float(row["quantity"])
        kind = (
            "void"
            if row["is_voided"] == "true"
            else "comp"
            if net == 0 and (disc > 0 or _minor(row["price"]) * qty > 0)
            else "sale"
        )
        when = row["created_date"] or row["order_created_at"]
        rd.line(row["order_id"], True, utc(when), net, qty, kind)
    return rd


def read_generic(path: Path, mapping: Path, tz: str) -> Reader:
    m = tomllib.loads(mapping.read_text(encoding="utf-8"))
    col, kinds = m["columns"], m["kinds"]
    zone = ZoneInfo(tz)
    rd = Reader()
    for row in csv.DictReader(io.StringIO(_text(path))):
        ts = datetime.strptime(row[col["timestamp"]], m["timestamp_format"]).replace(tzinfo=zone)
        oid = row[col["order_id"]]
        if oid not in rd.orders or ts < rd.orders[oid][0]:
            rd.orders[oid] = (ts, int(row[col["covers"]]))
        kind = kinds[row[col["kind"]]]
        if kind == "refund":
            continue
        rd.line(
            oid,
            row[col["parent_line_id"]] == "",
            ts,
            int(row[col["amount"]]),
            float(row[col["quantity"]]),
            kind,
        )
    return rd


def rollup(rd: Reader, tz: str, cutoff: int, has_covers: bool) -> dict[str, tuple]:
    zone = ZoneInfo(tz)

    def bd(ts: datetime) -> str:
        return (
            (ts.astimezone(zone).replace(tzinfo=None) - timedelta(hours=cutoff)).date().isoformat()
        )

    counted = {oid for oid, top, _, _, _, kind in rd.lines if top and kind in ("sale", "comp")}
    orders: dict[str, int] = defaultdict(int)
    covers: dict[str, int] = defaultdict(int)
    for oid in counted:
        opened, guests = rd.orders[oid]
        orders[bd(opened)] += 1
        covers[bd(opened)] += guests or 0
    net: dict[str, int] = defaultdict(int)
    qty: dict[str, float] = defaultdict(float)
    for oid, top, _, amount, q, kind in rd.lines:
        if kind in ("sale", "comp"):  # on the business date of the line's order
            day = bd(rd.orders[oid][0])
            net[day] += amount
            if top:
                qty[day] += q
    assert set(net) <= set(orders), "net sales on a day without orders"
    return {
        d: ((covers[d] if has_covers else None), orders[d], net[d], round(qty[d], 6))
        for d in orders
    }


def read_truth(path: Path) -> dict[str, dict[str, tuple]]:
    out: dict[str, dict[str, tuple]] = defaultdict(dict)
    for row in csv.DictReader(path.open(encoding="utf-8")):
        out[row["restaurant_id"]][row["business_date"]] = (
            int(row["covers"]) if row["covers"] else None,
            int(row["orders"]),
            int(row["net_sales_minor"]),
            round(float(row["item_quantity"]), 6),
        )
    return out


def reread(out: Path, rid: str) -> dict[str, tuple]:
    r = gen.BY_ID[rid]
    files = [out / f for f in gen.vendor_files(r)]
    rd = {
        "toast": lambda: read_toast(files[0], files[1], r.timezone),
        "square": lambda: (
            read_square_orders(files[0])
            if files[0].name.endswith(".json.gz")
            else read_square(files[0], r.timezone)
        ),
        "lightspeed": lambda: read_lightspeed(files[0]),
        "clover": lambda: read_clover(files[0]),
        "revel": lambda: read_revel(files[0], files[1]),
        "csv": lambda: read_generic(files[0], files[1], r.timezone),
    }[r.pos_provider]()
    return rollup(rd, r.timezone, r.cutoff_hour, r.has_covers)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_deterministic(small: Path, tmp_path: Path) -> None:
    again = gen.generate(tmp_path / "again", **SMALL)
    files = sorted(p.relative_to(small) for p in small.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        assert (small / f).read_bytes() == (again / f).read_bytes(), f


def test_deterministic_across_processes(small: Path, tmp_path: Path) -> None:
    # another interpreter with another hash seed (set iteration order) writes the same bytes
    args = ["--out", str(tmp_path), "--start", "2025-10-24", "--days", "10", "--seed", "11"]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, str(GENERATOR), *args], env=env, check=True, capture_output=True
    )
    for p in small.rglob("*"):
        if p.is_file():
            assert p.read_bytes() == (tmp_path / p.relative_to(small)).read_bytes(), p


def test_subset_gives_the_same_restaurant_data(small: Path, tmp_path: Path) -> None:
    sub = gen.generate(tmp_path / "sub", **SMALL, restaurants=["r04", "r06"])
    for rid in ("r04", "r06"):
        for f in gen.vendor_files(gen.BY_ID[rid]):
            assert (sub / f).read_bytes() == (small / f).read_bytes(), f
    assert set(read_truth(sub / "ground_truth.csv")) == {"r04", "r06"}


def test_files_and_metadata(small: Path) -> None:
    rows = list(csv.DictReader((small / "restaurants.csv").open(encoding="utf-8")))
    assert [r["restaurant_id"] for r in rows] == [f"r0{i}" for i in range(1, 9)]
    assert list(rows[0]) == list(gen.RESTAURANT_COLUMNS)
    events = list(csv.DictReader((small / "events.csv").open(encoding="utf-8")))
    assert list(events[0]) == list(gen.EVENT_COLUMNS)
    assert {e["kind"] for e in events} <= {"closure", "holiday", "event"}
    mapping = (small / "generic" / "sakura_lines.mapping.toml").read_text(encoding="utf-8")
    assert tomllib.loads(mapping)["restaurant"] == "r06"
    for p in small.rglob("*.gz"):
        head = p.read_bytes()[:10]
        assert head[4:8] == b"\0\0\0\0", f"{p}: gzip mtime must be 0"


@pytest.mark.parametrize("rid", [f"r0{i}" for i in range(1, 9)])
def test_truth_reproduced_from_vendor_files(small: Path, rid: str) -> None:
    truth = read_truth(small / "ground_truth.csv")[rid]
    assert truth, f"{rid} has no truth rows"
    assert reread(small, rid) == truth


def test_truth_shape(small: Path) -> None:
    truth = read_truth(small / "ground_truth.csv")
    for rid, days in truth.items():
        covered = gen.BY_ID[rid].has_covers
        for covers, orders, net, qty in days.values():
            assert orders > 0 and net >= 0 and qty > 0
            assert (covers is not None) == covered
    # r07 is closed on Mondays: no truth rows, no sales
    for d in truth["r07"]:
        assert date.fromisoformat(d).weekday() != 0


def test_night_owl_sells_through_the_dst_night(small: Path) -> None:
    doc = json.loads(_text(small / "clover" / "orders_night_owl_diner.json.gz"))
    zone = ZoneInfo("America/Chicago")
    offsets = set()
    for o in doc["elements"]:
        local = datetime.fromtimestamp(o["createdTime"] / 1000, UTC).astimezone(zone)
        if local.date() == date(2025, 11, 2) and local.hour == 1:
            offsets.add(local.utcoffset())
    assert offsets == {timedelta(hours=-5), timedelta(hours=-6)}


def test_spring_forward_and_late_sales(tmp_path: Path) -> None:
    out = gen.generate(
        tmp_path, start=date(2026, 3, 5), days=4, seed=3, restaurants=["r02", "r04", "r06"]
    )
    for rid in ("r02", "r04", "r06"):
        assert reread(out, rid) == read_truth(out / "ground_truth.csv")[rid]
    # r06 sells on both sides of its 04:00 cutoff on Friday/Saturday nights
    rows = list(csv.DictReader(io.StringIO(_text(out / "generic" / "sakura_lines.csv.gz"))))
    hours = {int(r["sold_at"][11:13]) for r in rows}
    assert {3, 4} <= hours


@pytest.mark.parametrize("fmt", ["square", "generic"])
def test_fleet(tmp_path: Path, fmt: str) -> None:
    n = gen.generate_fleet(tmp_path, n=4, days=6, start=date(2025, 6, 2), fmt=fmt)
    rest = list(csv.DictReader((tmp_path / "restaurants.csv").open(encoding="utf-8")))
    assert [r["restaurant_id"] for r in rest] == ["f00001", "f00002", "f00003", "f00004"]
    data = next(tmp_path.rglob("*.csv.gz"))
    rows = list(csv.DictReader(io.StringIO(_text(data))))
    assert len(rows) == n > 0
    truth = list(csv.DictReader((tmp_path / "ground_truth.csv").open(encoding="utf-8")))
    if fmt == "square":
        net = sum(_money(r["Net Sales"]) for r in rows if r["Event Type"] == "Payment")
    else:
        net = sum(int(r["amount_cents"]) for r in rows if r["status"] in ("sold", "comp"))
    assert net == sum(int(t["net_sales_minor"]) for t in truth)
    again = tmp_path / "again"
    assert gen.generate_fleet(again, n=4, days=6, start=date(2025, 6, 2), fmt=fmt) == n
    assert data.read_bytes() == (again / data.relative_to(tmp_path)).read_bytes()
