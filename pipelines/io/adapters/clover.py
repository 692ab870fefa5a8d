"""Clover: orders JSON (``GET /v3/merchants/{mId}/orders?expand=...``), format ``clover``.

A JSON object ``{"merchantId": ..., "elements": [orders...], "href": ...}``; ``merchantId`` is the
location id (added by the export script). Money is in minor units ("cents") and times are epoch
milliseconds. A line item's modifications become child lines ``<line id>:<modification id>``; a
refund becomes one ``refund`` line ``refund-<id>`` dated when it happened. Clover drops voided line
items from the order, so there are no void lines, and its orders carry no guest count.

Discounts are applied to the line item's own price first and then, if they exceed it, to its
modifications in order. A line item with a price whose discounts cancel it is a ``comp`` (net 0),
and so is each modification the discounts cancel too. Line items with ``isRevenue`` false (gift
cards, deposits) are not demand and are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from models import columns as c
from pipelines.io.adapters._json_common import (
    Builder,
    JsonObject,
    Line,
    RecordError,
    TimeFormat,
    get_flag,
    get_id,
    get_instant,
    get_int,
    get_object,
    get_objects,
    get_optional_decimal,
    get_optional_int,
    get_optional_text,
    get_text,
    index,
    join,
    load_document,
    sniff_json,
    top_list,
    top_location,
    top_object,
)
from pipelines.io.adapters.base import ParseContext, ParsedFile

NAME: Final = "clover"


class F:
    """Clover's field names, in one place so they are easy to correct."""

    # file
    LOCATION: Final = "merchantId"
    ORDERS: Final = "elements"
    # any expanded collection: {"elements": [...]}
    ELEMENTS: Final = "elements"
    # order
    ORDER_ID: Final = "id"
    CURRENCY: Final = "currency"
    CREATED: Final = "createdTime"
    LINE_ITEMS: Final = "lineItems"
    REFUNDS: Final = "refunds"
    # line item
    LINE_ID: Final = "id"
    NAME: Final = "name"
    PRICE: Final = "price"
    UNIT_QTY: Final = "unitQty"
    IS_REVENUE: Final = "isRevenue"
    DISCOUNTS: Final = "discounts"
    DISCOUNT_AMOUNT: Final = "amount"
    DISCOUNT_PERCENTAGE: Final = "percentage"
    MODIFICATIONS: Final = "modifications"
    MODIFICATION_ID: Final = "id"
    MODIFICATION_NAME: Final = "name"
    MODIFICATION_AMOUNT: Final = "amount"
    ITEM: Final = "item"
    CATEGORIES: Final = "categories"
    CATEGORY_NAME: Final = "name"
    # refund
    REFUND_ID: Final = "id"
    REFUND_AMOUNT: Final = "amount"
    REFUND_CREATED: Final = "createdTime"
    REFUND_LINE_PREFIX: Final = "refund-"


UNIT_QTY_SCALE: Final = 1000
"""``unitQty`` is in thousandths."""


def _elements(obj: JsonObject, key: str, path: str) -> list[JsonObject]:
    """The objects of an expanded collection ``obj[key].elements``."""
    wrapper = get_object(obj, key, path)
    if wrapper is None:
        return []
    return get_objects(wrapper, F.ELEMENTS, join(path, key))


def _element_path(path: str, key: str, i: int) -> str:
    """The field path of ``obj[key].elements[i]`` for the object at ``path``."""
    return index(join(path, key), F.ELEMENTS, i)


def _scaled(amount: int, thousandths: int) -> int:
    """``amount × thousandths / 1000`` rounded half away from zero."""
    whole, rest = divmod(abs(amount * thousandths), UNIT_QTY_SCALE)
    whole += rest * 2 >= UNIT_QTY_SCALE
    return whole if amount * thousandths >= 0 else -whole


def _walk_order(b: Builder, order: JsonObject, location: str) -> None:
    """Adds one order with its line items, modifications and refunds."""
    restaurant = b.restaurant(location, F.LOCATION)
    currency = get_optional_text(order, F.CURRENCY, "")
    if currency is not None and currency.upper() != restaurant.currency.upper():
        raise RecordError(
            F.CURRENCY,
            f"the order is in {currency}, restaurant {restaurant.id} uses {restaurant.currency}",
        )
    created = get_instant(order, F.CREATED, "", TimeFormat.EPOCH_MS)
    b.add_order(restaurant, get_id(order, F.ORDER_ID, ""), created, F.CREATED, None)
    for i, item in enumerate(_elements(order, F.LINE_ITEMS, "")):
        _walk_line_item(b, item, _element_path("", F.LINE_ITEMS, i), created)
    for i, refund in enumerate(_elements(order, F.REFUNDS, "")):
        _walk_refund(b, refund, _element_path("", F.REFUNDS, i))


@dataclass(frozen=True)
class _Modification:
    """A modification of a line item, with its price."""

    line_id: str
    name: str
    amount: int
    at: str


def _modifications(item: JsonObject, at: str, line_id: str) -> list[_Modification]:
    mods = _elements(item, F.MODIFICATIONS, at)
    result = []
    for i, mod in enumerate(mods):
        mod_at = _element_path(at, F.MODIFICATIONS, i)
        result.append(
            _Modification(
                line_id=f"{line_id}:{get_id(mod, F.MODIFICATION_ID, mod_at)}",
                name=get_text(mod, F.MODIFICATION_NAME, mod_at),
                amount=get_int(mod, F.MODIFICATION_AMOUNT, mod_at),
                at=mod_at,
            )
        )
    return result


