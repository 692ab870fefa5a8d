"""Square: the Orders API ``SearchOrders`` response, format ``square_orders``.

The shape is Square's ``SearchOrdersResponse`` (``square/connect-api-specification`` ``api.json``,
definitions ``SearchOrdersResponse``, ``Order``, ``OrderLineItem``, ``OrderLineItemModifier``,
``OrderLineItemTax``, ``OrderReturn``, ``OrderReturnLineItem``, ``Refund``, ``Money``,
``OrderState``): ``{"orders": [...], "cursor": "..."}``, one page per file or an array of pages.
``{"order": {...}}`` (``RetrieveOrder``) and a bare array of orders are read too.

- Money is ``{"amount": <int>, "currency": "USD"}`` in the currency's smallest unit.
- Times are RFC 3339 in UTC (``2025-03-08T04:15:00.000Z``). A line's and an order's time is the
  order's ``closed_at`` (when it reached its terminal state: paid) or, without one, its
  ``created_at``; the dashboard's Items export dates a sale by its payment too.
- Only ``COMPLETED`` orders are demand. ``CANCELED`` orders give ``void`` lines; ``OPEN`` and
  ``DRAFT`` orders are not sales yet and are skipped (a later export that has them completed
  loads them then).
- A line item's net is ``gross_sales_money`` (the variation's total plus every modifier's total
  price) minus ``total_discount_money`` (its own discounts and its share of ``ORDER``-scoped
  ones, which Square apportions to each line) minus the ``INCLUSIVE`` taxes applied to it
  (``ADDITIVE`` taxes are never inside ``gross_sales_money``). Modifiers are inside the line's
  money, so they are not lines of their own. A line whose discounts cancel a price is a ``comp``.
  ``GIFT_CARD`` line items are not product sales and are skipped.
- Refunds live in a separate *return order* whose ``returns[].return_line_items`` list what was
  returned; each becomes a ``refund`` line of that return order, dated at its time. The
  ``refunds[]`` (money given back, tax included) only become a line when an order has no
  ``returns``.
- Orders carry no guest count (covers are empty) and no category (only catalog ids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._json_common import (
    Builder,
    JsonObject,
    Line,
    RecordError,
    StreamFailed,
    TimeFormat,
    get_decimal,
    get_id,
    get_int,
    get_object,
    get_objects,
    get_optional_id,
    get_optional_text,
    get_text,
    index,
    join,
    json_type,
    load_document,
    sniff_json,
    stream_items,
)
from pipelines.io.adapters.base import (
    ParseContext,
    ParsedFile,
    RestaurantInfo,
    resolve_file_restaurant,
)
from pipelines.io.adapters.common import display_path, head_text

NAME: Final = "square_orders"
SOURCE: Final = "square"


class F:
    """Square's field names and values, in one place so they are easy to correct."""

    # response
    ORDERS: Final = "orders"
    ORDER: Final = "order"
    CURSOR: Final = "cursor"
    ORDER_ENTRIES: Final = "order_entries"
    ERRORS: Final = "errors"
    ERROR_DETAIL: Final = "detail"
    ERROR_CODE: Final = "code"
    # order
    ID: Final = "id"
    LOCATION: Final = "location_id"
    STATE: Final = "state"
    CREATED: Final = "created_at"
    CLOSED: Final = "closed_at"
    LINE_ITEMS: Final = "line_items"
    TAXES: Final = "taxes"
    RETURNS: Final = "returns"
    REFUNDS: Final = "refunds"
    # line item (and return line item)
    UID: Final = "uid"
    NAME: Final = "name"
    QUANTITY: Final = "quantity"
    ITEM_TYPE: Final = "item_type"
    GROSS: Final = "gross_sales_money"
    GROSS_RETURN: Final = "gross_return_money"
    DISCOUNT: Final = "total_discount_money"
    APPLIED_DISCOUNTS: Final = "applied_discounts"
    LEGACY_DISCOUNTS: Final = "discounts"
    BASE_PRICE: Final = "base_price_money"
    VARIATION_TOTAL: Final = "variation_total_price_money"
    MODIFIERS: Final = "modifiers"
    RETURN_MODIFIERS: Final = "return_modifiers"
    MODIFIER_TOTAL: Final = "total_price_money"
    APPLIED_TAXES: Final = "applied_taxes"
    LEGACY_TAXES: Final = "taxes"
    TAX_UID: Final = "tax_uid"
    APPLIED_MONEY: Final = "applied_money"
    TAX_TYPE: Final = "type"
    RETURN_TAXES: Final = "return_taxes"
    RETURN_LINE_ITEMS: Final = "return_line_items"
    # refund
    REFUND_AMOUNT: Final = "amount_money"
    REFUND_STATUS: Final = "status"
    # money
    AMOUNT: Final = "amount"
    CURRENCY: Final = "currency"
    # values
    STATE_COMPLETED: Final = "COMPLETED"
    STATE_CANCELED: Final = "CANCELED"
    STATE_OPEN: Final = "OPEN"
    STATE_DRAFT: Final = "DRAFT"
    INCLUSIVE: Final = "INCLUSIVE"
    GIFT_CARD: Final = "GIFT_CARD"
    CUSTOM_AMOUNT: Final = "CUSTOM_AMOUNT"
    CUSTOM_AMOUNT_NAME: Final = "Custom Amount"
    REFUND_NOT_DONE: Final = ("REJECTED", "FAILED")
    RETURN_PREFIX: Final = "return:"
    REFUND_PREFIX: Final = "refund:"


