"""A fake POS cloud for ``flux pull`` tests and benchmarks: real HTTP on 127.0.0.1.

One threaded ``http.server`` serves the order APIs of Square, Clover, Toast, Revel and
Lightspeed K-Series with the paths,
authentication, filters and paging of their published references (see
``pipelines/io/pos/providers.py``), over orders the test loads (the vendors' spec fixtures in
``tests/fixtures/vendors``), plus faults injected per request:

- ``timeout``: answers only after ``slow_seconds`` (longer than the client's timeout);
- ``500`` / ``503``: a server error;
- ``429``: rate limited, with ``Retry-After: <retry_after>``;
- ``401``: credentials refused;
- ``drop``: sends the status line, headers and half the body, then closes the connection;
- ``repeat``: the page also holds the previous page's records again (an overlap, as offset
  paging gives when orders move between requests).

Faults are queued per vendor (``fault("square", "500", "429")``) and used by that vendor's next
page requests, one each. Every request is recorded (method, path, query, headers).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

SQUARE_TOKEN = "sq-test-token-must-never-leak"
CLOVER_TOKEN = "clover-test-token-must-never-leak"
TOAST_CLIENT_ID = "toast-client-id"
TOAST_SECRET = "toast-test-secret-must-never-leak"
TOAST_ACCESS = "toast-access-token-must-never-leak"
REVEL_KEY = "revel-test-key-must-never-leak"
REVEL_SECRET = "revel-test-secret-must-never-leak"
LIGHTSPEED_CLIENT_ID = "lightspeed-client-id"
LIGHTSPEED_SECRET = "lightspeed-test-secret-must-never-leak"
LIGHTSPEED_REFRESH = "lightspeed-refresh-token-must-never-leak"
LIGHTSPEED_ACCESS = "lightspeed-access-token-must-never-leak"
LIGHTSPEED_MAX_DAYS = 365
"""The spec's "The date range between 'from' and 'to' cannot exceed 365 days (1 year)"."""


