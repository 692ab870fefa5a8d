"""Revel: REST resources ``/resources/Order/`` and ``/resources/OrderItem/``, format ``revel_api``.

A file is what ``GET /resources/Order/`` or ``GET /resources/OrderItem/`` returns: the Tastypie
envelope ``{"meta": {"limit", "offset", "total_count", "next", "previous"}, "objects": [...]}``
(several pages may be saved as a JSON array of envelopes, or the objects as one array). Each object
is an Order or an OrderItem, told apart by its ``resource_uri`` (``/resources/Order/7/``,
``/resources/OrderItem/31/``); one file may hold both. See docs/formats.md, "Revel".

- Order: ``id`` (order id), ``establishment`` (``/enterprise/Establishment/12/``: the location id
  is the number), ``created_date`` (local wall time of the establishment, no UTC offset; a value
  with an offset is converted), ``number_of_people`` (covers), and its total: ``subtotal`` minus
  ``discount_amount`` (before tax, tips and service charges). A ``deleted`` order or an
  ``is_invoice`` one (a bill not yet rung up as a sale) carries no total: not demand.
- OrderItem: ``id`` (line id), ``order`` (``/resources/Order/7/``: the order id), ``created_date``
  (the line's local time), ``product_name_override`` (else ``product_name``/``name``, else the
  ``product`` URI's id) as the item, ``quantity``, ``pure_sales`` (the line's net sales after
  discounts, before tax, its modifiers included), ``price``/``discount_amount`` (tell a comp:
  ``pure_sales`` 0 with a price or a discount), ``is_voided``/``voided_date``/``voided_by`` and
  ``deleted`` (``void`` lines), a negative ``quantity`` or ``pure_sales`` (a return: a ``refund``
  line dated at its ``created_date``), and ``modifieritems`` (child lines ``<item id>:<modifier
  item id>`` with net 0, since ``pure_sales`` already holds their price). OrderItems carry no
  establishment: the file's restaurant comes from ``--restaurant`` or its folder name unless an
  item has an ``establishment`` URI. An OrderItem file gives lines only; their orders are the
  Order file's (or, without one, implied by the lines at import).

Ids are Revel's own, as in the Data Connector's ``order_id`` and ``order_item_id``, and ``source``
is ``revel`` for both formats, so an order exported both ways is stored once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._json_common import (
    Builder,
    JsonObject,
    Line,
    RecordError,
    TimeFormat,
    get_count,
    get_decimal,
    get_flag,
    get_id,
    get_objects,
    get_optional_decimal,
    get_optional_text,
    get_text,
    index,
    join,
    json_type,
    load_document,
)
from pipelines.io.adapters.base import (
    ParseContext,
    ParsedFile,
    RestaurantInfo,
    resolve_file_restaurant,
)
from pipelines.io.adapters.common import display_path

NAME: Final = "revel"
"""The vendor: the ``source`` of every line and the ``pos_provider`` of its restaurants."""

FORMAT: Final = "revel_api"


class F:
    """Revel's field names, in one place so they are easy to correct."""

    # envelope
    META: Final = "meta"
    OBJECTS: Final = "objects"
    # any resource
    ID: Final = "id"
    RESOURCE_URI: Final = "resource_uri"
    CREATED: Final = "created_date"
    ESTABLISHMENT: Final = "establishment"
    DELETED: Final = "deleted"
    # Order
    GUESTS: Final = "number_of_people"
    SUBTOTAL: Final = "subtotal"
    DISCOUNT: Final = "discount_amount"
    INVOICE: Final = "is_invoice"
    FINAL_TOTAL: Final = "final_total"
    CLOSED: Final = "closed"
    # OrderItem
    ORDER: Final = "order"
    PRODUCT: Final = "product"
    NAME_OVERRIDE: Final = "product_name_override"
    NAMES: Final = ("product_name", "name")
    QUANTITY: Final = "quantity"
    PRICE: Final = "price"
    NET: Final = "pure_sales"
    VOIDED: Final = "is_voided"
    VOID_MARKS: Final = ("voided_date", "voided_by")
    MODIFIERS: Final = ("modifieritems", "modifiers")
    MOD_ID: Final = "id"
    MOD_NAMES: Final = ("name", "modifier_name")
    MOD_REF: Final = "modifier"
    MOD_QTYS: Final = ("qty", "quantity")


