"""The POS vendors' order APIs behind one interface: the pages of orders changed in a window.

Each provider yields the vendor's own response documents, page by page, exactly as the vendor
sends them; ``flux pull`` hands them to the same adapters ``flux import`` reads exported files
with (same natural keys), so a page pulled and a page exported land alike.

Endpoints, authentication and paging, from the vendors' published references:

- **Square** ``POST /v2/orders/search`` (SearchOrders; developer.squareup.com/reference/square/
  orders-api/search-orders, and the API explorer's field notes): ``Authorization: Bearer``
  access token and a ``Square-Version`` header; body ``location_ids`` (at most 10),
  ``query.filter.date_time_filter.updated_at`` {``start_at``, ``end_at``} with
  ``query.sort.sort_field`` ``UPDATED_AT`` (Square requires the sort field to match the time
  filter), ``limit`` (default 500, max 1000); the response's ``cursor`` is sent back, with the
  *same* query, for the next page; no ``cursor`` means the last page. Cheap call:
  ``GET /v2/locations/{location_id}``.
- **Clover** ``GET /v3/merchants/{mId}/orders`` (docs.clover.com "Get all orders", "Use query
  parameters to filter" and "Paginate results"): ``Authorization: Bearer`` API token;
  ``filter=modifiedTime>=<ms>`` and ``filter=modifiedTime<<ms>`` (epoch milliseconds),
  ``expand=lineItems,...``, ``limit`` (max 1000) and ``offset``; a page shorter than ``limit``
  is the last. Cheap call: ``GET /v3/merchants/{mId}``.
- **Toast** ``GET /orders/v2/ordersBulk`` (doc.toasttab.com "Orders API", ``ordersBulk``):
  OAuth client credentials (``POST /authentication/v1/authentication/login`` with
  ``clientId``, ``clientSecret``, ``userAccessType`` ``TOAST_MACHINE_CLIENT`` gives
  ``token.accessToken``), the ``Toast-Restaurant-External-ID`` header naming the restaurant,
  ``startDate``/``endDate`` (ISO 8601, orders *modified* in the window), ``page`` (from 1) and
  ``pageSize`` (max 100); a page shorter than ``pageSize`` is the last. Cheap call: the login.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.errors import ConfigError, ProviderError
from pipelines.io.pos.http import CircuitBreaker, ProviderClient, RetryPolicy
from pipelines.settings import ProviderConfig

SQUARE_VERSION = "2025-01-23"
"""The Square API version the requests and the ``square_orders`` adapter follow."""

MAX_PAGES = 100_000
"""A guard against a vendor that pages forever."""


@dataclass(frozen=True)
class Window:
    """Orders changed in [start, end) (UTC)."""

    start: dt.datetime
    end: dt.datetime


class Provider(Protocol):
    """One vendor's order API."""

    name: str
    """The ``pos_provider`` value of its restaurants."""
    format: str
    """The ``flux import`` format of its pages."""
    client: ProviderClient

    def pages(self, location_id: str, window: Window) -> Iterator[Any]:
        """The response documents of the orders of ``location_id`` changed in ``window``."""
        ...

    def check(self, location_id: str | None) -> None:
        """One cheap authenticated call (``flux doctor``)."""
        ...


def _iso(when: dt.datetime) -> str:
    return (
        when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    )


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


class SquareProvider:
    """Square's SearchOrders (cursor paging)."""

    name = "square"
    format = "square_orders"
    max_page = 1000

    def __init__(self, client: ProviderClient, page_size: int | None) -> None:
        self.client = client
        self.page_size = min(page_size or self.max_page, self.max_page)

    def pages(self, location_id: str, window: Window) -> Iterator[Any]:
        query = {
            "filter": {
                "date_time_filter": {
                    "updated_at": {"start_at": _iso(window.start), "end_at": _iso(window.end)}
                }
            },
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        }
        body: dict[str, Any] = {
            "location_ids": [location_id],
            "limit": self.page_size,
            "query": query,
        }
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.client.call("POST", "/v2/orders/search", json=body)
            _expect_object(self.name, page, "orders")
            yield page
            cursor = page.get("cursor")
            if not cursor:
                return
            if cursor in seen:
                raise ProviderError(self.name, f"SearchOrders returned cursor {cursor!r} twice")
            seen.add(cursor)
            body = {**body, "cursor": cursor}
        raise ProviderError(self.name, f"SearchOrders did not end after {MAX_PAGES} pages")

    def check(self, location_id: str | None) -> None:
        path = f"/v2/locations/{location_id}" if location_id else "/v2/locations"
        self.client.call("GET", path)


_CLOVER_EXPAND = "lineItems,lineItems.modifications,lineItems.discounts,discounts,refunds,credits"


