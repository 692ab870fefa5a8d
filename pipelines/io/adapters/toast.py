"""Toast: Orders API JSON (``GET /orders/v2/ordersBulk``), format ``toast``.

Follows the Toast Orders API 2.6.5 (``Order``, ``Check``, ``Selection``, ``Payment``, ``Refund``
and ``RefundDetails`` schemas; a copy is ``src/schemas/toast-orders-api.yaml`` in
``thedoughmonster/doughmonster-worker``) and Toast's developer guide ("Order object summary":
order amounts; "Calculating net sales using the orders API").

- The response is a JSON array of orders. A file may hold several pages: one array of them all,
  an array of page arrays, or the page arrays written one after another. The same order may come
  twice (it was modified between two pages): the copy with the latest ``modifiedDate`` wins (the
  later one on a tie). One array (of orders or of page arrays) is streamed: read twice, once for
  the copies' guids and dates, once to walk the orders a page at a time; pages written one after
  another, and arrays mixing orders and pages, are read whole.
- The response does not name its restaurant: it travels in the request header
  ``Toast-Restaurant-External-ID``. The file's restaurant is ``--restaurant``, or the restaurant
  whose ``pos_location_id`` (the restaurant GUID) names the file's folder or file
  (:func:`~pipelines.io.adapters.base.resolve_file_restaurant`). An order that carries a
  ``restaurantGuid`` of its own (files written by older tools) goes to that restaurant.
- Order → checks → selections. A selection's ``price`` is its net price for its ``quantity``:
  after its own and its share of the check's discounts, with its modifiers' prices included,
  before tax. So the line's net amount is ``price``; a modifier (``modifiers[]``, selections of
  their own) becomes a child line with net amount 0, its price being in the parent's already.
  Check-level ``appliedDiscounts`` are not subtracted again.
- ``voided`` on the order, check or selection, and ``deleted`` on the order or check (a check
  moved into another order leaves a deleted one behind) make ``void`` lines. A selection with
  ``price`` 0 and ``preDiscountPrice`` above 0 is a ``comp``. Deferred selections (gift cards,
  ``deferred: true``), gift card and house account selection types and selections named "Gift
  Card" are not demand and are left out.
- Refunds: a top-level selection's ``refundDetails.refundAmount`` (pre-tax, its modifiers
  included) becomes a ``refund`` line ``<selection guid>-refund``, dated at the ``refundDate`` of
  the payment refund with the same ``refundTransaction`` (else the order's first payment refund,
  else the selection's ``modifiedDate``). A payment's ``refund`` whose transaction no selection
  itemises becomes one ``refund`` line ``<payment guid>-refund`` (its ``refundAmount``, which
  includes tax).
- ``itemGroup`` is a reference (``guid``, ``entityType``) without a name, so the category is empty
  unless the file carries an ``itemGroup.name``. Lines carry the order's ``openedDate``. Toast's
  own ``businessDate`` is not used: Flux computes the business date from the restaurant's cutoff.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._json_common import (
    Builder,
    JsonObject,
    Line,
    RecordError,
    StreamFailed,
    TimeFormat,
    as_object,
    get_count,
    get_decimal,
    get_flag,
    get_id,
    get_instant,
    get_list,
    get_object,
    get_objects,
    get_optional_decimal,
    get_optional_id,
    get_optional_text,
    index,
    join,
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
from pipelines.io.adapters.common import display_path, head_text, read_text

NAME: Final = "toast"


class F:
    """Toast's field names, in one place so they are easy to correct."""

    # order
    ORDER_ID: Final = "guid"
    LOCATION: Final = "restaurantGuid"  # not in the spec; written by older tools
    OPENED: Final = "openedDate"
    MODIFIED: Final = "modifiedDate"
    VOIDED: Final = "voided"
    DELETED: Final = "deleted"
    GUESTS: Final = "numberOfGuests"
    CHECKS: Final = "checks"
    BUSINESS_DATE: Final = "businessDate"
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
    DEFERRED: Final = "deferred"
    SELECTION_TYPE: Final = "selectionType"
    REFUND_DETAILS: Final = "refundDetails"
    REFUND_TRANSACTION: Final = "refundTransaction"
    TRANSACTION_ID: Final = "guid"
    # payment
    PAYMENT_ID: Final = "guid"
    REFUND_STATUS: Final = "refundStatus"
    REFUND_STATUS_NONE: Final = "NONE"
    REFUND: Final = "refund"
    REFUND_AMOUNT: Final = "refundAmount"
    REFUND_DATE: Final = "refundDate"
    REFUND_LINE_SUFFIX: Final = "-refund"