STATES: Final = (F.STATE_COMPLETED, F.STATE_CANCELED, F.STATE_OPEN, F.STATE_DRAFT)
NOT_YET_SALES: Final = (F.STATE_OPEN, F.STATE_DRAFT)
_NO_LOCATION_WHY: Final = "its orders carry no location_id"


# ------------------------------------------------------------------------- the document


def _records(path: Path, document: Any) -> list[Any]:
    """The orders of a SearchOrders page, an array of pages, ``{"order"}`` or an order array."""
    if isinstance(document, dict):
        return _page_orders(path, document, "")
    if isinstance(document, list):
        records: list[Any] = []
        for i, element in enumerate(document):
            records.extend(_element_orders(path, element, i))  # a bad order is a reject
        return records
    raise ImportFileError(
        display_path(path),
        "expected a SearchOrders response (a JSON object with orders), "
        f"found {json_type(document)}",
    )


def _stream(path: Path, encoding: str | None) -> Iterator[Any]:
    """The orders of :func:`_records`, decoded one at a time (a page of an array of pages at a
    time: a SearchOrders page holds at most ``limit`` orders, 500 by default and at most).

    A SearchOrders page is streamed from its ``orders``, an array from its elements. A file that
    is neither (or whose ``orders`` is empty, or absent: a single order, errors, order entries)
    is small and read whole, as is one ijson cannot read on (bad JSON, bytes or size, an integer
    too large for it): whole, it is refused with the exact problem, or (a very large integer)
    read on from the order the stream stopped at.
    """
    taken = 0
    head = head_text(path, 4096).lstrip("\ufeff \t\r\n")[:1]
    try:
        if head == "{":
            for order in stream_items(path, encoding, f"{F.ORDERS}.item"):
                taken += 1
                yield order
        elif head == "[":
            for i, element in enumerate(stream_items(path, encoding, "item")):
                for order in _element_orders(path, element, i):
                    taken += 1
                    yield order
    except StreamFailed:
        pass
    else:
        if taken:
            return
    yield from _records(path, load_document(path, encoding))[taken:]


def _element_orders(path: Path, element: Any, i: int) -> list[Any]:
    """The orders of one element of a top-level array: a page's, or the element itself."""
    if isinstance(element, dict) and _is_page(element):
        return _page_orders(path, element, f"[{i}]")
    return [element]


