"""``flux pull`` of a fleet from the fake POS cloud: time, and requests against the minimum.

A fleet of ``--restaurants`` restaurants (a fifth each on Square, Clover, Toast, Revel and
Lightspeed K-Series) with
``--orders-per-day`` orders a day for ``--days`` days is cloned from the vendors' spec fixtures
(tests/fixtures/vendors: each order copied with a new id, moved by whole days) and served by
tests/fake_pos.py on 127.0.0.1. One ``flux pull`` (pipelines.pull.run) into a fresh SQLite
database, then it prints:

- the wall time, and orders pulled per second;
- per vendor, the requests made against the fewest the paging allows at the vendors' largest
  page (Square: one per started 1,000 orders, at least one; Clover: one per 1,000 plus the short
  last page; Toast: one per 100 plus the short last page, and one login per run; Revel: per
  resource, Order and OrderItem, one per started 1,000 objects, at least one (``meta.next``
  only while more remain); Lightspeed: per call window of at most 365 days, one per started
  1,000 sales, at least one, and one token refresh per run);
- with ``--fault-rate``, the same pull with that share of page requests failing once (500, 429
  with Retry-After 0, a dropped connection, a timeout), to show what retries cost.

Usage:
    python benchmarks/pull.py [--restaurants 100] [--days 90] [--orders-per-day 20]
        [--fault-rate 0.05]

Measured 2026-12-02 (defaults, ``--fault-rate 0.05``, SQLite, a 2-core machine shared with five
other jobs, the process getting about a third of a core): 180,000 orders, 20 restaurants per
vendor (288,000 records: a Revel order is an Order and three OrderItems), 864,000 rows in 520 s
clean and 577 s with faults; requests clean = the minimum for every vendor (Square 40, Clover
40, Toast 381, Revel 160, Lightspeed 41); with 5 % faults 1.07 / 1.05 / 1.05 / 1.05 / 1.05 times
the minimum, nothing skipped. (Before Revel and Lightspeed, a third of the fleet per vendor:
666 s; Square 68, Clover 66, Toast 628 requests, each the minimum.) A cProfile of a small pull
put 90 % of its time in the import (parse, load, rollups), not HTTP.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import logging
import math
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import ingest, pull  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402
from tests import fake_pos  # noqa: E402
from tests.fake_pos import FakePos  # noqa: E402

VENDORS = ROOT / "tests" / "fixtures" / "vendors"
START = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
PAGE = {"square": 1000, "clover": 1000, "toast": 100, "revel": 1000, "lightspeed": 1000}
VENDOR_NAMES = tuple(PAGE)
UNTIL = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
INITIAL_DAYS = 365
"""The first pull's reach: 2025-01-01 to 2026-01-01, one Lightspeed call window (365 days)."""
REVEL_ITEMS = 3
"""OrderItems per Revel order (the template order 7001 has three)."""


def _shift(value: Any, days: int, seconds: int) -> Any:
    """Every timestamp inside ``value`` moved by ``days`` days and ``seconds`` seconds: RFC 3339
    strings (Square, Toast), epoch-millisecond ``*Time`` fields (Clover), Toast's
    ``businessDate`` (yyyymmdd); the 1970 "not deleted" dates stay."""
    delta = dt.timedelta(days=days, seconds=seconds)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, int) and not isinstance(v, bool) and k.endswith("Time") and v > 0:
                out[k] = v + int(delta.total_seconds() * 1000)
            elif k == "businessDate" and isinstance(v, int):
                day = dt.datetime.strptime(str(v), "%Y%m%d") + dt.timedelta(days=days)
                out[k] = int(day.strftime("%Y%m%d"))
            else:
                out[k] = _shift(v, days, seconds)
        return out
    if isinstance(value, list):
        return [_shift(v, days, seconds) for v in value]
    if isinstance(value, str) and _ISO.match(value) and not value.startswith("1970"):
        z = value.endswith("Z")
        text = value.replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        moved = dt.datetime.fromisoformat(text) + delta
        if z:
            return moved.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moved.microsecond // 1000:03d}Z"
        if value.endswith("+0000"):
            return moved.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moved.microsecond // 1000:03d}+0000"
        return moved.isoformat()
    return value