ORDER_KIND: Final = "Order"
ITEM_KIND: Final = "OrderItem"
_URI_RE = re.compile(r"/(?P<kind>[A-Za-z]+)/(?P<id>[0-9]+)/?$")
_OFFSET_RE = re.compile(r"(?:[Zz]|[+-]\d{2}:?\d{2})$")
_SNIFF_URI_RE = re.compile(r'"resource_uri"\s*:\s*"/resources/Order(?:Item)?/[0-9]+/?"')
_WHY_NO_LOCATION: Final = "Revel's OrderItem resource names its order, not its establishment"


def uri_id(value: Any, path: str) -> str:
    """The id of a Revel resource URI (``/enterprise/Establishment/12/`` → ``12``) or an int."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isdigit():
            return stripped
        match = _URI_RE.search(stripped)
        if match:
            return match.group("id")
        raise RecordError(path, f"not a Revel resource URI: {value!r}")
    raise RecordError(path, f"expected a resource URI, found {json_type(value)}")


def resource_kind(obj: JsonObject) -> str | None:
    """``Order``, ``OrderItem``, or None when the object is neither."""
    uri = obj.get(F.RESOURCE_URI)
    if isinstance(uri, str):
        match = _URI_RE.search(uri.strip())
        if match and match.group("kind") in (ORDER_KIND, ITEM_KIND):
            return match.group("kind")
        return None
    if F.ORDER in obj and (F.NET in obj or F.PRODUCT in obj):
        return ITEM_KIND
    if F.ESTABLISHMENT in obj and (F.GUESTS in obj or F.FINAL_TOTAL in obj or F.CLOSED in obj):
        return ORDER_KIND
    return None


def local_time(obj: JsonObject, key: str, path: str, restaurant: RestaurantInfo) -> str:
    """A required time as the restaurant's local wall time (ISO text without an offset).

    Revel writes ``created_date`` in the establishment's local time without an offset; a value
    that carries one (``Z``, ``+00:00``) is converted to that wall time. Text that is not a time
    is passed on and rejected with the record when the builder parses it.
    """
    raw = get_text(obj, key, path)
    if not _OFFSET_RE.search(raw):
        return raw
    try:
        instant = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1] in "Zz" else raw)
        wall = instant.astimezone(ZoneInfo(restaurant.timezone)).replace(tzinfo=None)
    except (ValueError, OverflowError, KeyError):  # KeyError: unknown zone
        return raw
    return wall.isoformat()


def _decimal(text: str | None) -> Decimal | None:
    """A decimal from text, or None when absent or not a number."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class _Walker:
    """Walks one file's Orders and OrderItems, resolving the file's restaurant when needed."""

    def __init__(self, path: Path, ctx: ParseContext) -> None:
        self.path = path
        self.ctx = ctx
        self._file_restaurant: RestaurantInfo | None = None

    def restaurant(self, b: Builder, obj: JsonObject) -> RestaurantInfo:
        """The record's restaurant: its ``establishment``, else the file's one restaurant."""
        value = obj.get(F.ESTABLISHMENT)
        if value is not None:
            return b.restaurant(uri_id(value, F.ESTABLISHMENT), F.ESTABLISHMENT)
        if self._file_restaurant is None:
            self._file_restaurant = resolve_file_restaurant(
                self.path, self.ctx, NAME, why=_WHY_NO_LOCATION
            )
        return self._file_restaurant

    def order(self, b: Builder, obj: JsonObject) -> None:
        """Adds an Order with its total; other objects are the item walker's or rejected."""
        kind = resource_kind(obj)
        if kind == ITEM_KIND:
            return
        if kind is None:
            uri = obj.get(F.RESOURCE_URI)
            found = f"resource_uri {uri!r}" if uri is not None else "no resource_uri"
            raise RecordError(F.RESOURCE_URI, f"not a Revel Order or OrderItem ({found})")
        restaurant = self.restaurant(b, obj)
        created = local_time(obj, F.CREATED, "", restaurant)
        b.add_order(
            restaurant,
            get_id(obj, F.ID, ""),
            created,
            F.CREATED,
            get_count(obj, F.GUESTS, ""),
            net=_order_net(obj),
            net_field=F.SUBTOTAL,
        )

    def item(self, b: Builder, obj: JsonObject) -> None:
        """Adds an OrderItem and its modifiers as lines of its order."""
        if resource_kind(obj) != ITEM_KIND:
            return
        line_id = get_id(obj, F.ID, "")
        if obj.get(F.ORDER) is None:
            raise RecordError(F.ORDER, "missing")
        order_id = uri_id(obj.get(F.ORDER), F.ORDER)
        restaurant = self.restaurant(b, obj)
        created = local_time(obj, F.CREATED, "", restaurant)
        b.add_order(restaurant, order_id, created, F.CREATED, None)  # dropped: lines only
        quantity = get_decimal(obj, F.QUANTITY, "")
        net = get_decimal(obj, F.NET, "")
        kind = _item_kind(obj, quantity, net)
        b.add_line(
            Line(
                line_id=line_id,
                parent_line_id=None,
                ts=created,
                ts_field=F.CREATED,
                item=_item_name(obj),
                category=None,
                at="",
                quantity=quantity,
                quantity_key=F.QUANTITY,
                amount=net,
                amount_key=F.NET,
                kind=kind,
                **_comp_basis(obj),
            )
        )
        modifier_kind = kind if kind in (c.KIND_VOID, c.KIND_REFUND) else c.KIND_SALE
        key = next((k for k in F.MODIFIERS if obj.get(k) is not None), F.MODIFIERS[0])
        for i, mod in enumerate(get_objects(obj, key, "")):
            _add_modifier(
                b, mod, index("", key, i), parent=line_id, ts=created, kind=modifier_kind, i=i
            )