def _is_page(obj: JsonObject) -> bool:
    """Whether an object of a top-level array is a response page rather than an order."""
    return not obj or F.ORDERS in obj or F.CURSOR in obj or F.ORDER_ENTRIES in obj


def _page_orders(path: Path, page: JsonObject, where: str) -> list[Any]:
    """The orders of one response object; ImportFileError when it cannot hold any."""
    field = f"{where}.{F.ORDERS}" if where else F.ORDERS
    orders = page.get(F.ORDERS)
    if orders is not None:
        if not isinstance(orders, list):
            raise ImportFileError(
                display_path(path), f"expected an array of orders, found {json_type(orders)}",
                field=field,
            )  # fmt: skip
        return orders
    single = page.get(F.ORDER)
    if isinstance(single, dict) and F.LOCATION in single:
        return [single]
    if page.get(F.ORDER_ENTRIES) is not None:
        raise ImportFileError(
            display_path(path),
            "the response lists order_entries (ids only): run SearchOrders with return_entries "
            "false to get whole orders",
            field=F.ORDER_ENTRIES,
        )
    errors = page.get(F.ERRORS)
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        said = first.get(F.ERROR_DETAIL) or first.get(F.ERROR_CODE) or "an error"
        raise ImportFileError(
            display_path(path), f"the response holds errors and no orders: {str(said)[:200]}",
            field=F.ERRORS,
        )  # fmt: skip
    if F.LOCATION in page and (F.LINE_ITEMS in page or F.STATE in page or F.RETURNS in page):
        return [page]  # one order on its own
    known = {F.CURSOR, F.ERRORS}
    if set(page) - known:
        keys = ", ".join(sorted(str(k) for k in page)[:6])
        raise ImportFileError(
            display_path(path),
            f"expected a SearchOrders response with orders, found a JSON object with keys {keys}",
            field=field,
        )
    return []  # an empty page: Square answers {} when no order matches


def _locations(records: Iterable[Any]) -> set[str]:
    """The distinct location ids the orders name (for a file-wide fallback)."""
    found: set[str] = set()
    for record in records:
        if isinstance(record, dict):
            value = record.get(F.LOCATION)
            if isinstance(value, str) and value.strip():
                found.add(value.strip())
    return found


# ------------------------------------------------------------------------------- values


def _money(obj: JsonObject, key: str, path: str, currency: str) -> int | None:
    """A ``Money`` object's amount in minor units (None when missing); checks its currency."""
    money = get_object(obj, key, path)
    if money is None:
        return None
    at = join(path, key)
    amount = get_int(money, F.AMOUNT, at)
    code = get_optional_text(money, F.CURRENCY, at)
    if code is not None and code.upper() != currency.upper():
        raise RecordError(
            join(at, F.CURRENCY), f"the order is in {code}, the restaurant uses {currency}"
        )
    return amount


def _times(amount: int, quantity: str, path: str) -> int:
    """``amount × quantity`` in minor units, rounded half away from zero."""
    try:
        product = Decimal(amount) * Decimal(quantity.strip())
    except InvalidOperation:
        raise RecordError(path, f"not a valid quantity: {quantity!r}") from None
    if not product.is_finite() or abs(product) > 10**15:
        raise RecordError(path, f"not a valid quantity: {quantity!r}")
    return int(product.to_integral_value(rounding=ROUND_HALF_UP))


def _applied_total(obj: JsonObject, key: str, path: str, currency: str, uids: set[str]) -> int:
    """The sum of ``applied_money`` of the entries of ``obj[key]`` whose ``tax_uid`` is in uids."""
    total = 0
    for i, applied in enumerate(get_objects(obj, key, path)):
        at = index(path, key, i)
        uid = get_optional_id(applied, F.TAX_UID, at)
        if uid is not None and uid in uids:
            total += _money(applied, F.APPLIED_MONEY, at, currency) or 0
    return total


