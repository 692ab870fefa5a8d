"""Clover: the orders of ``GET /v3/merchants/{mId}/orders?expand=lineItems,...``, format ``clover``.

Built from Clover's published shape (sources in docs/formats.md, "Clover"):

- the response is ``{"elements": [order, ...], "href": ".../v3/merchants/{mId}/orders..."}``;
  collections inside an order are ``{"elements": [...]}`` too (clover/clover-android-sdk,
  ``androidTest/assets/orders/order_items_1.json``; ``com/clover/sdk/v3/order/LineItem.java``
  reads every list from ``elements``). A single order (``GET .../orders/{orderId}``), a JSON
  array of orders, or an array of several list responses (pages) are read as well, and so are
  plain arrays in place of ``{"elements"}`` (the atomic-order shape);
- the merchant id appears only inside ``href`` URLs (the response's and each order's, or an
  order's ``merchant.id``): it is matched against ``pos_location_id``
  (:func:`~pipelines.io.adapters.base.resolve_file_restaurant`). A file whose orders name several
  merchants sends each order to its own merchant's restaurant;
- money is in cents (minor units), times are epoch milliseconds (UTC). An order opens at
  ``clientCreatedTime`` (when the device created it, also for orders taken offline), else
  ``createdTime``; a line item is dated at its own ``createdTime``, else at its order's;
- a line item's ``price`` is the price of one item, or of one unit when ``unitQty``
  (thousandths) is set: gross = price x unitQty / 1000 (``LineItem.unitQty``). Items sold by
  count are one line item each. Modifications add their ``amount`` once to their line item and
  become child lines ``<line id>:<modification id>``;
- discounts follow Clover's "Calculate order totals" page and ``OrderCalc.java``: a line item's
  percentage discounts (summed, at most 100 %) come off its price with modifications, then its
  amount discounts; the order's percentage discounts come off the sum of those, then its amount
  discounts; order-level discounts are shared out over the line items in proportion to their
  amounts (largest remainder, so the shares add up to the cent). A line item's discount is shared
  the same way between it and its modifications. Discount ``amount`` is negative cents (either
  sign is read); a discount with both fields is read as its percentage;
- VAT orders (``isVat``, prices include tax; not ``taxRemoved``) have the tax of each line
  item's ``taxRates`` (``rate`` 1000000 = 10 %) taken out, so net sales are before tax;
- a line item whose discounts leave nothing of a positive amount is a ``comp`` (a free
  modification stays a ``sale``); ``isRevenue`` false (gift cards, deposits) is not demand and
  not imported; ``exchanged`` line items (swapped for the new line item that follows them) are
  ``void`` lines, and so are all lines of a deleted order (``deletedTimestamp``) or a test-mode
  order (``testMode``: payments not processed). Clover removes voided line items from the order,
  so nothing else is a void;
- each element of ``refunds`` (amount includes tax and tip) and ``credits`` (manual refunds)
  becomes one ``refund`` line ``refund-<id>`` / ``credit-<id>`` of the order, dated when it was
  made, with its amount less ``taxAmount`` and ``tipAmount``;
- orders carry no guest count: covers are empty. Service charges, additional charges and tips
  are not net sales.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._json_common import (
    MISSING,
    Builder,
    JsonObject,
    Line,
    RecordError,
    StreamFailed,
    TimeFormat,
    first_item,
    get_flag,
    get_id,
    get_int,
    get_object,
    get_objects,
    get_optional_decimal,
    get_optional_id,
    get_optional_int,
    get_optional_text,
    join,
    json_type,
    load_document,
    sniff_json,
    stream_again,
    stream_items,
)
from pipelines.io.adapters.base import (
    ParseContext,
    ParsedFile,
    RestaurantInfo,
    resolve_file_restaurant,
)
from pipelines.io.adapters.common import display_path, head_text

NAME: Final = "clover"


class F:
    """Clover's field names, in one place so they are easy to correct."""

    # file
    ELEMENTS: Final = "elements"  # a list response, and every expanded collection
    HREF: Final = "href"
    MERCHANT_ID: Final = "merchantId"  # not Clover's: some export scripts add it; read if there
    # order
    ORDER_ID: Final = "id"
    MERCHANT: Final = "merchant"
    CURRENCY: Final = "currency"
    CLIENT_CREATED: Final = "clientCreatedTime"
    CREATED: Final = "createdTime"
    DELETED: Final = "deletedTimestamp"
    TEST_MODE: Final = "testMode"
    IS_VAT: Final = "isVat"
    TAX_REMOVED: Final = "taxRemoved"
    LINE_ITEMS: Final = "lineItems"
    DISCOUNTS: Final = "discounts"
    REFUNDS: Final = "refunds"
    CREDITS: Final = "credits"
    # line item
    LINE_ID: Final = "id"
    NAME: Final = "name"
    ALTERNATE_NAME: Final = "alternateName"
    PRICE: Final = "price"
    UNIT_QTY: Final = "unitQty"
    IS_REVENUE: Final = "isRevenue"
    EXCHANGED: Final = "exchanged"
    MODIFICATIONS: Final = "modifications"
    TAX_RATES: Final = "taxRates"
    RATE: Final = "rate"
    ITEM: Final = "item"
    CATEGORIES: Final = "categories"
    # discount and modification
    AMOUNT: Final = "amount"
    PERCENTAGE: Final = "percentage"
    MODIFIER: Final = "modifier"
    # refund and credit
    TAX_AMOUNT: Final = "taxAmount"
    TIP_AMOUNT: Final = "tipAmount"


