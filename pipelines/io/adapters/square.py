"""Square: the dashboard's "Items" (item sales detail) CSV export, format ``square``.

One row per item sold (``Event Type`` ``Payment``) or refunded (``Refund``: negative ``Qty`` and
money, dated when refunded). The shape follows real exports (see ``docs/formats.md``):

- ``Date`` is ``YYYY-MM-DD`` (``MM/DD/YYYY`` in older exports), ``Time`` ``HH:MM:SS``: the
  location's wall clock. Flux uses the restaurant's IANA zone, not the ``Time Zone`` display name
  (``Eastern Time (US & Canada)``).
- Money is formatted: ``$8.00``, ``-$1.25``, ``($6.48)``, ``€4.90``. ``Gross Sales`` includes the
  row's modifiers (``Modifiers Applied`` is only their names), so there are no modifier lines;
  ``Net Sales`` is after discounts and before tax. A row whose discounts cancel its gross is a
  ``comp``.
- ``Qty`` is a decimal (``1.0``). ``Category`` is the text ``None`` for uncategorised items.
- The order id is ``Transaction ID`` (the same id the Orders API calls the order ``id``). Rows
  carry no line id: a sale row is ``<Transaction ID>:<n>``, ``n`` counting that transaction's
  sale rows in file order; a refund row is ``<Transaction ID>:R<n>@<local time>``, so refunds of
  one sale exported in different files do not collide.
- The restaurant: the Square location id inside ``Details`` (``.../by-unit/<location id>``),
  else the ``Location`` name, matched against ``pos_location_id``; a file of one unknown location
  goes to ``--restaurant`` when given. ``Itemization Type`` ``Gift Card`` rows are not product
  sales and are skipped. The export has no guest count (covers are empty) and no voided items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._csv_common import (
    Numbering,
    OrderCarry,
    RowChecks,
    header_fields,
    is_blank,
    line_frame,
    looks_like,
    number_within,
    optional_column,
    orders_from_lines,
    parse_quantity,
    read_csv_chunks,
    resolve_restaurants,
    table_result,
    text,
)
from pipelines.io.adapters.base import ParseContext, ParsedFile, resolve_file_restaurant
from pipelines.io.adapters.common import (
    CsvTable,
    currency_of,
    display_path,
    exponent_of,
    head_text,
    localize_and_date,
    parse_money,
    parse_timestamps,
    read_csv_table,
)

NAME: Final = "square"


class Col:
    """Square's column names and values, in one place so they are easy to correct."""

    DATE: Final = "Date"
    TIME: Final = "Time"
    TIME_ZONE: Final = "Time Zone"
    CATEGORY: Final = "Category"
    ITEM: Final = "Item"
    QTY: Final = "Qty"
    PRICE_POINT: Final = "Price Point Name"
    SKU: Final = "SKU"
    MODIFIERS: Final = "Modifiers Applied"
    GROSS: Final = "Gross Sales"
    DISCOUNTS: Final = "Discounts"
    NET: Final = "Net Sales"
    TAX: Final = "Tax"
    TRANSACTION: Final = "Transaction ID"
    PAYMENT: Final = "Payment ID"
    DEVICE: Final = "Device Name"
    NOTES: Final = "Notes"
    DETAILS: Final = "Details"
    EVENT: Final = "Event Type"
    LOCATION: Final = "Location"
    ITEMIZATION_TYPE: Final = "Itemization Type"
    NO_CATEGORY: Final = "None"
    EVENT_PAYMENT: Final = "payment"  # compared in lower case
    EVENT_REFUND: Final = "refund"
    GIFT_CARD: Final = "gift card"  # Itemization Type, lower case
    LOCATION_ID_RE: Final = r"/by-unit/([A-Za-z0-9]+)"
    ISO_DATE_RE: Final = r"\d{4}-\d{2}-\d{2}"
    US_DATE_RE: Final = r"^(\d{1,2})/(\d{1,2})/(\d{4})$"
    TIME_RE: Final = r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?$"
    REFUND_PREFIX: Final = "R"
    TRANSACTIONS_EXPORT: Final = ("Total Collected", "Net Total", "Card Entry Methods")
    """Columns of Square's other export (Transactions: one row per payment, no items)."""


REQUIRED: Final = (
    Col.DATE,
    Col.TIME,
    Col.ITEM,
    Col.QTY,
    Col.GROSS,
    Col.NET,
    Col.TRANSACTION,
    Col.EVENT,
    Col.LOCATION,
)
"""Columns a file must have (``Category``, ``Details`` and the rest are optional)."""

_SNIFF: Final = (
    *REQUIRED,
    Col.TIME_ZONE,
    Col.CATEGORY,
    Col.PRICE_POINT,
    Col.SKU,
    Col.MODIFIERS,
    Col.DISCOUNTS,
    Col.TAX,
    Col.PAYMENT,
    Col.DEVICE,
    Col.NOTES,
    Col.DETAILS,
)
"""The 20 columns every known Items export has (2017's 24-column one to 2026's 35); most of
them must be there."""


