"""Lightspeed Restaurant (K-Series): Financial API sales JSON, format ``lightspeed``.

A JSON object ``{"businessLocationId": ..., "sales": [...]}``. Each sale is one order (its
``receiptId``) with ``salesLines``; a line with ``parentLineId`` is a modifier (a child line). A
``REFUND`` sale's lines are ``refund`` lines; a cancelled sale's lines, a line with a
``voidReason`` and the modifiers of a voided line are ``void`` lines. Lines carry the sale's
opening time (the lines have no time of their own).
"""

from __future__ import annotations

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
    get_count,
    get_decimal,
    get_flag,
    get_id,
    get_instant,
    get_object,
    get_objects,
    get_optional_decimal,
    get_optional_id,
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

NAME: Final = "lightspeed"


class F:
    """Lightspeed's field names, in one place so they are easy to correct."""

    # file
    LOCATION: Final = "businessLocationId"
    SALES: Final = "sales"
    # sale
    ORDER_ID: Final = "receiptId"
    OPENED: Final = "timeOfOpening"
    CANCELLED: Final = "cancelled"
    TYPE: Final = "type"
    TYPE_SALE: Final = "SALE"
    TYPE_REFUND: Final = "REFUND"
    COVERS: Final = "nbCovers"
    LINES: Final = "salesLines"
    # sales line
    LINE_ID: Final = "id"
    ITEM: Final = "name"
    QUANTITY: Final = "quantity"
    NET_AMOUNT: Final = "totalNetAmountWithoutTax"
    DISCOUNT: Final = "totalDiscountAmount"
    GROUP: Final = "accountingGroup"
    GROUP_NAME: Final = "name"
    VOID_REASON: Final = "voidReason"
    PARENT_LINE_ID: Final = "parentLineId"


def _sale_kind(sale: JsonObject) -> str:
    """The kind of the sale's lines before voids: ``sale`` or ``refund``."""
    value = get_optional_text(sale, F.TYPE, "")
    if value is None or value.upper() == F.TYPE_SALE:
        return c.KIND_SALE
    if value.upper() == F.TYPE_REFUND:
        return c.KIND_REFUND
    raise RecordError(F.TYPE, f"unknown sale type {value!r} (expected SALE or REFUND)")


def _voided_ids(lines: list[JsonObject]) -> set[str]:
    """Ids of lines that are voided themselves or whose parent (at any depth) is."""
    if all(line.get(F.VOID_REASON) is None for line in lines):
        return set()
    parents: dict[str, str | None] = {}
    voided: set[str] = set()
    for i, line in enumerate(lines):
        at = index("", F.LINES, i)
        line_id = get_id(line, F.LINE_ID, at)
        parents[line_id] = get_optional_id(line, F.PARENT_LINE_ID, at)
        if line.get(F.VOID_REASON) is not None:
            voided.add(line_id)
    result: set[str] = set()
    for line_id in parents:
        seen: set[str] = set()
        node: str | None = line_id
        while node is not None and node not in seen:
            if node in voided:
                result.add(line_id)
                break
            seen.add(node)
            node = parents.get(node)
    return result


def _walk_sale(b: Builder, sale: JsonObject, location: str) -> None:
    """Adds one sale (an order) with its lines."""
    restaurant = b.restaurant(location, F.LOCATION)
    opened = get_instant(sale, F.OPENED, "", TimeFormat.ISO)
    b.add_order(
        restaurant, get_id(sale, F.ORDER_ID, ""), opened, F.OPENED, get_count(sale, F.COVERS, "")
    )
    kind = _sale_kind(sale)
    cancelled = get_flag(sale, F.CANCELLED, "")
    lines = get_objects(sale, F.LINES, "", required=True)
    context = _Sale(opened, kind, cancelled, _voided_ids(lines))
    for i, line in enumerate(lines):
        _walk_line(b, line, index("", F.LINES, i), context)


@dataclass(frozen=True)
class _Sale:
    """What a sale's lines inherit from it."""

    opened: str | int
    kind: str
    cancelled: bool
    voided: set[str]


def _walk_line(b: Builder, line: JsonObject, at: str, sale: _Sale) -> None:
    """Adds one sales line."""
    line_id = get_id(line, F.LINE_ID, at)
    group = get_object(line, F.GROUP, at)
    is_void = sale.cancelled or line_id in sale.voided
    b.add_line(
        Line(
            line_id=line_id,
            parent_line_id=get_optional_id(line, F.PARENT_LINE_ID, at),
            ts=sale.opened,
            ts_field=F.OPENED,
            item=get_text(line, F.ITEM, at),
            category=None
            if group is None
            else get_optional_text(group, F.GROUP_NAME, join(at, F.GROUP)),
            at=at,
            quantity=get_decimal(line, F.QUANTITY, at),
            quantity_key=F.QUANTITY,
            amount=get_decimal(line, F.NET_AMOUNT, at),
            amount_key=F.NET_AMOUNT,
            kind=c.KIND_VOID if is_void else sale.kind,
            comp_basis=get_optional_decimal(line, F.DISCOUNT, at),
            comp_basis_key=F.DISCOUNT,
        )
    )


class LightspeedAdapter:
    """Reads Lightspeed K-Series sales JSON."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """A JSON object with ``businessLocationId``, or with ``sales`` holding ``salesLines``."""
        return sniff_json(
            path, head, "{", [(F.SALES, F.LOCATION), (F.SALES, F.LINES), (F.LOCATION, F.LINES)]
        )

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; bad sales are rejected whole.

        Raises:
            ImportFileError: unreadable or invalid JSON, not an object, no ``sales`` array, or no
                ``businessLocationId``.
        """
        document = top_object(path, load_document(path, ctx.encoding), "a JSON object of sales")
        sales = top_list(path, document.get(F.SALES), F.SALES, "an array of sales")
        location = top_location(path, document, F.LOCATION)
        builder = Builder(NAME, ctx.directory, TimeFormat.ISO, minor_units=False)

        def walk(b: Builder, sale: JsonObject) -> None:
            _walk_sale(b, sale, location)

        builder.run(sales, walk)
        return builder.finish(path)


ADAPTER = LightspeedAdapter()