def _templates() -> dict[str, tuple[dict[str, Any], dt.datetime]]:
    square = json.loads((VENDORS / "square" / "search-orders-pages.json").read_text())
    sq = next(o for p in square for o in p["orders"] if o["id"].startswith("Oh8"))
    clover = json.loads((VENDORS / "clover" / "orders_night_owl.json").read_text())["elements"][0]
    toast_file = VENDORS / "toast" / "6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b"
    toast = json.loads((toast_file / "ordersBulk_20250308.json").read_text())[0]
    revel_orders = json.loads((VENDORS / "revel" / "orders.json").read_text())["objects"]
    revel_items = json.loads((VENDORS / "revel" / "order_items.json").read_text())["objects"]
    revel = {
        "order": revel_orders[0],
        "items": [i for i in revel_items if i["order"] == "/resources/Order/7001/"],
    }
    assert len(revel["items"]) == REVEL_ITEMS
    ls_file = VENDORS / "lightspeed" / "v1_financials_le_petit_zinc.json"
    ls = json.loads(ls_file.read_text())["sales"][0]
    return {
        "square": (sq, dt.datetime.fromisoformat(sq["updated_at"].replace("Z", "+00:00"))),
        "clover": (clover, dt.datetime.fromtimestamp(clover["modifiedTime"] / 1000, dt.UTC)),
        "toast": (toast, dt.datetime(2025, 3, 9, tzinfo=dt.UTC)),
        "revel": (revel, dt.datetime(2025, 11, 1, 19, 5)),  # local wall time, as Revel writes
        "lightspeed": (ls, dt.datetime.fromisoformat(ls["timeofOpening"].replace("Z", "+00:00"))),
    }


def build_fleet(fake: FakePos, n: int, days: int, per_day: int) -> tuple[str, dict[str, int]]:
    """Fills the fake with the fleet's orders; returns restaurants.csv and orders per vendor."""
    templates = _templates()
    rows = [
        "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,"
        "pos_location_id,currency"
    ]
    counts = dict.fromkeys(VENDOR_NAMES, 0)
    for i in range(n):
        vendor = VENDOR_NAMES[i % len(VENDOR_NAMES)]
        rid = f"b{i:03d}"
        loc = {
            "toast": f"00000000-0000-4000-8000-{i:012d}",
            "revel": str(1000 + i),
            "lightspeed": str(7_000_000 + i),
        }.get(vendor, f"LOC{i:03d}X")
        # Lightspeed's lines carry their currency (EUR in the template)
        zone, currency = (
            ("Europe/Paris", "EUR") if vendor == "lightspeed" else ("America/Chicago", "USD")
        )
        rows.append(f"{rid},{rid},{zone},US,IL,4,{vendor},{loc},{currency}")
        template, at = templates[vendor]
        offset = (START.replace(tzinfo=None) - at.replace(tzinfo=None)).days
        orders: list[Any] = []
        for day in range(days):
            for k in range(per_day):
                o = _shift(copy.deepcopy(template), offset + day, k * 7)
                oid = f"{rid}D{day:03d}K{k:03d}"
                if vendor == "square":
                    o["id"], o["location_id"] = oid, loc
                elif vendor == "clover":
                    o["id"] = oid
                    o["href"] = f"https://api.clover.com/v3/merchants/{loc}/orders/{oid}"
                elif vendor == "toast":
                    o["guid"] = f"{i:08d}-{day:04d}-4000-8000-{k:012d}"
                elif vendor == "lightspeed":
                    o["accountFiscId"] = o["receiptId"] = f"A{oid}"
                if vendor == "revel":
                    number = (i * days + day) * per_day + k + 1
                    order = o["order"]
                    order["id"], order["resource_uri"] = number, f"/resources/Order/{number}/"
                    order["establishment"] = f"/enterprise/Establishment/{loc}/"
                    orders.append(order)
                    for j, item in enumerate(o["items"]):
                        item["id"] = number * 10 + j
                        item["resource_uri"] = f"/resources/OrderItem/{item['id']}/"
                        item["order"] = order["resource_uri"]
                        orders.append(item)
                else:
                    orders.append(o)
        if vendor == "revel":
            fake.revel[loc] = orders
            fake.revel_zones[loc] = zone
            counts[vendor] += days * per_day
        else:
            getattr(fake, vendor)[loc] = orders
            counts[vendor] += len(orders)
    return "\n".join(rows) + "\n", counts


def _pages(objects: int, page: int) -> int:
    """Pages of a vendor that says when more remain (a cursor, ``meta.next``, ``nextPage``)."""
    return max(1, math.ceil(objects / page))