class SquareAdapter:
    """Reads Square "Items" CSV exports."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header has most of Square's Items columns."""
        return looks_like(head, _SNIFF)

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file into orders and lines; bad rows become rejects.

        Raises:
            ImportFileError: unreadable file, a required column missing, Square's Transactions
                export instead of the Items one, or a file of one unknown location with an
                unknown ``--restaurant``.
        """
        _refuse_transactions_export(path)
        table = read_csv_table(path, REQUIRED, encoding=ctx.encoding)
        return _parse_table(table, path, ctx, None)

    def parse_chunks(self, path: Path, ctx: ParseContext, size: int) -> Iterator[ParsedFile]:
        """Reads the file ``size`` rows at a time (:func:`read_csv_chunks`): the frames of
        :meth:`parse`, cut into chunks. Line numbers go on across chunks and an order's row in
        its last chunk is its whole-file row (:class:`OrderCarry`). With ``--restaurant`` the
        file is read whole: whether it names one location only is a whole-file question."""
        if ctx.restaurant is not None:
            yield self.parse(path, ctx)
            return
        _refuse_transactions_export(path)
        carry = _Carry()
        for table in read_csv_chunks(path, REQUIRED, size, ctx.encoding):
            yield _parse_table(table, path, ctx, carry)


class _Carry:
    """What the chunks of one file pass on: line numbers and orders (see :meth:`parse_chunks`)."""

    def __init__(self) -> None:
        self.sales = Numbering()
        self.refunds = Numbering()
        self.orders = OrderCarry()


def _parse_table(
    table: CsvTable, path: Path, ctx: ParseContext, carry: _Carry | None
) -> ParsedFile:
    """The orders and lines of a file read whole, or of one chunk (``carry`` given)."""
    f = table.frame
    checks = RowChecks.for_table(table)

    restaurant = _restaurants(path, f, checks, ctx)
    order_id = text(f[Col.TRANSACTION])
    checks.reject(is_blank(order_id), Col.TRANSACTION, "missing transaction id")
    event = text(f[Col.EVENT]).str.lower()
    refund = (event == Col.EVENT_REFUND).to_numpy(dtype=bool)
    known_event = refund | (event == Col.EVENT_PAYMENT).to_numpy(dtype=bool)
    checks.reject(~known_event, Col.EVENT, "unknown event type (Payment or Refund)", f[Col.EVENT])
    wall = _wall_times(f, checks)
    quantity, bad_qty = parse_quantity(f[Col.QTY])
    checks.reject(bad_qty, Col.QTY, "not a number", f[Col.QTY])
    currency = currency_of(restaurant, ctx.directory)
    exponent = exponent_of(currency)
    gross, bad_gross = parse_money(f[Col.GROSS], exponent, minor=False)
    checks.reject(bad_gross, Col.GROSS, "not an amount of money", f[Col.GROSS])
    net, bad_net = parse_money(f[Col.NET], exponent, minor=False)
    checks.reject(bad_net, Col.NET, "not an amount of money", f[Col.NET])

    kind = np.where(
        refund,
        c.KIND_REFUND,
        np.where((gross > 0).to_numpy() & (net == 0).to_numpy(), c.KIND_COMP, c.KIND_SALE),
    )
    gift = text(optional_column(f, Col.ITEMIZATION_TYPE)).str.lower() == Col.GIFT_CARD
    checks.skip(gift)  # a gift card sold is not demand
    restaurant = restaurant.where(checks.ok, None)
    ts_utc, business_date = localize_and_date(wall, restaurant, ctx.directory)
    category = text(optional_column(f, Col.CATEGORY))
    lines = line_frame(
        checks,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: NAME,
            c.ORDER_ID: order_id,
            c.LINE_ID: _line_ids(order_id, refund, wall, carry),
            c.PARENT_LINE_ID: None,
            c.TS_UTC: ts_utc,
            c.BUSINESS_DATE: business_date,
            c.ITEM: text(f[Col.ITEM]),
            c.CATEGORY: category.where(category != Col.NO_CATEGORY, ""),
            c.QUANTITY: quantity,
            c.NET_AMOUNT_MINOR: net,
            c.CURRENCY: currency,
            c.KIND: pd.Series(kind, index=f.index),
        },
    )
    orders = orders_from_lines(lines, None, ctx.directory, None if carry is None else carry.orders)
    return table_result(table, NAME, orders=orders, lines=lines)


def _refuse_transactions_export(path: Path) -> None:
    """Square's Transactions export looks alike but has no items: say which file to export."""
    header = header_fields(head_text(path))
    if Col.ITEM not in header and any(name in header for name in Col.TRANSACTIONS_EXPORT):
        raise ImportFileError(
            display_path(path),
            "this is Square's Transactions export (one row per payment, no items); Flux reads "
            "the Items export (Square Dashboard: Transactions > Export > Item Detail CSV)",
            row=1,
            field=Col.ITEM,
        )