def _rfc3339(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _square_time(order: dict[str, Any]) -> dt.datetime:
    return _rfc3339(order.get("updated_at") or order["created_at"])


def _toast_time(order: dict[str, Any]) -> dt.datetime:
    return dt.datetime.strptime(order["modifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")


def _revel_wall(value: str, zone: str) -> dt.datetime:
    """A Revel time as the establishment's wall time (Revel writes local times without an
    offset; a value with one is converted)."""
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        return when
    return when.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _lightspeed_time(sale: dict[str, Any]) -> dt.datetime:
    return _rfc3339(sale.get("timeofCloseAndPaid") or sale["timeofOpening"])


_PAGE_PATHS = {
    "square": lambda p: p == "/v2/orders/search",
    "clover": lambda p: p.endswith("/orders"),
    "toast": lambda p: p == "/orders/v2/ordersBulk",
    "revel": lambda p: p in ("/resources/Order/", "/resources/OrderItem/"),
    "lightspeed": lambda p: p.startswith("/f/finance/") and "/financials/" in p,
}


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any = None


@dataclass
class FakePos:
    """The fake vendors' data, faults and request log."""

    square: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # location -> orders
    clover: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # merchant -> orders
    toast: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # restaurant guid ->
    # establishment id -> Orders and OrderItems (Revel knows each item's establishment)
    revel: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    revel_zones: dict[str, str] = field(default_factory=dict)  # establishment id -> IANA zone
    lightspeed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # location -> sales
    tokens_refreshed: int = 0
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    requests: list[Request] = field(default_factory=list)
    retry_after: int = 1
    slow_seconds: float = 1.0
    base_url: str = ""
    _server: ThreadingHTTPServer | None = None
    _last_page: dict[str, list[Any]] = field(default_factory=dict)
    _next_tokens: dict[tuple[str, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, vendor: str, *faults: str) -> None:
        """Queues faults for the vendor's next page requests."""
        self.faults[vendor].extend(faults)

    def page_requests(self, vendor: str) -> int:
        """How many page (not login or check) requests the vendor got."""
        return sum(1 for r in self.requests if _PAGE_PATHS[vendor](r.path))

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------------------ dispatch

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body: Any = None
        if raw and "x-www-form-urlencoded" in (h.headers.get("Content-Type") or ""):
            body = dict(urllib.parse.parse_qsl(raw.decode()))
        elif raw:
            body = json.loads(raw)
        req = Request(method, url.path, query, dict(h.headers.items()), body)
        with self._lock:
            self.requests.append(req)
        path = url.path
        try:
            if method == "POST" and path == "/v2/orders/search":
                self._page(h, "square", req, self._square_page)
            elif method == "GET" and path.startswith("/v2/locations"):
                self._auth(h, "square", req) and self._send(h, 200, {"location": {"id": "x"}})
            elif method == "GET" and path.startswith("/v3/merchants/") and path.endswith("/orders"):
                self._page(h, "clover", req, self._clover_page)
            elif method == "GET" and path.startswith("/v3/merchants/"):
                self._auth(h, "clover", req) and self._send(h, 200, {"id": path.split("/")[3]})
            elif method == "POST" and path == "/authentication/v1/authentication/login":
                self._toast_login(h, req)
            elif method == "GET" and path == "/orders/v2/ordersBulk":
                self._page(h, "toast", req, self._toast_page)
            elif method == "GET" and path in ("/resources/Order/", "/resources/OrderItem/"):
                self._page(h, "revel", req, self._revel_page)
            elif method == "GET" and path.startswith("/enterprise/Establishment/"):
                self._auth(h, "revel", req) and self._send(h, 200, {"id": path.split("/")[3]})
            elif method == "POST" and path == "/oauth/token":
                self._lightspeed_token(h, req)
            elif method == "GET" and _PAGE_PATHS["lightspeed"](path):
                self._page(h, "lightspeed", req, self._lightspeed_page)
            elif method == "GET" and (
                path.startswith("/f/finance/") or path == "/f/data/businesses"
            ):
                self._auth(h, "lightspeed", req) and self._send(h, 200, {"_embedded": {}})
            else:
                self._send(h, 404, {"error": f"no route {method} {path}"})
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, h: BaseHTTPRequestHandler, status: int, doc: Any, **headers: str) -> bool:
        data = json.dumps(doc).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k.replace("_", "-"), v)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()
        return True

    def _auth(self, h: BaseHTTPRequestHandler, vendor: str, req: Request) -> bool:
        expected = {
            "square": f"Bearer {SQUARE_TOKEN}",
            "clover": f"Bearer {CLOVER_TOKEN}",
            "toast": f"Bearer {TOAST_ACCESS}",
            "revel": f"{REVEL_KEY}:{REVEL_SECRET}",
            "lightspeed": f"Bearer {LIGHTSPEED_ACCESS}",
        }[vendor]
        header = "API-AUTHENTICATION" if vendor == "revel" else "Authorization"
        if req.headers.get(header) != expected:
            self._send(h, 401, {"errors": [{"code": "UNAUTHORIZED", "detail": "bad token"}]})
            return False
        return True

    def _page(self, h: BaseHTTPRequestHandler, vendor: str, req: Request, build: Any) -> None:
        with self._lock:
            fault = self.faults[vendor].popleft() if self.faults[vendor] else None
        if fault == "401":
            self._send(h, 401, {"errors": [{"code": "UNAUTHORIZED"}]})
            return
        if not self._auth(h, vendor, req):
            return
        if fault in ("500", "503"):
            self._send(h, int(fault), {"errors": [{"code": "INTERNAL_SERVER_ERROR"}]})
            return
        if fault == "429":
            self._send(h, 429, {"errors": [{"code": "RATE_LIMITED"}]},
                       Retry_After=str(self.retry_after))  # fmt: skip
            return
        if fault == "timeout":
            time.sleep(self.slow_seconds)
        status, doc, records, key = build(req)
        if status != 200:
            self._send(h, status, doc)
            return
        if fault == "repeat":
            again = self._last_page.get(vendor, [])
            doc = self._with_records(doc, key, again + records)
        self._last_page[vendor] = records
        if fault == "drop":
            data = json.dumps(doc).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        self._send(h, 200, doc)

    @staticmethod
    def _with_records(doc: Any, key: str | None, records: list[Any]) -> Any:
        if key is None:
            return records
        return {**doc, key: records}

    # ------------------------------------------------------------------------------ vendors

    def _square_page(self, req: Request) -> tuple[int, Any, list[Any], str | None]:
        body = req.body or {}
        query = body.get("query", {})
        cursor = body.get("cursor")
        limit = int(body.get("limit", 500))
        if not 1 <= limit <= 1000:
            return 400, {"errors": [{"code": "INVALID_VALUE", "field": "limit"}]}, [], None
        sort = query.get("sort", {}).get("sort_field")
        window = query.get("filter", {}).get("date_time_filter", {}).get("updated_at")
        if window and sort != "UPDATED_AT":
            return 400, {"errors": [{"code": "BAD_REQUEST", "detail": "sort_field"}]}, [], None
        offset = 0
        if cursor:
            state = json.loads(base64.b64decode(cursor))
            if state["q"] != json.dumps(query, sort_keys=True):
                return 400, {"errors": [{"detail": "query changed with cursor"}]}, [], None
            offset = state["o"]
        orders = [
            o
            for loc in body.get("location_ids", [])
            for o in self.square.get(loc, [])
            if not window
            or _rfc3339(window["start_at"]) <= _square_time(o) < _rfc3339(window["end_at"])
        ]
        orders.sort(key=lambda o: (_square_time(o), o["id"]))
        page = orders[offset : offset + limit]
        doc: dict[str, Any] = {"orders": page}
        if offset + limit < len(orders):
            state = {"o": offset + limit, "q": json.dumps(query, sort_keys=True)}
            doc["cursor"] = base64.b64encode(json.dumps(state).encode()).decode()
        return 200, doc, page, "orders"

    def _clover_page(self, req: Request) -> tuple[int, Any, list[Any], str | None]:
        merchant = req.path.split("/")[3]
        lo, hi = 0, 2**63
        for f in req.query.get("filter", []):
            if f.startswith("modifiedTime>="):
                lo = int(f.split(">=")[1])
            elif f.startswith("modifiedTime<"):
                hi = int(f.split("<")[1])
        limit = int(req.query.get("limit", ["100"])[0])
        offset = int(req.query.get("offset", ["0"])[0])
        if limit > 1000:
            return 400, {"message": "limit too large"}, [], None
        orders = sorted(
            (o for o in self.clover.get(merchant, []) if lo <= o["modifiedTime"] < hi),
            key=lambda o: (o["modifiedTime"], o["id"]),
        )
        page = orders[offset : offset + limit]
        href = f"{self.base_url}/v3/merchants/{merchant}/orders"
        return 200, {"elements": page, "href": href}, page, "elements"

    def _toast_login(self, h: BaseHTTPRequestHandler, req: Request) -> None:
        body = req.body or {}
        if body.get("clientId") != TOAST_CLIENT_ID or body.get("clientSecret") != TOAST_SECRET:
            self._send(h, 401, {"status": "ERROR", "message": "bad credentials"})
            return
        self._send(h, 200, {"token": {"accessToken": TOAST_ACCESS, "tokenType": "Bearer"}})

    def _toast_page(self, req: Request) -> tuple[int, Any, list[Any], str | None]:
        guid = req.headers.get("Toast-Restaurant-External-ID", "")
        if guid not in self.toast:
            return 400, {"message": "unknown restaurant"}, [], None
        start = dt.datetime.strptime(req.query["startDate"][0], "%Y-%m-%dT%H:%M:%S.%f%z")
        end = dt.datetime.strptime(req.query["endDate"][0], "%Y-%m-%dT%H:%M:%S.%f%z")
        size = int(req.query.get("pageSize", ["100"])[0])
        page_no = int(req.query.get("page", ["1"])[0])
        orders = sorted(
            (o for o in self.toast[guid] if start <= _toast_time(o) < end),
            key=lambda o: (_toast_time(o), o["guid"]),
        )
        page = orders[(page_no - 1) * size : page_no * size]
        return 200, page, page, None

    def _revel_page(self, req: Request) -> tuple[int, Any, list[Any], str | None]:
        resource = req.path.split("/")[2]  # Order | OrderItem
        q = {k: v[0] for k, v in req.query.items()}
        by = "establishment" if resource == "Order" else "order__establishment"
        est = q.get(by)
        if est is None:
            return 400, {"error": f"this fake wants a {by} filter"}, [], None
        limit, offset = int(q.get("limit", "20")), int(q.get("offset", "0"))
        if not 1 <= limit <= 1000:
            return 400, {"error": "limit"}, [], None
        zone = self.revel_zones.get(est, "UTC")
        lo = dt.datetime.fromisoformat(q["updated_date__gte"]) if "updated_date__gte" in q else None
        hi = dt.datetime.fromisoformat(q["updated_date__lt"]) if "updated_date__lt" in q else None
        objects = [
            o
            for o in self.revel.get(est, [])
            if o["resource_uri"].startswith(f"/resources/{resource}/")
            and (lo is None or lo <= _revel_wall(o["updated_date"], zone))
            and (hi is None or _revel_wall(o["updated_date"], zone) < hi)
        ]
        objects.sort(key=lambda o: (_revel_wall(o["updated_date"], zone), o["id"]))
        page = objects[offset : offset + limit]
        following = None
        if offset + limit < len(objects):
            query = urllib.parse.urlencode({**q, "offset": str(offset + limit)})
            following = f"/resources/{resource}/?{query}"
        meta = {
            "limit": limit,
            "offset": offset,
            "total_count": len(objects),
            "next": following,
            "previous": None,
        }
        return 200, {"meta": meta, "objects": page}, page, "objects"

    def _lightspeed_token(self, h: BaseHTTPRequestHandler, req: Request) -> None:
        body = req.body or {}
        if (
            body.get("grant_type") != "refresh_token"
            or body.get("refresh_token") != LIGHTSPEED_REFRESH
            or body.get("client_id") != LIGHTSPEED_CLIENT_ID
            or body.get("client_secret") != LIGHTSPEED_SECRET
        ):
            self._send(h, 401, {"error": "invalid_grant"})
            return
        with self._lock:
            self.tokens_refreshed += 1
        answer = {
            "access_token": LIGHTSPEED_ACCESS,
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": LIGHTSPEED_REFRESH,
            "scope": "financial-api",
        }
        self._send(h, 200, answer)

    def _lightspeed_page(self, req: Request) -> tuple[int, Any, list[Any], str | None]:
        _, _, _, location, _, raw_from, raw_to = req.path.split("/")
        if location not in self.lightspeed:
            return 404, {"message": "unknown business location"}, [], None
        start, end = _rfc3339(raw_from), _rfc3339(raw_to)
        if end - start > dt.timedelta(days=LIGHTSPEED_MAX_DAYS):
            return 400, {"message": "date range cannot exceed 365 days"}, [], None
        size = int(req.query.get("pageSize", ["1000"])[0])
        if not 1 <= size <= 1000:
            return 400, {"message": "pageSize"}, [], None
        sales = sorted(
            (s for s in self.lightspeed[location] if start <= _lightspeed_time(s) < end),
            key=lambda s: (_lightspeed_time(s), s["accountFiscId"], s["type"]),
        )
        token = req.query.get("nextPageToken", [None])[0]
        first = 0
        if token is not None:
            if (req.path, token) not in self._next_tokens:
                return 400, {"message": "unknown nextPageToken"}, [], None
            first = self._next_tokens[(req.path, token)]
        page = sales[first : first + size]
        href = f"https://api.lsk.lightspeed.app{req.path}?pageSize={size}"
        links: dict[str, Any] = {"self": {"href": href, "templated": True}}
        if first + size < len(sales):
            following = sales[first + size]["accountFiscId"]  # the accountId results begin at
            self._next_tokens[(req.path, following)] = first + size
            links["nextPage"] = {"href": f"{href}&nextPageToken={following}", "templated": True}
        doc = {
            "businessName": f"location {location}",
            "businessLocationId": int(location),
            "sales": page,
            "dataComplete": True,
            "_links": links,
        }
        return 200, doc, page, "sales"