def minimum(vendor: str, per_restaurant: int, restaurants: int) -> int:
    page = PAGE[vendor]
    if vendor in ("square", "lightspeed"):
        pages = _pages(per_restaurant, page)
        if vendor == "lightspeed":
            calls = math.ceil(INITIAL_DAYS / 365)  # the fleet's days sit in one call window
            pages += calls - 1  # every other window still costs one (empty) request
    elif vendor == "revel":
        pages = _pages(per_restaurant, page) + _pages(per_restaurant * REVEL_ITEMS, page)
    else:
        pages = per_restaurant // page + 1  # offset paging ends on a short (maybe empty) page
    login = 1 if vendor in ("toast", "lightspeed") and restaurants else 0
    return pages * restaurants + login


def pull_once(fake: FakePos, csv: str, fault_rate: float, seed: int) -> tuple[float, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        pos: dict[str, Any] = {"initial_days": INITIAL_DAYS, "lookback_hours": 0}
        common = {"base_url": fake.base_url, "backoff_seconds": 0.05, "timeout_seconds": 2.0}
        pos["square"] = {**common, "token": fake_pos.SQUARE_TOKEN}
        pos["clover"] = {**common, "token": fake_pos.CLOVER_TOKEN}
        pos["toast"] = {
            **common,
            "client_id": fake_pos.TOAST_CLIENT_ID,
            "client_secret": fake_pos.TOAST_SECRET,
        }
        pos["revel"] = {
            **common,
            "api_key": fake_pos.REVEL_KEY,
            "api_secret": fake_pos.REVEL_SECRET,
        }
        pos["lightspeed"] = {
            **common,
            "client_id": fake_pos.LIGHTSPEED_CLIENT_ID,
            "client_secret": fake_pos.LIGHTSPEED_SECRET,
            "refresh_token": fake_pos.LIGHTSPEED_REFRESH,
        }
        settings = load_settings(home=home, pos=pos)
        (home / "in").mkdir()
        (home / "in" / "restaurants.csv").write_text(csv, encoding="utf-8")
        ingest.run(ingest.IngestRequest(paths=(home / "in",)), settings)
        if fault_rate:
            rng = random.Random(seed)
            fake.retry_after = 0
            fake.slow_seconds = 2.5
            for vendor in VENDOR_NAMES:
                fake.faults[vendor].clear()
                for _ in range(10_000):
                    fake.faults[vendor].append(
                        rng.choice(["500", "429", "drop", "timeout"])
                        if rng.random() < fault_rate
                        else "none"
                    )
        started = time.perf_counter()
        result = pull.run(pull.PullRequest(until=UNTIL), settings)
        return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restaurants", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--orders-per-day", type=int, default=20)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    fake = FakePos()
    csv, counts = build_fleet(fake, args.restaurants, args.days, args.orders_per_day)
    fake.start()
    per_restaurant = args.days * args.orders_per_day
    fleet = {
        v: sum(1 for i in range(args.restaurants) if VENDOR_NAMES[i % len(VENDOR_NAMES)] == v)
        for v in PAGE
    }
    runs = [("clean", 0.0)] + ([("faults", args.fault_rate)] if args.fault_rate else [])
    print(
        f"fleet: {args.restaurants} restaurants x {args.days} days x {args.orders_per_day} "
        f"orders/day = {sum(counts.values()):,} orders ({counts})"
    )
    for label, rate in runs:
        seconds, result = pull_once(fake, csv, rate, seed=7)
        pulled = sum(p.records for p in result.pulls)
        loaded = sum(p.rows_loaded for p in result.pulls)
        rejected = sum(p.rows_rejected for p in result.pulls)
        skipped = len(result.skipped)
        print(
            f"[{label}] {seconds:.1f}s, {pulled:,} records pulled ({pulled / seconds:,.0f}/s), "
            f"{loaded:,} rows loaded, {rejected:,} rejected, {skipped} restaurant(s) skipped"
        )
        for vendor in PAGE:
            made = result.requests.get(vendor, 0)
            least = minimum(vendor, per_restaurant, fleet[vendor])
            print(
                f"  {vendor:10s} requests {made:5d}  minimum {least:5d}  ratio {made / least:.2f}"
            )
    fake.stop()


if __name__ == "__main__":
    main()