NOT_REVENUE_TYPES: Final = frozenset(
    {"TOAST_CARD_SELL", "TOAST_CARD_RELOAD", "HOUSE_ACCOUNT_PAY_BALANCE"}
)
"""``selectionType`` values that sell no food or drink (gift cards, house account payments)."""

GIFT_CARD_NAME: Final = "gift card"
"""Toast's net-sales guide leaves out selections whose ``displayName`` is "Gift Card"."""

WHY_NO_RESTAURANT: Final = (
    "Toast's ordersBulk response names its restaurant only in the request header "
    "Toast-Restaurant-External-ID"
)


# ------------------------------------------------------------------------------ reading


def _load_records(path: Path, encoding: str | None) -> list[Any]:
    """The orders of a file: one array, an array of page arrays, or arrays one after another.

    Raises:
        ImportFileError: unreadable or invalid JSON, or not arrays of orders.
    """
    text = read_text(path, encoding)
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise ImportFileError(
                display_path(path),
                f"not valid JSON ({exc.msg}); is the file truncated?",
                row=exc.lineno,
            ) from exc
        documents = _documents(path, text)
    except RecursionError as exc:
        raise ImportFileError(display_path(path), "JSON nested too deeply to read") from exc
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise ImportFileError(display_path(path), f"not readable JSON ({exc})") from exc
    records: list[Any] = []
    for document in documents:
        if not isinstance(document, list):
            raise ImportFileError(
                display_path(path),
                "expected a JSON array of Toast orders (the ordersBulk response), found "
                + ("an object" if isinstance(document, dict) else "a single value"),
            )
        if document and all(isinstance(page, list) for page in document):
            for page in document:  # an array of pages
                records.extend(page)
        else:
            records.extend(document)
    return records


def _documents(path: Path, text: str) -> list[Any]:
    """JSON documents written one after another (pages saved to one file)."""
    decoder = json.JSONDecoder()
    out: list[Any] = []
    pos = 0
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n\ufeff":
                pos += 1
            if pos >= len(text):
                return out
            value, pos = decoder.raw_decode(text, pos)
            out.append(value)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            display_path(path),
            f"not valid JSON ({exc.msg}); is the file truncated?",
            row=exc.lineno,
        ) from exc
    except RecursionError as exc:
        raise ImportFileError(display_path(path), "JSON nested too deeply to read") from exc
    except ValueError as exc:
        raise ImportFileError(display_path(path), f"not readable JSON ({exc})") from exc


_Copy = tuple[str | None, Any]
"""An order's ``guid`` (None when it has none) and raw ``modifiedDate``: what choosing between
copies of an order needs, kept for every order of a streamed file instead of the orders."""


def _copy_of(record: Any) -> _Copy:
    return _guid(record), record.get(F.MODIFIED) if isinstance(record, dict) else None


def _superseded(copies: Sequence[_Copy]) -> set[int]:
    """Positions of orders that another copy of the same order (``guid``) replaces: the copy
    with the latest ``modifiedDate`` wins, the later one in the file on a tie."""
    seen: set[str] = set()
    twice: set[str] = set()
    for guid, _ in copies:
        if guid is not None:
            (twice if guid in seen else seen).add(guid)
    if not twice:
        return set()
    best: dict[str, tuple[bool, pd.Timestamp, int]] = {}
    for i, (guid, modified) in enumerate(copies):
        if guid in twice:
            key = (*_modified(modified), i)
            if guid not in best or key > best[guid]:
                best[guid] = key
    keep = {position for _, _, position in best.values()}
    return {i for i, (guid, _) in enumerate(copies) if guid in twice and i not in keep}


def _stream(path: Path, encoding: str | None) -> tuple[Iterator[Any], set[int]]:
    """The orders of :func:`_load_records`, one at a time where the file is one array, and the
    positions of the copies :func:`_superseded` drops.

    A first pass over the stream keeps each order's guid and ``modifiedDate`` (see
    :data:`_Copy`); the second yields the orders. Pages written one after another, an array
    mixing orders and page arrays, a file that is not an array and one ijson cannot read (see
    :func:`~pipelines.io.adapters._json_common.stream_items`) are read whole, which refuses the
    bad ones with the exact problem.
    """
    scanned = _scan(path, encoding)
    if scanned is None:
        records = _load_records(path, encoding)
        return iter(records), _superseded([_copy_of(r) for r in records])
    prefix, copies = scanned
    return stream_again(path, encoding, prefix), _superseded(copies)