def _inclusive_uids(obj: JsonObject, key: str, path: str) -> set[str]:
    """The uids of the ``INCLUSIVE`` taxes listed in ``obj[key]``."""
    uids = set()
    for i, tax in enumerate(get_objects(obj, key, path)):
        at = index(path, key, i)
        kind = get_optional_text(tax, F.TAX_TYPE, at)
        uid = get_optional_id(tax, F.UID, at)
        if kind is not None and kind.upper() == F.INCLUSIVE and uid is not None:
            uids.add(uid)
    return uids


def _legacy_inclusive(item: JsonObject, path: str, currency: str) -> int:
    """Inclusive taxes in the deprecated ``line_items[].taxes`` (orders of 2018-2019)."""
    total = 0
    for i, tax in enumerate(get_objects(item, F.LEGACY_TAXES, path)):
        at = index(path, F.LEGACY_TAXES, i)
        kind = get_optional_text(tax, F.TAX_TYPE, at)
        if kind is not None and kind.upper() == F.INCLUSIVE:
            total += _money(tax, F.APPLIED_MONEY, at, currency) or 0
    return total


def _gross(item: JsonObject, at: str, currency: str, *, returned: bool) -> int:
    """The line's gross: ``gross_sales_money`` (``gross_return_money``), else its parts."""
    key = F.GROSS_RETURN if returned else F.GROSS
    gross = _money(item, key, at, currency)
    if gross is not None:
        return gross
    quantity = get_decimal(item, F.QUANTITY, at)
    variation = _money(item, F.VARIATION_TOTAL, at, currency)
    if variation is None:
        base = _money(item, F.BASE_PRICE, at, currency)
        if base is None:
            raise RecordError(join(at, key), "missing (and no base_price_money either)")
        variation = _times(base, quantity, join(at, F.QUANTITY))
    mods_key = F.RETURN_MODIFIERS if returned else F.MODIFIERS
    for i, mod in enumerate(get_objects(item, mods_key, at)):
        mod_at = index(at, mods_key, i)
        total = _money(mod, F.MODIFIER_TOTAL, mod_at, currency)
        if total is None:
            base = _money(mod, F.BASE_PRICE, mod_at, currency) or 0
            total = _times(base, quantity, join(at, F.QUANTITY))
        variation += total
    return variation


def _discount(item: JsonObject, at: str, currency: str) -> int:
    """``total_discount_money``, else the sum of the applied (or legacy) discounts."""
    total = _money(item, F.DISCOUNT, at, currency)
    if total is not None:
        return total
    found = 0
    for key in (F.APPLIED_DISCOUNTS, F.LEGACY_DISCOUNTS):
        for i, applied in enumerate(get_objects(item, key, at)):
            found += _money(applied, F.APPLIED_MONEY, index(at, key, i), currency) or 0
    return found


def _item_type(item: JsonObject, at: str) -> str:
    value = get_optional_text(item, F.ITEM_TYPE, at)
    return (value or "ITEM").upper()


def _item_name(item: JsonObject, at: str, item_type: str) -> str | None:
    name = get_optional_text(item, F.NAME, at)
    if name is None and item_type == F.CUSTOM_AMOUNT:
        return F.CUSTOM_AMOUNT_NAME
    return name


# ------------------------------------------------------------------------------ walking


