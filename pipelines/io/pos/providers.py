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
- **Revel** ``GET /resources/Order/`` and ``GET /resources/OrderItem/`` (Revel's Tastypie REST
  API; the resource paths, the ``API-AUTHENTICATION: <key>:<secret>`` header and the filters of
  each resource as in the public client ``QANSIGLIERE/RevelSystemsAPIIntegration``
  ``lib/apiIntegration.js``; the ``{"meta": {"limit", "offset", "next", ...}, "objects"}``
  envelope, ``limit``/``offset`` and ``order_by`` as in ``api-evangelist/revel-systems``
  ``openapi/revel-systems-orders-api-openapi.yml``): one host per account
  (``https://<subdomain>.revelup.com``, so ``base_url`` is required), Orders filtered by
  ``establishment``, OrderItems by their order's (``order__establishment``, Tastypie's relation
  lookup), both by ``updated_date__gte`` / ``updated_date__lt`` in the establishment's local wall
  time (Revel's times carry no offset), sorted by ``updated_date``; ``meta.next`` (a path on the
  same host) is followed until it is null. Cheap call: ``GET /enterprise/Establishment/{id}/``.
- **Lightspeed K-Series** ``GET /f/finance/{businessLocationId}/financials/{from}/{to}``
  (``api-docs.lsk.lightspeed.app/source.json``, mirrored in ``api-evangelist/lightspeed-pos``
  ``openapi/lightspeed-pos-financial-api-openapi.yml``, operation ``financial-apiGetFinancials``):
  OAuth2 (the spec's authorization code flow: ``POST /oauth/token`` with
  ``grant_type=refresh_token``, the ``refresh_token`` of the one-time authorization,
  ``client_id`` and ``client_secret`` gives ``access_token``, sent as ``Authorization: Bearer``),
  ``from``/``to`` in ISO 8601 at most 365 days apart (a longer window is split), ``pageSize``
  (max 1000) and ``nextPageToken`` (read from ``_links.nextPage.href``; no ``nextPage``: the last
  page). Cheap call: the token refresh and ``GET /f/finance/{id}/paymentMethods``.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pipelines.errors import ConfigError, ProviderError
from pipelines.io.pos.http import CircuitBreaker, ProviderClient, RetryPolicy
from pipelines.settings import ProviderConfig

SQUARE_VERSION = "2025-01-23"
"""The Square API version the requests and the ``square_orders`` adapter follow."""

MAX_PAGES = 100_000
"""A guard against a vendor that pages forever."""


@dataclass(frozen=True)
class Window:
    """Orders changed in [start, end) (UTC), of a restaurant in ``timezone`` (for a vendor that
    filters in local wall time, as Revel does)."""

    start: dt.datetime
    end: dt.datetime
    timezone: str = "UTC"


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


class RevelProvider:
    """Revel's Order and OrderItem resources (limit/offset paging through ``meta.next``)."""

    name = "revel"
    format = "revel_api"
    max_page = 1000
    resources = (
        ("/resources/Order/", "establishment"),
        ("/resources/OrderItem/", "order__establishment"),
    )
    """Each resource and the filter naming its establishment."""

    def __init__(self, client: ProviderClient, page_size: int | None) -> None:
        self.client = client
        self.page_size = min(page_size or self.max_page, self.max_page)

    def pages(self, location_id: str, window: Window) -> Iterator[Any]:
        zone = ZoneInfo(window.timezone)
        start, end = _wall(window.start, zone), _wall(_ceil_second(window.end), zone)
        for path, by_establishment in self.resources:
            params: list[tuple[str, str]] = [
                (by_establishment, location_id),
                ("updated_date__gte", start),
                ("updated_date__lt", end),
                ("order_by", "updated_date"),
                ("limit", str(self.page_size)),
                ("offset", "0"),
            ]
            seen: set[str] = set()
            for _ in range(MAX_PAGES):
                page = self.client.call("GET", path, params=params)
                _expect_object(self.name, page, "objects")
                yield page
                meta = page.get("meta")
                following = meta.get("next") if isinstance(meta, dict) else None
                if not following:
                    break
                if not isinstance(following, str) or following in seen:
                    raise ProviderError(
                        self.name, f"GET {path}: meta.next {following!r} repeats or is not a URL"
                    )
                seen.add(following)
                params = self._follow(path, following)
            else:
                raise ProviderError(self.name, f"GET {path} did not end after {MAX_PAGES} pages")

    def _follow(self, path: str, following: str) -> list[tuple[str, str]]:
        """The query of ``meta.next``, which must stay on this resource of this host (the
        credentials never go elsewhere)."""
        url = urllib.parse.urlsplit(following)
        base = urllib.parse.urlsplit(self.client.base_url)
        if (url.scheme or url.netloc) and (url.scheme, url.netloc) != (base.scheme, base.netloc):
            raise ProviderError(
                self.name, f"GET {path}: meta.next points to another host; not followed"
            )
        if url.path != path:
            raise ProviderError(self.name, f"GET {path}: meta.next leaves the resource")
        return urllib.parse.parse_qsl(url.query, keep_blank_values=True)

    def check(self, location_id: str | None) -> None:
        if location_id is None:
            self.client.call("GET", "/resources/Order/", params={"limit": "1"})
        else:
            self.client.call("GET", f"/enterprise/Establishment/{location_id}/")


def _ceil_second(when: dt.datetime) -> dt.datetime:
    """``when`` rounded up to a whole second (a window's end sent without its fraction must
    still cover it)."""
    whole = when.replace(microsecond=0)
    return whole if whole == when else whole + dt.timedelta(seconds=1)