def _discount_total(item: JsonObject, at: str, gross: int) -> int:
    """The line item's discounts in minor units (positive): amounts, or percentages of ``gross``."""
    discounts = _elements(item, F.DISCOUNTS, at)
    total = 0
    for i, discount in enumerate(discounts):
        d_at = _element_path(at, F.DISCOUNTS, i)
        amount = get_optional_int(discount, F.DISCOUNT_AMOUNT, d_at)
        if amount is None:
            amount = round(gross * _percentage(discount, d_at) / 100)
        total += abs(amount)
    return total


def _percentage(discount: JsonObject, at: str) -> float:
    """A discount's ``percentage`` (0–100), for a discount without an amount."""
    text = get_optional_decimal(discount, F.DISCOUNT_PERCENTAGE, at)
    if text is None:
        raise RecordError(join(at, F.DISCOUNT_AMOUNT), "missing (and no percentage either)")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:
        raise RecordError(join(at, F.DISCOUNT_PERCENTAGE), f"not a percentage: {text!r}")
    return value


def _category(item: JsonObject, at: str) -> str | None:
    """``item.categories.elements[0].name``, if any."""
    catalog_item = get_object(item, F.ITEM, at)
    if catalog_item is None:
        return None
    item_at = join(at, F.ITEM)
    categories = _elements(catalog_item, F.CATEGORIES, item_at)
    if not categories:
        return None
    return get_optional_text(
        categories[0], F.CATEGORY_NAME, _element_path(item_at, F.CATEGORIES, 0)
    )


def _walk_line_item(b: Builder, item: JsonObject, at: str, created: str | int) -> None:
    """Adds a line item and its modifications, sharing its discounts out between them."""
    if not get_flag(item, F.IS_REVENUE, at, default=True):
        return
    line_id = get_id(item, F.LINE_ID, at)
    price = get_int(item, F.PRICE, at)
    thousandths = get_optional_int(item, F.UNIT_QTY, at)
    gross = price if thousandths is None else _scaled(price, thousandths)
    mods = _modifications(item, at, line_id)
    discount = _discount_total(item, at, gross + sum(m.amount for m in mods))
    comp = price > 0 and discount > 0 and discount >= gross
    overflow = discount - gross if comp else 0  # what the item's price could not absorb
    b.add_line(
        Line(
            line_id=line_id,
            parent_line_id=None,
            ts=created,
            ts_field=F.CREATED,
            item=get_text(item, F.NAME, at),
            category=_category(item, at),
            at=at,
            quantity="1" if thousandths is None else str(thousandths / UNIT_QTY_SCALE),
            quantity_key=F.UNIT_QTY,
            amount=0 if comp else gross - discount,
            amount_key=F.PRICE,
            kind=c.KIND_COMP if comp else c.KIND_SALE,
        )
    )
    for mod in mods:
        taken = min(overflow, max(mod.amount, 0))
        overflow -= taken
        net = mod.amount - taken
        b.add_line(
            Line(
                line_id=mod.line_id,
                parent_line_id=line_id,
                ts=created,
                ts_field=F.CREATED,
                item=mod.name,
                category=None,
                at=mod.at,
                quantity="1",
                quantity_key="",
                amount=net,
                amount_key=F.MODIFICATION_AMOUNT,
                kind=c.KIND_COMP if taken > 0 and net == 0 else c.KIND_SALE,
            )
        )


def _walk_refund(b: Builder, refund: JsonObject, at: str) -> None:
    """Adds one refund line."""
    b.add_line(
        Line(
            line_id=F.REFUND_LINE_PREFIX + get_id(refund, F.REFUND_ID, at),
            parent_line_id=None,
            ts=get_instant(refund, F.REFUND_CREATED, at, TimeFormat.EPOCH_MS),
            ts_field=join(at, F.REFUND_CREATED),
            item=None,
            category=None,
            at=at,
            quantity="0",
            quantity_key="",
            amount=-abs(get_int(refund, F.REFUND_AMOUNT, at)),
            amount_key=F.REFUND_AMOUNT,
            kind=c.KIND_REFUND,
        )
    )


class CloverAdapter:
    """Reads Clover orders JSON."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """A JSON object with ``elements`` whose orders have ``lineItems``."""
        return sniff_json(
            path, head, "{", [(F.ORDERS, F.LINE_ITEMS), (F.ORDERS, F.LOCATION, F.CREATED)]
        )

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; bad orders are rejected whole.

        Raises:
            ImportFileError: unreadable or invalid JSON, not an object, no ``elements`` array, or
                no ``merchantId``.
        """
        document = top_object(path, load_document(path, ctx.encoding), "a JSON object of orders")
        orders = top_list(path, document.get(F.ORDERS), F.ORDERS, "an array of orders")
        location = top_location(path, document, F.LOCATION)
        builder = Builder(NAME, ctx.directory, TimeFormat.EPOCH_MS, minor_units=True)

        def walk(b: Builder, order: JsonObject) -> None:
            _walk_order(b, order, location)

        builder.run(orders, walk)
        return builder.finish(path)


ADAPTER = CloverAdapter()