def _order_net(obj: JsonObject) -> str | None:
    """The order's net sales as decimal text: ``subtotal`` minus ``discount_amount``.

    None (not demand) for a deleted order, an invoice, an order without a subtotal, an order with
    nothing sold (subtotal 0) or a return (below 0). A comped order (discount equal to the
    subtotal) is demand with net 0.
    """
    if get_flag(obj, F.DELETED, "") or get_flag(obj, F.INVOICE, ""):
        return None
    subtotal_text = get_optional_decimal(obj, F.SUBTOTAL, "")
    if subtotal_text is None:
        return None
    subtotal = _decimal(subtotal_text)
    if subtotal is None:
        raise RecordError(F.SUBTOTAL, f"not a valid amount: {subtotal_text!r}")
    discount_text = get_optional_decimal(obj, F.DISCOUNT, "")
    discount = _decimal(discount_text) if discount_text is not None else Decimal(0)
    if discount is None:
        raise RecordError(F.DISCOUNT, f"not a valid amount: {discount_text!r}")
    net = subtotal - abs(discount)
    return format(net, "f") if subtotal > 0 and net >= 0 else None


def _item_kind(obj: JsonObject, quantity: str, net: str) -> str:
    """``void`` (voided or deleted), ``refund`` (negative quantity or net) or ``sale``."""
    if get_flag(obj, F.DELETED, "") or get_flag(obj, F.VOIDED, ""):
        return c.KIND_VOID
    if any(obj.get(key) not in (None, "") for key in F.VOID_MARKS):
        return c.KIND_VOID
    q, n = _decimal(quantity), _decimal(net)
    if (q is not None and q < 0) or (n is not None and n < 0):
        return c.KIND_REFUND
    return c.KIND_SALE  # a sale with net 0 and a comp basis becomes a comp


def _comp_basis(obj: JsonObject) -> dict[str, Any]:
    """What makes a zero-net sale a comp: a discount, else a price."""
    for key in (F.DISCOUNT, F.PRICE):
        text = get_optional_decimal(obj, key, "")
        value = _decimal(text)
        if value is not None and value != 0:
            return {"comp_basis": text, "comp_basis_key": key}
    return {}


def _item_name(obj: JsonObject) -> str:
    """``product_name_override``, else the product's name, else ``product <id>``."""
    for key in (F.NAME_OVERRIDE, *F.NAMES):
        name = get_optional_text(obj, key, "")
        if name:
            return name
    product = obj.get(F.PRODUCT)
    if product is None:
        raise RecordError(F.PRODUCT, "missing (and no product_name_override)")
    return f"product {uri_id(product, F.PRODUCT)}"