def _wall(when: dt.datetime, zone: ZoneInfo) -> str:
    """``when`` as the wall time of ``zone``, without an offset (Revel's filters)."""
    return when.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")


class LightspeedProvider:
    """Lightspeed K-Series financials (one call per 365 days at most, ``nextPageToken`` paging,
    OAuth2 refresh token)."""

    name = "lightspeed"
    format = "lightspeed"
    max_page = 1000
    max_range = dt.timedelta(days=365)
    """The spec: "The date range between 'from' and 'to' cannot exceed 365 days (1 year)"."""

    def __init__(
        self, client: ProviderClient, cfg: ProviderConfig, clock: Callable[[], float]
    ) -> None:
        self.client = client
        self.page_size = min(cfg.page_size or self.max_page, self.max_page)
        self._cfg = cfg
        self._clock = clock
        self._refresh = cfg.refresh_token.get_secret_value() if cfg.refresh_token else ""
        self._token: str | None = None
        self._expires = 0.0

    def _login(self) -> str:
        """An access token: refreshed on first use and again a minute before it expires."""
        if self._token is None or self._clock() >= self._expires:
            cfg = self._cfg
            assert cfg.client_secret is not None and cfg.client_id is not None
            answer = self.client.call(
                "POST",
                "/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self._refresh,
                    "client_id": cfg.client_id,
                    "client_secret": cfg.client_secret.get_secret_value(),
                },
            )
            access = answer.get("access_token") if isinstance(answer, dict) else None
            if not isinstance(access, str) or not access:
                raise ProviderError(self.name, "the token answer holds no access_token")
            rotated = answer.get("refresh_token")
            if isinstance(rotated, str) and rotated:
                self._refresh = rotated  # a rotated refresh token is used for the rest of the run
            lifetime = answer.get("expires_in")
            seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
            self._token = access
            self._expires = self._clock() + max(0.0, seconds - 60.0)
        return self._token

    def pages(self, location_id: str, window: Window) -> Iterator[Any]:
        # whole seconds, as the calls send them: the start rounded down, the end up
        start, stop = window.start.replace(microsecond=0), _ceil_second(window.end)
        while start < stop:
            end = min(stop, start + self.max_range)
            path = f"/f/finance/{location_id}/financials/{_seconds(start)}/{_seconds(end)}"
            params = {"pageSize": str(self.page_size)}
            seen: set[str] = set()
            for _ in range(MAX_PAGES):
                headers = {"Authorization": f"Bearer {self._login()}"}
                page = self.client.call("GET", path, params=params, headers=headers)
                _expect_object(self.name, page, "sales")
                yield page
                token = _next_page_token(page)
                if token is None:
                    break
                if token in seen:
                    raise ProviderError(
                        self.name, f"financials returned nextPageToken {token!r} twice"
                    )
                seen.add(token)
                params = {"pageSize": str(self.page_size), "nextPageToken": token}
            else:
                raise ProviderError(self.name, f"financials did not end after {MAX_PAGES} pages")
            start = end

    def check(self, location_id: str | None) -> None:
        self._token = None
        headers = {"Authorization": f"Bearer {self._login()}"}
        path = f"/f/finance/{location_id}/paymentMethods" if location_id else "/f/data/businesses"
        self.client.call("GET", path, headers=headers)


def _seconds(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_page_token(page: dict[str, Any]) -> str | None:
    """``nextPageToken`` of ``_links.nextPage.href``; None on the last page."""
    links = page.get("_links")
    following = links.get("nextPage") if isinstance(links, dict) else None
    href = following.get("href") if isinstance(following, dict) else None
    if not isinstance(href, str):
        return None
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query).get("nextPageToken")
    return values[0] if values and values[0] else None


def _expect_object(provider: str, page: Any, key: str) -> list[Any]:
    if not isinstance(page, dict):
        raise ProviderError(provider, f"the answer is not a JSON object with {key!r}")
    items = page.get(key, [])
    if not isinstance(items, list):
        raise ProviderError(provider, f"the answer's {key!r} is not a list")
    return items


_DEFAULT_HOSTS: dict[str, str | None] = {
    "square": "https://connect.squareup.com",
    "clover": "https://api.clover.com",
    "toast": "https://ws-api.toasttab.com",
    "revel": None,  # one host per account: https://<subdomain>.revelup.com
    "lightspeed": "https://api.lsk.lightspeed.app",
}
_NEEDS = {
    "square": ("token",),
    "clover": ("token",),
    "toast": ("client_id", "client_secret"),
    "revel": ("base_url", "api_key", "api_secret"),
    "lightspeed": ("client_id", "client_secret", "refresh_token"),
}
SUPPORTED = tuple(_DEFAULT_HOSTS)
"""The providers ``flux pull`` talks to."""


def build(
    name: str,
    cfg: ProviderConfig,
    breaker: CircuitBreaker,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
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
    if name == "revel":
        assert cfg.api_key is not None and cfg.api_secret is not None
        key, secret = cfg.api_key.get_secret_value(), cfg.api_secret.get_secret_value()
        headers["API-AUTHENTICATION"] = f"{key}:{secret}"
    policy = RetryPolicy(
        max_attempts=cfg.max_attempts,
        backoff_seconds=cfg.backoff_seconds,
        max_wait_seconds=cfg.max_wait_seconds,
        timeout_seconds=cfg.timeout_seconds,
    )
    client = ProviderClient(
        provider=name,
        base_url=str(cfg.base_url or _DEFAULT_HOSTS[name]).rstrip("/"),
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
    if name == "revel":
        return RevelProvider(client, cfg.page_size)
    if name == "lightspeed":
        return LightspeedProvider(client, cfg, clock)
    return ToastProvider(client, cfg)