REFUND_PREFIX: Final = "refund-"
CREDIT_PREFIX: Final = "credit-"
UNIT_QTY_SCALE: Final = 1000
"""``unitQty`` is in thousandths (2500 = 2.5 lb)."""
TAX_RATE_SCALE: Final = 10_000_000
"""A tax rate's ``rate`` is a fraction times 10^7 (``825000`` is 8.25 %)."""

_MERCHANT_RE: Final = re.compile(r"/v[23]/merchants?/([0-9A-Za-z]+)")
_ORDERS_HREF_RE: Final = re.compile(r"/v3/merchants/[0-9A-Za-z]+/orders")
_HREF_SCAN_LIMIT: Final = 2000
"""Objects looked at for a nested ``href`` when an order has none of its own."""
_WHY: Final = (
    "Clover's orders response names its merchant only inside href URLs "
    "(.../v3/merchants/{mId}/orders), and this file has none"
)


# ----------------------------------------------------------------------------- the document


def _orders_of(
    path: Path, document: Any, scan: _Scan
) -> Iterator[tuple[Any, tuple[str, str] | None]]:
    """The orders of a decoded document, each with the (field, merchant id) of the list
    response it came from (or None); the merchant ids the document carries outside its orders
    go to ``scan.file_ids``.

    Raises:
        ImportFileError: not one of Clover's shapes.
    """
    if isinstance(document, dict):
        if F.ELEMENTS in document:
            orders = document[F.ELEMENTS]
            if not isinstance(orders, list):
                raise ImportFileError(
                    display_path(path),
                    f"expected an array of orders, found {json_type(orders)}",
                    field=F.ELEMENTS,
                )
            page = scan.add_page(document)
            for order in orders:
                yield order, page
            return
        if F.LINE_ITEMS in document or F.CREATED in document or F.CLIENT_CREATED in document:
            yield document, None  # one order: GET /v3/merchants/{mId}/orders/{orderId}
            return
        keys = ", ".join(sorted(str(k) for k in document)[:8]) or "none"
        raise ImportFileError(
            display_path(path),
            f"expected Clover orders (an object with elements), found an object with keys {keys}",
            field=F.ELEMENTS,
        )
    if isinstance(document, list):  # orders, or list responses (pages) one after another
        for record in document:
            yield from _element_orders(record, scan)
        return
    raise ImportFileError(
        display_path(path),
        f"expected Clover orders (an object with elements), found {json_type(document)}",
    )


def _element_orders(record: Any, scan: _Scan) -> Iterator[tuple[Any, tuple[str, str] | None]]:
    """The orders of one element of a top-level array: a page's, or the element itself."""
    if _is_page(record):
        page = scan.add_page(record)
        for order in record[F.ELEMENTS]:
            yield order, page
    else:
        yield record, None