def _scan(path: Path, encoding: str | None) -> tuple[str, list[_Copy]] | None:
    """(ijson prefix of the orders, their copies) of a file that is one array, else None."""
    if head_text(path, 4096).lstrip("\ufeff \t\r\n")[:1] != "[":
        return None
    copies: list[_Copy] = []
    pages: bool | None = None
    try:
        for element in stream_items(path, encoding, "item"):
            is_page = isinstance(element, list)
            if pages is None:
                pages = is_page
            elif pages != is_page:
                return None  # orders and pages mixed: rejected as the whole read rejects them
            copies.extend(map(_copy_of, element) if is_page else (_copy_of(element),))
    except StreamFailed:
        return None
    return ("item.item" if pages else "item"), copies


def _guid(record: Any) -> str | None:
    """An order's ``guid`` as text, or None when the record has none (it is rejected later)."""
    if not isinstance(record, dict):
        return None
    guid = record.get(F.ORDER_ID)
    if isinstance(guid, bool) or not isinstance(guid, str | int) or str(guid).strip() == "":
        return None
    return str(guid).strip()


_NO_TIME: Final = pd.Timestamp("1970-01-01", tz="UTC")


def _modified(value: Any) -> tuple[bool, pd.Timestamp]:
    """(whether an order's raw ``modifiedDate`` is readable, that instant) for choosing copies."""
    if isinstance(value, str):
        try:
            ts = pd.Timestamp(value.strip())
        except (ValueError, OverflowError):
            return False, _NO_TIME
        if ts.tzinfo is not None and not pd.isna(ts):
            return True, ts.tz_convert("UTC")
    return False, _NO_TIME


# ------------------------------------------------------------------------------ walking


@dataclass
class _Refund:
    """A payment's refund, found before the selections so they can be dated by it."""

    payment_id: str
    path: str
    date: str | int
    transaction: str | None
    amount: str


@dataclass
class _Walker:
    """Walks one file's orders into a :class:`Builder`."""

    path: Path
    ctx: ParseContext
    skip: set[int]  # positions of superseded copies
    _file_restaurant: RestaurantInfo | None = None

    def restaurant(self, b: Builder, order: JsonObject) -> RestaurantInfo:
        """The order's own ``restaurantGuid`` if it has one, else the file's restaurant."""
        location = get_optional_id(order, F.LOCATION, "")
        if location is not None:
            return b.restaurant(location, F.LOCATION)
        if self._file_restaurant is None:
            self._file_restaurant = resolve_file_restaurant(
                self.path, self.ctx, NAME, why=WHY_NO_RESTAURANT
            )
        return self._file_restaurant

    def walk(self, b: Builder, order: JsonObject) -> None:
        """Adds one order with its checks, selections, modifiers and refunds."""
        if b.position in self.skip:
            return
        restaurant = self.restaurant(b, order)
        opened = get_instant(order, F.OPENED, "", TimeFormat.ISO)
        b.add_order(
            restaurant,
            get_id(order, F.ORDER_ID, ""),
            opened,
            F.OPENED,
            get_count(order, F.GUESTS, ""),
        )
        order_void = get_flag(order, F.VOIDED, "") or get_flag(order, F.DELETED, "")
        checks = get_list(order, F.CHECKS, "", required=True)
        refunds: list[_Refund] = []
        for ci, check_value in enumerate(checks):
            check_path = index("", F.CHECKS, ci)
            check = as_object(check_value, check_path)
            for pi, payment in enumerate(get_objects(check, F.PAYMENTS, check_path)):
                refund = _payment_refund(payment, index(check_path, F.PAYMENTS, pi))
                if refund is not None:
                    refunds.append(refund)
        itemised: set[str | None] = set()
        for ci, check_value in enumerate(checks):
            check_path = index("", F.CHECKS, ci)
            check = as_object(check_value, check_path)
            void = (
                order_void
                or get_flag(check, F.VOIDED, check_path)
                or get_flag(check, F.DELETED, check_path)
            )
            for si, selection in enumerate(get_list(check, F.SELECTIONS, check_path)):
                at = index(check_path, F.SELECTIONS, si)
                sel = as_object(selection, at)
                if not _is_revenue(sel, at):
                    continue
                voided = _walk_selection(b, sel, at, opened, void)
                if not voided:
                    _selection_refund(b, sel, at, refunds, itemised)
        for refund in refunds:
            if _is_itemised(refund, itemised):
                continue
            b.add_line(
                Line(
                    line_id=refund.payment_id + F.REFUND_LINE_SUFFIX,
                    parent_line_id=None,
                    ts=refund.date,
                    ts_field=join(refund.path, F.REFUND_DATE),
                    item=None,
                    category=None,
                    at=refund.path,
                    quantity="0",
                    quantity_key="",
                    amount=refund.amount,
                    amount_key=F.REFUND_AMOUNT,
                    kind=c.KIND_REFUND,
                )
            )