def _restaurants(path: Path, f: pd.DataFrame, checks: RowChecks, ctx: ParseContext) -> pd.Series:
    """Each row's restaurant: the location id in ``Details``, else the ``Location`` name."""
    name = text(f[Col.LOCATION])
    details = text(optional_column(f, Col.DETAILS))
    location_id = _per_distinct(
        details, lambda u: u.str.extract(Col.LOCATION_ID_RE, expand=False).fillna("")
    )
    by_id, _ = resolve_restaurants(location_id, NAME, ctx.directory)
    by_name, _ = resolve_restaurants(name, NAME, ctx.directory)
    restaurant = by_id.where(by_id.notna(), by_name)
    unknown = restaurant.isna().to_numpy(dtype=bool)
    if unknown.any() and ctx.restaurant is not None:
        places = (location_id + "\x1f" + name).drop_duplicates()
        if len(places) == 1:  # a file of one location, which no restaurant has
            loc, place = str(places.iloc[0]).split("\x1f", 1)
            carried = [
                (field, value)
                for field, value in ((Col.DETAILS, loc), (Col.LOCATION, place))
                if value
            ]
            info = resolve_file_restaurant(path, ctx, NAME, carried=carried)
            restaurant = restaurant.where(~unknown, info.id)
            unknown = np.zeros(len(f), dtype=bool)
    shown = name + np.where(location_id != "", " (location id " + location_id + ")", "")
    checks.reject(
        unknown,
        Col.LOCATION,
        "unknown location: no restaurant has pos_provider square and this location id or name "
        "as its pos_location_id",
        pd.Series(shown, index=f.index),
    )
    return restaurant.astype(object)


def _per_distinct(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``convert`` applied to each distinct value once (exports repeat a few dates and times)."""
    codes, uniques = pd.factorize(values)
    converted = convert(pd.Series(uniques, dtype="str")).to_numpy(dtype=object)
    out = np.where(codes >= 0, converted[np.maximum(codes, 0)] if len(converted) else "", "")
    return pd.Series(out, index=values.index, dtype="str")


def _iso_day(dates: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` and ``MM/DD/YYYY`` as ``YYYY-MM-DD`` ("" where neither)."""
    us = dates.str.extract(Col.US_DATE_RE)
    iso = dates.str.fullmatch(Col.ISO_DATE_RE).fillna(False).astype(bool)
    us_iso = us[2] + "-" + us[0].str.zfill(2) + "-" + us[1].str.zfill(2)
    return dates.where(iso, us_iso).fillna("")


def _clock(times: pd.Series) -> pd.Series:
    """``HH:MM:SS``, ``H:MM`` or ``h:mm:ss AM`` as ``HH:MM:SS`` ("" where none of them)."""
    m = times.str.extract(Col.TIME_RE)
    hour = pd.to_numeric(m[0], errors="coerce")
    half = m[3].str.lower()
    bad = half.notna() & ((hour < 1) | (hour > 12))
    hour = hour.where(~(half == "pm") | (hour == 12), hour + 12)
    hour = hour.where(~((half == "am") & (hour == 12)), 0)
    clock = (
        hour.astype("Int64").astype("string").str.zfill(2) + ":" + m[1] + ":" + m[2].fillna("00")
    )
    return clock.where(~bad.fillna(False)).fillna("")


def _wall_times(f: pd.DataFrame, checks: RowChecks) -> pd.Series:
    """Each row's local date and time; a bad date or time rejects the row."""
    day = _per_distinct(text(f[Col.DATE]), _iso_day)
    _, bad_date = parse_timestamps(day, "%Y-%m-%d")
    checks.reject(bad_date, Col.DATE, "not a date (YYYY-MM-DD or MM/DD/YYYY)", f[Col.DATE])
    clock = _per_distinct(text(f[Col.TIME]), _clock)
    wall, bad_time = parse_timestamps(day + " " + clock, "%Y-%m-%d %H:%M:%S")
    checks.reject(bad_time, Col.TIME, "not a time of day (HH:MM:SS)", f[Col.TIME])
    return wall


def _line_ids(
    order_id: pd.Series, refund: np.ndarray, wall: pd.Series, carry: _Carry | None
) -> pd.Series:
    """``<txn>:<n>`` for sale rows, ``<txn>:R<n>@<local time>`` for refund rows."""
    refund_s = pd.Series(refund, index=order_id.index)
    sales = None if carry is None else carry.sales
    ids = order_id + ":" + number_within(order_id, refund_s, carry=sales).astype("str")
    if refund.any():
        txn = order_id[refund]
        stamp = wall[refund].dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("").astype("str")
        n = number_within(txn, stamp, carry=None if carry is None else carry.refunds)
        n = n.astype("str")
        ids[refund] = txn + ":" + Col.REFUND_PREFIX + n + "@" + stamp
    return ids


ADAPTER: Final = SquareAdapter()