def _stream(path: Path, encoding: str | None) -> tuple[_Scan, Iterator[Any]] | None:
    """A first pass over a streamed file's orders (what :class:`_Router` needs) and the orders
    again, one at a time (a page at a time in an array of pages); None for a file to read
    whole: a single order, an empty list, one that is not Clover's shape and one ijson cannot
    read (the whole read names the problem exactly).

    A list response's own ``href`` often follows its ``elements``: it is read by a pass of
    its own, which stops at the value.
    """
    head = head_text(path, 4096).lstrip("\ufeff \t\r\n")[:1]
    scan = _Scan()
    try:
        if head == "{":
            prefix = join(F.ELEMENTS, "item")
            top = {key: first_item(path, encoding, key) for key in (F.HREF, F.MERCHANT_ID)}
            page = scan.add_page({k: v for k, v in top.items() if v is not MISSING})
            scan.add_all((order, page) for order in stream_items(path, encoding, prefix))
        elif head == "[":
            prefix = "item"
            for record in stream_items(path, encoding, prefix):
                scan.add_all(_element_orders(record, scan))
        else:
            return None
    except StreamFailed:
        return None
    if not scan.own:
        return None
    return scan, _orders_again(path, encoding, prefix, head == "[")


def _orders_again(path: Path, encoding: str | None, prefix: str, array: bool) -> Iterator[Any]:
    """The second pass of :func:`_stream` (the first read the same file to its end)."""
    for record in stream_again(path, encoding, prefix):
        if array and _is_page(record):
            yield from record[F.ELEMENTS]
        else:
            yield record


def _is_page(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get(F.ELEMENTS), list)
        and F.LINE_ITEMS not in record
    )


def _merchant_in(href: Any) -> str | None:
    if not isinstance(href, str):
        return None
    found = _MERCHANT_RE.search(href)
    return found.group(1) if found else None


def _file_ids(document: JsonObject) -> list[tuple[str, str]]:
    """Merchant ids of a list response: its ``href``, and a ``merchantId`` some scripts add."""
    ids = []
    merchant = _merchant_in(document.get(F.HREF))
    if merchant:
        ids.append((F.HREF, merchant))
    value = document.get(F.MERCHANT_ID)
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        ids.append((F.MERCHANT_ID, str(value).strip()))
    return ids


def _order_merchant(order: Any) -> tuple[str, str] | None:
    """(field, merchant id) of an order: its ``href``, its ``merchant.id``, or a nested href."""
    if not isinstance(order, dict):
        return None
    merchant = _merchant_in(order.get(F.HREF))
    if merchant:
        return F.HREF, merchant
    ref = order.get(F.MERCHANT)
    if isinstance(ref, dict) and isinstance(ref.get("id"), str) and ref["id"].strip():
        return join(F.MERCHANT, "id"), ref["id"].strip()
    for at, value in _nested_hrefs(order):
        merchant = _merchant_in(value)
        if merchant:
            return at, merchant
    return None


def _nested_hrefs(order: JsonObject) -> Iterator[tuple[str, Any]]:
    """``href`` values inside an order (breadth first, a bounded number of objects)."""
    queue: deque[tuple[str, Any]] = deque([("", order)])
    seen = 0
    while queue and seen < _HREF_SCAN_LIMIT:
        at, value = queue.popleft()
        seen += 1
        if isinstance(value, dict):
            for k, v in value.items():
                if k == F.HREF and at:
                    yield join(at, F.HREF), v
                elif isinstance(v, dict | list):
                    queue.append((join(at, str(k)), v))
        elif isinstance(value, list):
            queue.extend((f"{at}[{i}]", v) for i, v in enumerate(value[:50]))


# --------------------------------------------------------------------------- the restaurant