def _is_revenue(sel: JsonObject, at: str) -> bool:
    """Whether a selection sells food or drink (not a gift card or house account payment)."""
    if get_flag(sel, F.DEFERRED, at):
        return False
    kind = get_optional_text(sel, F.SELECTION_TYPE, at)
    if kind is not None and kind.upper() in NOT_REVENUE_TYPES:
        return False
    name = get_optional_text(sel, F.ITEM, at)
    return not (name is not None and name.casefold() == GIFT_CARD_NAME)


def _walk_selection(b: Builder, sel: JsonObject, path: str, opened: str | int, void: bool) -> bool:
    """Adds a selection and, depth first, its modifiers as child lines (net 0: the parent's
    ``price`` includes them). Returns whether the selection is void."""
    voided = void or get_flag(sel, F.VOIDED, path)
    price = get_optional_decimal(sel, F.PRICE, path) if voided else get_decimal(sel, F.PRICE, path)
    b.add_line(
        Line(
            line_id=get_id(sel, F.LINE_ID, path),
            parent_line_id=None,
            ts=opened,
            ts_field=F.OPENED,
            item=get_optional_text(sel, F.ITEM, path),
            category=_category(sel, path),
            at=path,
            quantity=_quantity(sel, path),
            quantity_key=F.QUANTITY,
            amount=price if price is not None else "0",
            amount_key=F.PRICE,
            kind=c.KIND_VOID if voided else c.KIND_SALE,
            comp_basis=get_optional_decimal(sel, F.PRE_DISCOUNT_PRICE, path),
            comp_basis_key=F.PRE_DISCOUNT_PRICE,
        )
    )
    stack: list[tuple[Any, str, str]] = []
    modifiers = get_list(sel, F.MODIFIERS, path)
    parent_id = get_id(sel, F.LINE_ID, path)
    for mi in range(len(modifiers) - 1, -1, -1):  # reversed, so they pop in file order
        stack.append((modifiers[mi], index(path, F.MODIFIERS, mi), parent_id))
    while stack:
        value, at, parent = stack.pop()
        mod = as_object(value, at)
        line_id = get_id(mod, F.LINE_ID, at)
        b.add_line(
            Line(
                line_id=line_id,
                parent_line_id=parent,
                ts=opened,
                ts_field=F.OPENED,
                item=get_optional_text(mod, F.ITEM, at),
                category=_category(mod, at),
                at=at,
                quantity=_quantity(mod, at),
                quantity_key=F.QUANTITY,
                amount="0",  # inside the parent's price
                amount_key=F.PRICE,
                kind=c.KIND_VOID if voided or get_flag(mod, F.VOIDED, at) else c.KIND_SALE,
            )
        )
        nested = get_list(mod, F.MODIFIERS, at)
        for mi in range(len(nested) - 1, -1, -1):
            stack.append((nested[mi], index(at, F.MODIFIERS, mi), line_id))
    return voided


def _quantity(sel: JsonObject, path: str) -> str:
    """A selection's ``quantity``; the spec: "Quantity defaults to 1"."""
    return get_optional_decimal(sel, F.QUANTITY, path) or "1"


def _category(sel: JsonObject, path: str) -> str | None:
    """``itemGroup.name`` where a file carries it; the spec's ``itemGroup`` is a bare reference."""
    group = get_object(sel, F.ITEM_GROUP, path)
    if group is None:
        return None
    return get_optional_text(group, F.ITEM_GROUP_NAME, join(path, F.ITEM_GROUP))


def _positive(text: str | None, path: str) -> bool:
    """Whether a decimal amount is above zero (a bad one rejects the order)."""
    if text is None:
        return False
    try:
        return Decimal(text.strip()) > 0
    except InvalidOperation:
        raise RecordError(path, f"not a valid amount: {text!r}") from None