def _add_modifier(
    b: Builder, mod: JsonObject, at: str, *, parent: str, ts: str, kind: str, i: int
) -> None:
    """One modifier item as a child line with net 0."""
    mod_id = mod.get(F.MOD_ID)
    suffix = get_id(mod, F.MOD_ID, at) if mod_id is not None else str(i + 1)
    name = next(
        (n for key in F.MOD_NAMES if (n := get_optional_text(mod, key, at))),
        None,
    )
    if name is None:
        ref = mod.get(F.MOD_REF)
        name = f"modifier {uri_id(ref, join(at, F.MOD_REF))}" if ref is not None else "modifier"
    qty_key = next((key for key in F.MOD_QTYS if mod.get(key) is not None), F.MOD_QTYS[0])
    quantity = get_optional_decimal(mod, qty_key, at) or "1"
    b.add_line(
        Line(
            line_id=f"{parent}:{suffix}",
            parent_line_id=parent,
            ts=ts,
            ts_field=F.CREATED,
            item=name,
            category=None,
            at=at,
            quantity=quantity,
            quantity_key=qty_key,
            amount="0",
            amount_key="",
            kind=kind,
        )
    )


def records_of(path: Path, document: Any) -> list[Any]:
    """The objects of an envelope, of a JSON array of envelopes (pages), or a bare array."""
    if isinstance(document, dict):
        if F.OBJECTS not in document:
            raise ImportFileError(
                display_path(path),
                'expected Revel\'s {"meta", "objects"} envelope; objects missing',
                field=F.OBJECTS,
            )
        objects = document[F.OBJECTS]
        if not isinstance(objects, list):
            raise ImportFileError(
                display_path(path),
                f"expected an array of Revel objects, found {json_type(objects)}",
                field=F.OBJECTS,
            )
        return objects
    if isinstance(document, list):
        pages = [p for p in document if isinstance(p, dict) and F.OBJECTS in p]
        if pages and len(pages) == len(document):
            out: list[Any] = []
            for page in pages:
                out.extend(records_of(path, page))
            return out
        return document
    raise ImportFileError(
        display_path(path),
        f'expected Revel\'s {{"meta", "objects"}} envelope, found {json_type(document)}',
    )


def _run(
    walk: Callable[[Builder, JsonObject], None], records: list[Any], ctx: ParseContext, path: Path
) -> ParsedFile:
    builder = Builder(NAME, ctx.directory, TimeFormat.LOCAL, minor_units=False, format_name=FORMAT)
    builder.run(records, walk)
    return builder.finish(path)


class RevelApiAdapter:
    """Reads Revel REST ``Order`` and ``OrderItem`` responses."""

    name = FORMAT

    def sniff(self, path: Path, head: str) -> bool:
        """JSON whose objects are Revel Orders or OrderItems (by ``resource_uri`` or fields)."""
        if path.name.lower().endswith((".csv", ".csv.gz", ".parquet")):
            return False
        text = head.lstrip("\ufeff \t\r\n")
        if not text.startswith(("{", "[")):
            return False
        text = text.replace("\\/", "/")
        if _SNIFF_URI_RE.search(text):
            return True
        items = f'"{F.NET}"' in text and '"/resources/Order/' in text
        orders = f'"{F.GUESTS}"' in text and '"/enterprise/Establishment/' in text
        return items or orders

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; bad objects are rejected whole.

        Raises:
            ImportFileError: unreadable or invalid JSON, no ``objects`` array, or OrderItems
                without an establishment and no way to tell the file's restaurant.
        """
        records = records_of(path, load_document(path, ctx.encoding))
        walker = _Walker(path, ctx)
        orders = _run(walker.order, records, ctx, path)
        items = _run(walker.item, records, ctx, path)
        rejects = pd.concat([orders.rejects, items.rejects], ignore_index=True)
        rejects[c.REJECT_ROW] = rejects[c.REJECT_ROW].astype("int64")
        return ParsedFile(
            path=display_path(path),
            format=FORMAT,
            rows_read=len(records),
            orders=orders.orders,
            lines=items.lines,
            rejects=rejects.sort_values(c.REJECT_ROW, kind="stable").reset_index(drop=True),
        )


ADAPTER: Final = RevelApiAdapter()