class _Walker:
    """Walks the orders of one file, resolving each order's restaurant."""

    def __init__(self, path: Path, ctx: ParseContext, records: Callable[[], Iterable[Any]]) -> None:
        self.path = path
        self.ctx = ctx
        self.directory = ctx.directory
        self.fallback: RestaurantInfo | None = None
        self._records = records
        self._decided = False

    def _decide(self) -> None:
        """Sets the file-wide fallback restaurant from every location the file names. Called at
        the first order whose location is missing or unknown, unless an order with a known one
        came first (then the file names a known location, and there is no fallback)."""
        self._decided = True
        locations = _locations(self._records())
        path, ctx = self.path, self.ctx
        if len(locations) == 1:
            (only,) = locations
            if ctx.directory.by_location(SOURCE, only) is None:
                # the file's one location is unknown: --restaurant, or say how to fix it
                self.fallback = resolve_file_restaurant(
                    path, ctx, SOURCE, carried=((F.LOCATION, only),), why=_NO_LOCATION_WHY
                )
        elif not locations and ctx.restaurant is not None:
            self.fallback = resolve_file_restaurant(path, ctx, SOURCE, why=_NO_LOCATION_WHY)

    def restaurant(self, b: Builder, order: JsonObject) -> RestaurantInfo:
        location = get_optional_id(order, F.LOCATION, "")
        if not self._decided:
            if location is not None and self.directory.by_location(SOURCE, location) is not None:
                self._decided = True
            else:
                self._decide()
        if location is None:
            if self.fallback is not None:
                return self.fallback
            raise RecordError(F.LOCATION, "missing")
        if self.fallback is not None and self.directory.by_location(SOURCE, location) is None:
            return self.fallback
        return b.restaurant(location, F.LOCATION)

    def walk(self, b: Builder, order: JsonObject) -> None:
        """Adds one order with its line items and returns."""
        state = (get_optional_text(order, F.STATE, "") or F.STATE_COMPLETED).upper()
        if state not in STATES:
            raise RecordError(F.STATE, f"unknown order state: {state!r}")
        if state in NOT_YET_SALES:
            return
        restaurant = self.restaurant(b, order)
        if order.get(F.CLOSED) is not None:
            ts_field, ts = F.CLOSED, get_text(order, F.CLOSED, "")
        else:
            ts_field, ts = F.CREATED, get_text(order, F.CREATED, "")
        b.add_order(restaurant, get_id(order, F.ID, ""), ts, ts_field, None)
        canceled = state == F.STATE_CANCELED
        o = _Order(
            ts=ts,
            ts_field=ts_field,
            kind=c.KIND_VOID if canceled else c.KIND_SALE,
            inclusive=_inclusive_uids(order, F.TAXES, ""),
            currency=restaurant.currency,
        )
        for i, item in enumerate(get_objects(order, F.LINE_ITEMS, "")):
            _line_item(b, item, index("", F.LINE_ITEMS, i), i, o)
        if canceled:
            return  # a canceled order refunds nothing
        returns = get_objects(order, F.RETURNS, "")
        for r, ret in enumerate(returns):
            _return(b, ret, index("", F.RETURNS, r), r, o)
        if not returns:
            for k, refund in enumerate(get_objects(order, F.REFUNDS, "")):
                _refund(b, refund, index("", F.REFUNDS, k), o.currency)


@dataclass(frozen=True)
class _Order:
    """What an order's lines share: its time, their kind before comps, its inclusive taxes."""

    ts: str
    ts_field: str
    kind: str
    inclusive: set[str]
    currency: str


def _line_item(b: Builder, item: JsonObject, at: str, i: int, o: _Order) -> None:
    """Adds one line item (its modifiers are inside its money)."""
    item_type = _item_type(item, at)
    if item_type == F.GIFT_CARD:
        return
    gross = _gross(item, at, o.currency, returned=False)
    discount = _discount(item, at, o.currency)
    if get_objects(item, F.APPLIED_TAXES, at):
        tax = _applied_total(item, F.APPLIED_TAXES, at, o.currency, o.inclusive)
    else:  # orders read before applied_taxes existed list their taxes on the line
        tax = _legacy_inclusive(item, at, o.currency)
    net = gross - discount - tax
    kind = c.KIND_COMP if o.kind == c.KIND_SALE and gross > 0 and net == 0 else o.kind
    b.add_line(
        Line(
            line_id=get_optional_id(item, F.UID, at) or f"#{i}",
            parent_line_id=None,
            ts=o.ts,
            ts_field=o.ts_field,
            item=_item_name(item, at, item_type),
            category=None,
            at=at,
            quantity=get_decimal(item, F.QUANTITY, at),
            quantity_key=F.QUANTITY,
            amount=net,
            amount_key=F.GROSS,
            kind=kind,
        )
    )


