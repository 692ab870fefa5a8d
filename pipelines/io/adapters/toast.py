"""Toast: Orders API JSON (``GET /orders/v2/ordersBulk``), format ``toast``.

A JSON array of orders (pages may be concatenated into one array). Every order → checks →
selections; a selection's ``modifiers`` are selections of their own and become child lines. A
payment with a refund becomes one ``refund`` line dated when the refund happened. Lines carry the
order's opening time (selections have no time of their own in the fields Flux reads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from models import columns as c
from pipelines.io.adapters._json_common import (
    Builder,
    JsonObject,
    Line,
    RecordError,
    TimeFormat,
    as_object,
    get_count,
    get_decimal,
    get_flag,
    get_id,
    get_instant,
    get_list,
    get_object,
    get_optional_decimal,
    get_optional_text,
    get_text,
    index,
    join,
    load_document,
    sniff_json,
    top_list,
)
from pipelines.io.adapters.base import ParseContext, ParsedFile

NAME: Final = "toast"


class F:
    """Toast's field names, in one place so they are easy to correct."""

    # order
    ORDER_ID: Final = "guid"
    LOCATION: Final = "restaurantGuid"
    OPENED: Final = "openedDate"
    VOIDED: Final = "voided"
    DELETED: Final = "deleted"
    GUESTS: Final = "numberOfGuests"
    CHECKS: Final = "checks"
    # check
    SELECTIONS: Final = "selections"
    PAYMENTS: Final = "payments"
    # selection (modifiers are selections too)
    LINE_ID: Final = "guid"
    ITEM: Final = "displayName"
    ITEM_GROUP: Final = "itemGroup"
    ITEM_GROUP_NAME: Final = "name"
    QUANTITY: Final = "quantity"
    PRICE: Final = "price"
    PRE_DISCOUNT_PRICE: Final = "preDiscountPrice"
    MODIFIERS: Final = "modifiers"
    # payment
    PAYMENT_ID: Final = "guid"
    REFUND_STATUS: Final = "refundStatus"
    REFUND_STATUS_NONE: Final = "NONE"
    REFUND: Final = "refund"
    REFUND_AMOUNT: Final = "refundAmount"
    REFUND_DATE: Final = "refundDate"
    REFUND_LINE_SUFFIX: Final = "-refund"


def _walk_order(b: Builder, order: JsonObject) -> None:
    """Adds one order with its checks, selections, modifiers and refunds."""
    location = get_id(order, F.LOCATION, "")
    restaurant = b.restaurant(location, F.LOCATION)
    opened = get_instant(order, F.OPENED, "", TimeFormat.ISO)
    b.add_order(
        restaurant,
        get_id(order, F.ORDER_ID, ""),
        opened,
        F.OPENED,
        get_count(order, F.GUESTS, ""),
    )
    order_void = get_flag(order, F.VOIDED, "") or get_flag(order, F.DELETED, "")
    for ci, check_value in enumerate(get_list(order, F.CHECKS, "", required=True)):
        check_path = index("", F.CHECKS, ci)
        check = as_object(check_value, check_path)
        void = order_void or get_flag(check, F.VOIDED, check_path)
        for si, selection in enumerate(get_list(check, F.SELECTIONS, check_path)):
            _walk_selection(b, selection, index(check_path, F.SELECTIONS, si), opened, void)
        for pi, payment in enumerate(get_list(check, F.PAYMENTS, check_path)):
            _walk_payment(b, payment, index(check_path, F.PAYMENTS, pi))


def _walk_selection(
    b: Builder, selection: object, path: str, opened: str | int, void: bool
) -> None:
    """Adds a selection and, depth first, its modifiers as child lines."""
    stack: list[tuple[object, str, str | None, bool]] = [(selection, path, None, void)]
    while stack:
        value, at, parent, parent_void = stack.pop()
        sel = as_object(value, at)
        line_id = get_id(sel, F.LINE_ID, at)
        voided = parent_void or get_flag(sel, F.VOIDED, at)
        group = get_object(sel, F.ITEM_GROUP, at)
        category = (
            None
            if group is None
            else get_optional_text(group, F.ITEM_GROUP_NAME, join(at, F.ITEM_GROUP))
        )
        b.add_line(
            Line(
                line_id=line_id,
                parent_line_id=parent,
                ts=opened,
                ts_field=F.OPENED,
                item=get_text(sel, F.ITEM, at),
                category=category,
                at=at,
                quantity=get_decimal(sel, F.QUANTITY, at),
                quantity_key=F.QUANTITY,
                amount=get_decimal(sel, F.PRICE, at),
                amount_key=F.PRICE,
                kind=c.KIND_VOID if voided else c.KIND_SALE,
                comp_basis=get_optional_decimal(sel, F.PRE_DISCOUNT_PRICE, at),
                comp_basis_key=F.PRE_DISCOUNT_PRICE,
            )
        )
        modifiers = get_list(sel, F.MODIFIERS, at)
        for mi in range(len(modifiers) - 1, -1, -1):  # reversed, so they pop in file order
            stack.append((modifiers[mi], index(at, F.MODIFIERS, mi), line_id, voided))


def _walk_payment(b: Builder, value: object, path: str) -> None:
    """Adds a refund line for a refunded payment."""
    payment = as_object(value, path)
    status = get_optional_text(payment, F.REFUND_STATUS, path)
    if status is None or status.upper() == F.REFUND_STATUS_NONE:
        return
    refund_path = join(path, F.REFUND)
    refund = get_object(payment, F.REFUND, path)
    if refund is None:
        raise RecordError(refund_path, f"missing although {F.REFUND_STATUS} is {status!r}")
    b.add_line(
        Line(
            line_id=get_id(payment, F.PAYMENT_ID, path) + F.REFUND_LINE_SUFFIX,
            parent_line_id=None,
            ts=get_instant(refund, F.REFUND_DATE, refund_path, TimeFormat.ISO),
            ts_field=join(refund_path, F.REFUND_DATE),
            item=None,
            category=None,
            at=refund_path,
            quantity="0",
            quantity_key="",
            amount=get_decimal(refund, F.REFUND_AMOUNT, refund_path),
            amount_key=F.REFUND_AMOUNT,
            kind=c.KIND_REFUND,
        )
    )


class ToastAdapter:
    """Reads Toast Orders API JSON."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """A JSON array whose first order has ``checks`` or ``restaurantGuid``."""
        return sniff_json(path, head, "[", [(F.CHECKS, F.OPENED), (F.LOCATION,)])

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; bad orders are rejected whole.

        Raises:
            ImportFileError: unreadable or invalid JSON, or not an array of orders.
        """
        document = load_document(path, ctx.encoding)
        orders = top_list(path, document, None, "a JSON array of Toast orders")
        builder = Builder(NAME, ctx.directory, TimeFormat.ISO, minor_units=False)
        builder.run(orders, _walk_order)
        return builder.finish(path)


ADAPTER = ToastAdapter()