def _transaction(obj: JsonObject, path: str) -> str | None:
    """The ``refundTransaction.guid`` of a refund or refund details, if any."""
    ref = get_object(obj, F.REFUND_TRANSACTION, path)
    if ref is None:
        return None
    return get_optional_id(ref, F.TRANSACTION_ID, join(path, F.REFUND_TRANSACTION))


def _payment_refund(value: object, path: str) -> _Refund | None:
    """A refunded payment's refund, or None."""
    payment = as_object(value, path)
    status = get_optional_text(payment, F.REFUND_STATUS, path)
    if status is None or status.upper() == F.REFUND_STATUS_NONE:
        return None
    refund_path = join(path, F.REFUND)
    refund = get_object(payment, F.REFUND, path)
    if refund is None:
        raise RecordError(refund_path, f"missing although {F.REFUND_STATUS} is {status!r}")
    amount = get_decimal(refund, F.REFUND_AMOUNT, refund_path)
    _positive(amount, join(refund_path, F.REFUND_AMOUNT))  # checks the amount
    return _Refund(
        payment_id=get_id(payment, F.PAYMENT_ID, path),
        path=refund_path,
        date=get_instant(refund, F.REFUND_DATE, refund_path, TimeFormat.ISO),
        transaction=_transaction(refund, refund_path),
        amount=amount,
    )


def _selection_refund(
    b: Builder, sel: JsonObject, path: str, refunds: list[_Refund], itemised: set[str | None]
) -> None:
    """Adds the refund line of a selection whose ``refundDetails`` refund money."""
    details_path = join(path, F.REFUND_DETAILS)
    details = get_object(sel, F.REFUND_DETAILS, path)
    if details is None:
        return
    amount = get_optional_decimal(details, F.REFUND_AMOUNT, details_path)
    if not _positive(amount, join(details_path, F.REFUND_AMOUNT)):
        return
    transaction = _transaction(details, details_path)
    itemised.add(transaction)
    match = next((r for r in refunds if transaction and r.transaction == transaction), None)
    match = match or (refunds[0] if refunds else None)
    if match is not None:
        ts, ts_field = match.date, join(match.path, F.REFUND_DATE)
    else:
        ts, ts_field = get_instant(sel, F.MODIFIED, path, TimeFormat.ISO), join(path, F.MODIFIED)
    b.add_line(
        Line(
            line_id=get_id(sel, F.LINE_ID, path) + F.REFUND_LINE_SUFFIX,
            parent_line_id=None,
            ts=ts,
            ts_field=ts_field,
            item=get_optional_text(sel, F.ITEM, path),
            category=_category(sel, path),
            at=path,
            quantity=_quantity(sel, path),
            quantity_key=F.QUANTITY,
            amount=str(amount),
            amount_key=join(F.REFUND_DETAILS, F.REFUND_AMOUNT),
            kind=c.KIND_REFUND,
        )
    )


def _is_itemised(refund: _Refund, itemised: set[str | None]) -> bool:
    """Whether selections' ``refundDetails`` already account for a payment's refund."""
    if not itemised:
        return False
    return refund.transaction is None or None in itemised or refund.transaction in itemised


class ToastAdapter:
    """Reads Toast Orders API JSON."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """A JSON array whose orders have ``checks`` and ``openedDate`` or ``businessDate``."""
        return sniff_json(
            path,
            head,
            "[",
            [(F.CHECKS, F.OPENED), (F.CHECKS, F.BUSINESS_DATE), (F.CHECKS, F.LOCATION)],
        )

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; bad orders are rejected whole.

        Raises:
            ImportFileError: unreadable or invalid JSON, not an array of orders, or no way to
                tell the file's restaurant.
        """
        records = _load_records(path, ctx.encoding)
        walker = _Walker(path=path, ctx=ctx, skip=_superseded([_copy_of(r) for r in records]))
        builder = Builder(NAME, ctx.directory, TimeFormat.ISO, minor_units=False)
        builder.run(records, walker.walk)
        return builder.finish(path)

    def parse_chunks(self, path: Path, ctx: ParseContext, size: int) -> Iterator[ParsedFile]:
        """Reads the file ``size`` orders at a time, streaming it (see :func:`_stream`): the
        frames of :meth:`parse`, cut into chunks, in memory one chunk at a time."""
        records, skip = _stream(path, ctx.encoding)
        walker = _Walker(path=path, ctx=ctx, skip=skip)
        builder = Builder(NAME, ctx.directory, TimeFormat.ISO, minor_units=False)
        yield from builder.run_chunks(records, walker.walk, path, size)


ADAPTER = ToastAdapter()