class CloverProvider:
    """Clover's orders list (limit/offset paging)."""

    name = "clover"
    format = "clover"
    max_page = 1000

    def __init__(self, client: ProviderClient, page_size: int | None) -> None:
        self.client = client
        self.page_size = min(page_size or self.max_page, self.max_page)

    def pages(self, location_id: str, window: Window) -> Iterator[Any]:
        offset = 0
        for _ in range(MAX_PAGES):
            params = [
                ("filter", f"modifiedTime>={_ms(window.start)}"),
                ("filter", f"modifiedTime<{_ms(window.end)}"),
                ("expand", _CLOVER_EXPAND),
                ("limit", str(self.page_size)),
                ("offset", str(offset)),
            ]
            page = self.client.call("GET", f"/v3/merchants/{location_id}/orders", params=params)
            elements = _expect_object(self.name, page, "elements")
            yield page
            if len(elements) < self.page_size:
                return
            offset += self.page_size
        raise ProviderError(self.name, f"the orders list did not end after {MAX_PAGES} pages")

    def check(self, location_id: str | None) -> None:
        if location_id is None:
            raise ConfigError("clover: a merchant id (pos_location_id) is needed to check it")
        self.client.call("GET", f"/v3/merchants/{location_id}")


class ToastProvider:
    """Toast's ordersBulk (page/pageSize paging, OAuth client credentials)."""

    name = "toast"
    format = "toast"
    max_page = 100

    def __init__(self, client: ProviderClient, cfg: ProviderConfig) -> None:
        self.client = client
        self.page_size = min(cfg.page_size or self.max_page, self.max_page)
        self._cfg = cfg
        self._token: str | None = None

    def _login(self) -> str:
        if self._token is None:
            cfg = self._cfg
            assert cfg.client_secret is not None
            answer = self.client.call(
                "POST",
                "/authentication/v1/authentication/login",
                json={
                    "clientId": cfg.client_id,
                    "clientSecret": cfg.client_secret.get_secret_value(),
                    "userAccessType": "TOAST_MACHINE_CLIENT",
                },
            )
            token = answer.get("token", {}) if isinstance(answer, dict) else {}
            access = token.get("accessToken") if isinstance(token, dict) else None
            if not isinstance(access, str) or not access:
                raise ProviderError(self.name, "the login answer holds no token.accessToken")
            self._token = access
        return self._token

    def pages(self, location_id: str, window: Window) -> Iterator[Any]:
        headers = {
            "Authorization": f"Bearer {self._login()}",
            "Toast-Restaurant-External-ID": location_id,
        }
        for page_no in range(1, MAX_PAGES + 1):
            params = {
                "startDate": _iso(window.start).replace("Z", "+0000"),
                "endDate": _iso(window.end).replace("Z", "+0000"),
                "page": str(page_no),
                "pageSize": str(self.page_size),
            }
            page = self.client.call("GET", "/orders/v2/ordersBulk", params=params, headers=headers)
            if not isinstance(page, list):
                raise ProviderError(self.name, "ordersBulk did not answer a JSON array")
            yield page
            if len(page) < self.page_size:
                return
        raise ProviderError(self.name, f"ordersBulk did not end after {MAX_PAGES} pages")

    def check(self, location_id: str | None) -> None:
        self._token = None
        self._login()


def _expect_object(provider: str, page: Any, key: str) -> list[Any]:
    if not isinstance(page, dict):
        raise ProviderError(provider, f"the answer is not a JSON object with {key!r}")
    items = page.get(key, [])
    if not isinstance(items, list):
        raise ProviderError(provider, f"the answer's {key!r} is not a list")
    return items


_DEFAULT_HOSTS = {
    "square": "https://connect.squareup.com",
    "clover": "https://api.clover.com",
    "toast": "https://ws-api.toasttab.com",
}
_NEEDS = {
    "square": ("token",),
    "clover": ("token",),
    "toast": ("client_id", "client_secret"),
}
SUPPORTED = tuple(_DEFAULT_HOSTS)
"""The providers ``flux pull`` talks to."""


def build(
    name: str,
    cfg: ProviderConfig,
    breaker: CircuitBreaker,
    sleep: Callable[[float], None] | None = None,
) -> Provider:
    """The provider ``name`` configured by ``cfg``.

    Raises:
        ConfigError: the provider is not supported, or a credential it needs is missing.
    """
    if name not in _DEFAULT_HOSTS:
        raise ConfigError(
            f"pos provider {name!r}: flux pull talks to {', '.join(SUPPORTED)} (import the "
            "others' exports with flux import)"
        )
    missing = [f for f in _NEEDS[name] if getattr(cfg, f) is None]
    if missing:
        raise ConfigError(
            f"[pos.{name}] {', '.join(missing)} not set (FLUX_POS__{name.upper()}__"
            f"{missing[0].upper()}, flux.toml, or a secrets file)"
        )
    headers: dict[str, str] = {"Accept": "application/json"}
    if name in ("square", "clover"):
        assert cfg.token is not None
        headers["Authorization"] = f"Bearer {cfg.token.get_secret_value()}"
    if name == "square":
        headers["Square-Version"] = SQUARE_VERSION
    policy = RetryPolicy(
        max_attempts=cfg.max_attempts,
        backoff_seconds=cfg.backoff_seconds,
        max_wait_seconds=cfg.max_wait_seconds,
        timeout_seconds=cfg.timeout_seconds,
    )
    client = ProviderClient(
        provider=name,
        base_url=(cfg.base_url or _DEFAULT_HOSTS[name]).rstrip("/"),
        policy=policy,
        breaker=breaker,
        headers=headers,
    )
    if sleep is not None:
        client.sleep = sleep
    if name == "square":
        return SquareProvider(client, cfg.page_size)
    if name == "clover":
        return CloverProvider(client, cfg.page_size)
    return ToastProvider(client, cfg)