def _return(b: Builder, ret: JsonObject, at: str, r: int, o: _Order) -> None:
    """Adds the refund lines of one ``OrderReturn`` (dated at this return order's time)."""
    currency = o.currency
    taxes = o.inclusive | _inclusive_uids(ret, F.RETURN_TAXES, at)
    for j, item in enumerate(get_objects(ret, F.RETURN_LINE_ITEMS, at)):
        item_at = index(at, F.RETURN_LINE_ITEMS, j)
        item_type = _item_type(item, item_at)
        if item_type == F.GIFT_CARD:
            continue
        gross = _gross(item, item_at, currency, returned=True)
        discount = _discount(item, item_at, currency)
        tax = _applied_total(item, F.APPLIED_TAXES, item_at, currency, taxes)
        uid = get_optional_id(item, F.UID, item_at) or f"#{r}.{j}"
        b.add_line(
            Line(
                line_id=F.RETURN_PREFIX + uid,
                parent_line_id=None,
                ts=o.ts,
                ts_field=o.ts_field,
                item=_item_name(item, item_at, item_type),
                category=None,
                at=item_at,
                quantity=get_decimal(item, F.QUANTITY, item_at),
                quantity_key=F.QUANTITY,
                amount=-abs(gross - discount - tax),
                amount_key=F.GROSS_RETURN,
                kind=c.KIND_REFUND,
            )
        )


def _refund(b: Builder, refund: JsonObject, at: str, currency: str) -> None:
    """Adds a ``Refund`` of an order without returns: money only, tax included."""
    status = (get_optional_text(refund, F.REFUND_STATUS, at) or "").upper()
    if status in F.REFUND_NOT_DONE:
        return
    amount = _money(refund, F.REFUND_AMOUNT, at, currency)
    if amount is None:
        raise RecordError(join(at, F.REFUND_AMOUNT), "missing")
    b.add_line(
        Line(
            line_id=F.REFUND_PREFIX + get_id(refund, F.ID, at),
            parent_line_id=None,
            ts=get_text(refund, F.CREATED, at),
            ts_field=join(at, F.CREATED),
            item=None,
            category=None,
            at=at,
            quantity="0",
            quantity_key="",
            amount=-abs(amount),
            amount_key=F.REFUND_AMOUNT,
            kind=c.KIND_REFUND,
        )
    )


# ------------------------------------------------------------------------------ adapter


class SquareOrdersAdapter:
    """Reads Square Orders API responses (``SearchOrders`` pages)."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """A SearchOrders page or array of pages, ``{"order"}``, or an array of orders."""
        return sniff_json(
            path, head, "{", [(F.ORDERS, F.LOCATION), (F.ORDER, F.LOCATION, F.LINE_ITEMS)]
        ) or sniff_json(
            path,
            head,
            "[",
            [(F.ORDERS, F.LOCATION), (F.LOCATION, F.LINE_ITEMS), (F.LOCATION, F.RETURNS)],
        )

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; bad orders are rejected whole.

        Raises:
            ImportFileError: unreadable or invalid JSON, not a SearchOrders response (or one
                holding errors or order entries only), or an unknown restaurant for a file of
                one location.
        """
        records = _records(path, load_document(path, ctx.encoding))
        walker = _Walker(path, ctx, lambda: records)
        builder = Builder(SOURCE, ctx.directory, TimeFormat.ISO, minor_units=True, format_name=NAME)
        builder.run(records, walker.walk)
        return builder.finish(path)

    def parse_chunks(self, path: Path, ctx: ParseContext, size: int) -> Iterator[ParsedFile]:
        """Reads the file ``size`` orders at a time, streaming it (see :func:`_stream`): the
        frames of :meth:`parse`, cut into chunks, in memory one chunk at a time."""
        walker = _Walker(path, ctx, lambda: _stream(path, ctx.encoding))
        builder = Builder(SOURCE, ctx.directory, TimeFormat.ISO, minor_units=True, format_name=NAME)
        yield from builder.run_chunks(_stream(path, ctx.encoding), walker.walk, path, size)


ADAPTER: Final = SquareOrdersAdapter()