@dataclass
class _Scan:
    """What routing needs of a file's orders, gathered in one pass over them (so a streamed
    file's orders need not stay in memory): each order's own merchant and its page's, by
    position in the file, as indexes into one table of (field, merchant id) pairs."""

    file_ids: list[tuple[str, str]] = field(default_factory=list)
    wheres: list[tuple[str, str]] = field(default_factory=list)
    own: list[int] = field(default_factory=list)  # -1: the order names no merchant
    page: list[int] = field(default_factory=list)  # -1: not in a list response naming one
    expanded: bool = False  # some order has lineItems
    _index: dict[tuple[str, str], int] = field(default_factory=dict)

    def add_all(self, orders: Iterable[tuple[Any, tuple[str, str] | None]]) -> None:
        """Takes (order, its page's merchant) pairs, in file order."""
        for order, page in orders:
            self.own.append(self._at(_order_merchant(order)))
            self.page.append(self._at(page))
            self.expanded = self.expanded or (isinstance(order, dict) and F.LINE_ITEMS in order)

    def add_page(self, record: JsonObject) -> tuple[str, str] | None:
        """Takes a list response's merchant ids; returns the one its orders are placed by."""
        ids = _file_ids(record)
        self.file_ids.extend(ids)
        return ids[0] if ids else None

    def _at(self, where: tuple[str, str] | None) -> int:
        if where is None:
            return -1
        return self._index.setdefault(where, len(self._index))

    def router(self, path: Path, ctx: ParseContext) -> _Router:
        """One restaurant for a file of one merchant; otherwise each order its own merchant's.

        Raises:
            ImportFileError: a file of one merchant (or none) whose restaurant cannot be told;
                orders without ``lineItems`` anywhere (the export did not expand them).
        """
        if not self.expanded:
            raise ImportFileError(
                display_path(path),
                "no order has lineItems: export the orders with expand=lineItems,"
                "lineItems.modifications,lineItems.discounts,discounts,refunds,credits",
                field=F.LINE_ITEMS,
            )
        self.wheres = list(self._index)
        first = next((self.wheres[i] for i in self.own if i >= 0), None)
        named = [first] if first is not None else self.file_ids[:1]
        merchants = sorted(
            {self.wheres[i][1] for i in set(self.own) if i >= 0} | {m for _, m in self.file_ids}
        )
        if len(merchants) <= 1:
            return _Router(self, single=resolve_restaurant(path, ctx, named), merchants=merchants)
        return _Router(self, single=None, merchants=merchants)


@dataclass
class _Router:
    """Which restaurant each order goes to."""

    scan: _Scan
    single: RestaurantInfo | None
    merchants: list[str]

    def restaurant(self, b: Builder) -> RestaurantInfo:
        """The restaurant of the order being walked (at ``b.position``)."""
        if self.single is not None:
            return self.single
        at = self.scan.own[b.position]
        at = at if at >= 0 else self.scan.page[b.position]
        if at < 0:
            raise RecordError(
                F.HREF,
                "the order names no merchant, and the file holds orders of several "
                f"merchants ({', '.join(self.merchants)})",
            )
        where = self.scan.wheres[at]
        return b.restaurant(where[1], where[0])


def resolve_restaurant(
    path: Path, ctx: ParseContext, carried: list[tuple[str, str]]
) -> RestaurantInfo:
    """The restaurant of a file of one merchant (or of none): see ``resolve_file_restaurant``.

    Raises:
        ImportFileError: no restaurant matches, or ``--restaurant`` names another vendor's.
    """
    return resolve_file_restaurant(path, ctx, NAME, carried=carried, why=_WHY)


# ----------------------------------------------------------------------------- collections


def _collection(
    obj: JsonObject, key: str, path: str, expand: str | None = None
) -> tuple[list[JsonObject], str]:
    """The objects of ``obj[key]`` and the path their indexes go after.

    ``{"elements": [...]}`` (the REST API and the SDK) or a plain array. A collection that was
    not expanded (``{"href": ...}`` only) is an error when ``expand`` names the parameter that
    would have expanded it (its contents change net sales), else empty.
    """
    value = obj.get(key)
    at = join(path, key)
    if value is None:
        return [], at
    if isinstance(value, list):
        return get_objects(obj, key, path), at
    if not isinstance(value, dict):
        raise RecordError(at, f"expected an object with elements, found {json_type(value)}")
    if value.get(F.ELEMENTS) is None:
        if expand and F.HREF in value:
            raise RecordError(at, f"not expanded (only an href): export with expand={expand}")
        return [], join(at, F.ELEMENTS)
    return get_objects(value, F.ELEMENTS, at), join(at, F.ELEMENTS)


# ------------------------------------------------------------------------------- arithmetic


def _div_round(num: int, den: int) -> int:
    """``num / den`` rounded half away from zero (``den`` > 0): Clover rounds half up."""
    q, r = divmod(abs(num), den)
    q += 2 * r >= den
    return q if num >= 0 else -q


def _percent_of(amount: int, percent: Fraction) -> int:
    """``amount x percent / 100`` rounded half up, for ``amount`` >= 0."""
    share = Fraction(amount) * percent / 100
    return int(share + Fraction(1, 2))


def _share(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (>= 0), largest remainders first.

    The parts add up to ``total``; none exceeds its weight while ``total`` <= sum(weights).
    """
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    raw = [total * w for w in weights]
    parts = [x // whole for x in raw]
    left = total - sum(parts)
    for i in sorted(range(len(weights)), key=lambda k: (-(raw[k] % whole), k))[:left]:
        parts[i] += 1
    return parts


@dataclass
class _Discounts:
    """A line item's or an order's discounts: percentages (summed) and amounts (positive)."""

    percent: Fraction = Fraction(0)
    amount: int = 0

    def apply(self, subtotal: int) -> int:
        """What is left of ``subtotal`` (>= 0): percentages first, then amounts, never below 0."""
        after = subtotal - _percent_of(subtotal, min(self.percent, Fraction(100)))
        return max(after - self.amount, 0)


def _discounts(obj: JsonObject, path: str, expand: str) -> _Discounts:
    """``obj.discounts``: each a ``percentage`` (0-100) or an ``amount`` in cents."""
    found = _Discounts()
    elements, base = _collection(obj, F.DISCOUNTS, path, expand)
    for i, discount in enumerate(elements):
        at = f"{base}[{i}]"
        text = get_optional_decimal(discount, F.PERCENTAGE, at)
        if text is not None:
            found.percent += _percentage(text, join(at, F.PERCENTAGE))
            continue
        amount = get_optional_int(discount, F.AMOUNT, at)
        if amount is None:
            raise RecordError(join(at, F.AMOUNT), "missing, and no percentage either")
        found.amount += abs(amount)
    return found


def _percentage(text: str, at: str) -> Fraction:
    try:
        value = Fraction(Decimal(text.strip()))
    except (InvalidOperation, ValueError, ArithmeticError):
        raise RecordError(at, f"not a percentage: {text!r}") from None
    if not 0 <= value <= 100:
        raise RecordError(at, f"not a percentage between 0 and 100: {text!r}")
    return value


# ------------------------------------------------------------------------------- the orders


@dataclass(slots=True)
class _Part:
    """A line item or one of its modifications, with its gross amount in cents."""

    line_id: str
    parent_line_id: str | None
    item: str
    category: str | None
    at: str
    quantity: str
    quantity_key: str
    amount: int
    amount_key: str


@dataclass(slots=True)
class _Item:
    """One line item: its parts, its amount after its own discounts, how it counts."""

    parts: list[_Part]
    net: int
    ts: int
    ts_field: str
    kind: str
    revenue: bool
    exchanged: bool
    tax_rate: int


def _opened(obj: JsonObject, path: str) -> tuple[int, str]:
    """``clientCreatedTime``, else ``createdTime`` (epoch ms), and the field it came from."""
    for key in (F.CLIENT_CREATED, F.CREATED):
        value = get_optional_int(obj, key, path)
        if value is not None:
            return value, join(path, key)
    raise RecordError(join(path, F.CREATED), "missing")


def _walk_order(b: Builder, order: JsonObject, restaurant: RestaurantInfo) -> None:
    """Adds one order, its line items with their modifications, and its refunds."""
    currency = get_optional_text(order, F.CURRENCY, "")
    if currency is not None and currency.upper() != restaurant.currency.upper():
        raise RecordError(
            F.CURRENCY,
            f"the order is in {currency}, restaurant {restaurant.id} uses {restaurant.currency}",
        )
    opened, opened_field = _opened(order, "")
    b.add_order(restaurant, get_id(order, F.ORDER_ID, ""), opened, opened_field, None)
    demand = get_optional_int(order, F.DELETED, "") is None and not get_flag(order, F.TEST_MODE, "")
    vat = get_flag(order, F.IS_VAT, "") and not get_flag(order, F.TAX_REMOVED, "")
    elements, base = _collection(order, F.LINE_ITEMS, "", "lineItems")
    items = [
        _line_item(item, f"{base}[{i}]", (opened, opened_field), demand=demand, vat=vat)
        for i, item in enumerate(elements)
    ]
    _order_discounts(order, items)
    for item in items:
        if item.revenue:
            _add_item(b, item)
    if demand:
        _add_refunds(b, order, F.REFUNDS, REFUND_PREFIX)
        _add_refunds(b, order, F.CREDITS, CREDIT_PREFIX)


def _line_item(
    item: JsonObject, at: str, opened: tuple[int, str], *, demand: bool, vat: bool
) -> _Item:
    """A line item's parts and its amount after its own discounts."""
    line_id = get_id(item, F.LINE_ID, at)
    price = get_int(item, F.PRICE, at)
    thousandths = get_optional_int(item, F.UNIT_QTY, at)
    if thousandths is not None and thousandths < 0:
        raise RecordError(join(at, F.UNIT_QTY), f"not a unit quantity: {thousandths}")
    gross = price if thousandths is None else _div_round(price * thousandths, UNIT_QTY_SCALE)
    quantity = "1" if thousandths is None else str(thousandths / UNIT_QTY_SCALE)
    parts = [
        _Part(
            line_id=line_id,
            parent_line_id=None,
            item=_name(item, at, (F.NAME, F.ALTERNATE_NAME)),
            category=_category(item, at),
            at=at,
            quantity=quantity,
            quantity_key=F.UNIT_QTY if thousandths is not None else "",
            amount=gross,
            amount_key=F.PRICE,
        )
    ]
    mods, mods_base = _collection(item, F.MODIFICATIONS, at, "lineItems.modifications")
    for k, mod in enumerate(mods):
        mod_at = f"{mods_base}[{k}]"
        mod_id = get_optional_id(mod, "id", mod_at) or f"#{k + 1}"
        parts.append(
            _Part(
                line_id=f"{line_id}:{mod_id}",
                parent_line_id=line_id,
                item=_modification_name(mod, mod_at),
                category=None,
                at=mod_at,
                quantity="1",
                quantity_key="",
                amount=get_optional_int(mod, F.AMOUNT, mod_at) or 0,
                amount_key=F.AMOUNT,
            )
        )
    subtotal = sum(p.amount for p in parts)
    discounts = _discounts(item, at, "lineItems.discounts")
    created = get_optional_int(item, F.CREATED, at)
    exchanged = get_flag(item, F.EXCHANGED, at)
    return _Item(
        parts=parts,
        net=discounts.apply(subtotal) if subtotal > 0 else subtotal,
        ts=opened[0] if created is None else created,
        ts_field=opened[1] if created is None else join(at, F.CREATED),
        kind=c.KIND_SALE if demand and not exchanged else c.KIND_VOID,
        revenue=get_flag(item, F.IS_REVENUE, at, default=True),
        exchanged=exchanged,
        tax_rate=_tax_rate(item, at) if vat else 0,
    )


def _name(obj: JsonObject, at: str, keys: tuple[str, ...]) -> str:
    for key in keys:
        text = get_optional_text(obj, key, at)
        if text is not None:
            return text
    raise RecordError(join(at, keys[0]), "missing")


def _modification_name(mod: JsonObject, at: str) -> str:
    for key in (F.NAME, F.ALTERNATE_NAME):
        text = get_optional_text(mod, key, at)
        if text is not None:
            return text
    modifier = get_object(mod, F.MODIFIER, at)
    name = get_optional_text(modifier, F.NAME, join(at, F.MODIFIER)) if modifier else None
    return name or "modifier"


def _category(item: JsonObject, at: str) -> str | None:
    """``item.categories.elements[0].name``, if the export expanded it."""
    catalog_item = get_object(item, F.ITEM, at)
    if catalog_item is None:
        return None
    categories, base = _collection(catalog_item, F.CATEGORIES, join(at, F.ITEM))
    if not categories:
        return None
    return get_optional_text(categories[0], F.NAME, f"{base}[0]")


def _tax_rate(item: JsonObject, at: str) -> int:
    """The sum of a line item's percentage tax rates (10^7 = 100 %)."""
    rates, base = _collection(item, F.TAX_RATES, at)
    total = 0
    for i, rate in enumerate(rates):
        value = get_optional_int(rate, F.RATE, f"{base}[{i}]")
        if value is not None and value > 0:
            total += value
    return total


def _order_discounts(order: JsonObject, items: list[_Item]) -> None:
    """Takes the order's discounts off its line items, shared in proportion to their amounts.

    Exchanged line items are out of the order's total (``OrderCalc.getTotal``); non-revenue
    ones are in it (``OrderCalc`` does not look at ``isRevenue``), so they take their share.
    """
    discounts = _discounts(order, "", "discounts")
    if not discounts.percent and not discounts.amount:
        return
    counted = [i for i in items if not i.exchanged]  # as OrderCalc: revenue or not
    weights = [max(i.net, 0) for i in counted]
    total = sum(weights)
    for item, share in zip(counted, _share(total - discounts.apply(total), weights), strict=True):
        item.net -= share


def _add_item(b: Builder, item: _Item) -> None:
    """Adds a line item and its modifications, its discount shared between them."""
    gross = [p.amount for p in item.parts]
    off = _share(sum(gross) - item.net, [max(g, 0) for g in gross]) if item.net >= 0 else None
    for k, part in enumerate(item.parts):
        net = part.amount - (off[k] if off else 0)
        kind = item.kind
        if kind == c.KIND_SALE and part.amount > 0 and net == 0:
            kind = c.KIND_COMP
        if item.tax_rate:
            net = _div_round(net * TAX_RATE_SCALE, TAX_RATE_SCALE + item.tax_rate)
        b.add_line(
            Line(
                line_id=part.line_id,
                parent_line_id=part.parent_line_id,
                ts=item.ts,
                ts_field=item.ts_field,
                item=part.item,
                category=part.category,
                at=part.at,
                quantity=part.quantity,
                quantity_key=part.quantity_key,
                amount=net,
                amount_key=part.amount_key,
                kind=kind,
            )
        )


def _add_refunds(b: Builder, order: JsonObject, key: str, prefix: str) -> None:
    """One ``refund`` line per refund (or manual refund), less its tax and tip."""
    elements, base = _collection(order, key, "")
    for i, refund in enumerate(elements):
        at = f"{base}[{i}]"
        ts, ts_field = _opened(refund, at)
        amount = abs(get_int(refund, F.AMOUNT, at))
        for extra in (F.TAX_AMOUNT, F.TIP_AMOUNT):
            amount -= abs(get_optional_int(refund, extra, at) or 0)
        b.add_line(
            Line(
                line_id=prefix + get_id(refund, "id", at),
                parent_line_id=None,
                ts=ts,
                ts_field=ts_field,
                item=None,
                category=None,
                at=at,
                quantity="0",
                quantity_key="",
                amount=-max(amount, 0),
                amount_key=F.AMOUNT,
                kind=c.KIND_REFUND,
            )
        )


# -------------------------------------------------------------------------------- the adapter


class CloverAdapter:
    """Reads Clover orders JSON."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """JSON with Clover's ``lineItems`` and epoch times, or an href to a merchant's orders."""
        markers = [(F.LINE_ITEMS, F.CREATED), (F.LINE_ITEMS, F.CLIENT_CREATED)]
        if any(sniff_json(path, head, opener, markers) for opener in "{["):
            return True
        return (
            any(sniff_json(path, head, opener, [(F.HREF,)]) for opener in "{[")
            and _ORDERS_HREF_RE.search(head) is not None
        )

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; a bad order is rejected whole, naming the field and the reason.

        Raises:
            ImportFileError: unreadable or invalid JSON; not Clover's orders; orders without
                ``lineItems`` anywhere (the export did not expand them); or, for a file of one
                merchant, no restaurant with that merchant id (and no ``--restaurant``).
        """
        scan = _Scan()
        pairs = list(_orders_of(path, load_document(path, ctx.encoding), scan))
        scan.add_all(pairs)
        orders = [order for order, _ in pairs]
        builder = Builder(NAME, ctx.directory, TimeFormat.EPOCH_MS, minor_units=True)
        if orders:
            builder.run(orders, _walker(scan.router(path, ctx)))
        return builder.finish(path)

    def parse_chunks(self, path: Path, ctx: ParseContext, size: int) -> Iterator[ParsedFile]:
        """Reads the file a chunk at a time, streaming it (see :func:`_stream`): the frames of
        :meth:`parse`, cut into chunks, in memory one chunk at a time."""
        streamed = _stream(path, ctx.encoding)
        if streamed is None:
            yield self.parse(path, ctx)
            return
        scan, orders = streamed
        builder = Builder(NAME, ctx.directory, TimeFormat.EPOCH_MS, minor_units=True)
        yield from builder.run_chunks(orders, _walker(scan.router(path, ctx)), path, size)


def _walker(router: _Router) -> Callable[[Builder, JsonObject], None]:
    def walk(b: Builder, order: JsonObject) -> None:
        _walk_order(b, order, router.restaurant(b))

    return walk


ADAPTER = CloverAdapter()
