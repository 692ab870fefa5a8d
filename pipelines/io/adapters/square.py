"""Square: the dashboard "Items detail" CSV, format ``square``.

One row per item sold or refunded. ``Date`` and ``Time`` are the location's wall clock (Flux uses
the restaurant's IANA zone, not the ``Time Zone`` display name). Money is formatted (``$1,234.50``,
``-$2.00``). Rows carry no line id: a line is ``<Transaction ID>:<n>``, or ``<Transaction ID>:R<n>``
for refunds, ``n`` counting that transaction's rows of that event type in file order. Modifier
prices are inside each row's ``Net Sales``, so there are no modifier lines, and the export has no
guest count, so covers are empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.io.adapters._csv_common import (
    RowChecks,
    is_blank,
    is_match,
    line_frame,
    looks_like,
    number_within,
    optional_column,
    orders_from_lines,
    parse_amount,
    parse_quantity,
    parsed_file,
    resolve_restaurants,
    text,
    wall_times,
)
from pipelines.io.adapters.base import ParseContext, ParsedFile
from pipelines.io.adapters.common import (
    Rejects,
    currency_of,
    exponent_of,
    localize_and_date,
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
    GROSS: Final = "Gross Sales"
    DISCOUNTS: Final = "Discounts"
    NET: Final = "Net Sales"
    TAX: Final = "Tax"
    TRANSACTION: Final = "Transaction ID"
    PAYMENT: Final = "Payment ID"
    EVENT: Final = "Event Type"
    LOCATION: Final = "Location"
    EVENT_PAYMENT: Final = "payment"  # compared in lower case
    EVENT_REFUND: Final = "refund"
    DATE_FORMAT: Final = "%Y-%m-%d"
    TIME_PATTERN: Final = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    REFUND_PREFIX: Final = "R"


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
"""Columns a file must have (``Category`` is optional)."""

_SNIFF: Final = (*REQUIRED, Col.TIME_ZONE, Col.CATEGORY, Col.DISCOUNTS, Col.TAX, Col.PAYMENT)
"""Columns that tell a Square export (most of them must be there)."""


class SquareAdapter:
    """Reads Square "Items detail" CSV exports."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header has most of Square's distinctive columns."""
        return looks_like(head, _SNIFF)

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file into orders and lines; bad rows become rejects.

        Raises:
            ImportFileError: unreadable file or a required column missing.
        """
        rejects = Rejects()
        table = read_csv_table(path, REQUIRED, rejects, ctx.encoding)
        rows_read = len(table.frame) + len(rejects)
        f = table.frame
        checks = RowChecks.for_table(table, rejects)

        restaurant, unknown = resolve_restaurants(f[Col.LOCATION], NAME, ctx.directory)
        checks.reject(
            unknown,
            Col.LOCATION,
            "unknown location (no restaurant has pos_provider square and this pos_location_id)",
            f[Col.LOCATION],
        )
        order_id = text(f[Col.TRANSACTION])
        checks.reject(is_blank(order_id), Col.TRANSACTION, "missing transaction id")
        event = text(f[Col.EVENT]).str.lower()
        refund = (event == Col.EVENT_REFUND).to_numpy(dtype=bool)
        known_event = refund | (event == Col.EVENT_PAYMENT).to_numpy(dtype=bool)
        checks.reject(~known_event, Col.EVENT, "unknown event type", f[Col.EVENT])
        wall = self._wall_times(f, checks)
        quantity, bad_qty = parse_quantity(f[Col.QTY])
        checks.reject(bad_qty, Col.QTY, "not a number", f[Col.QTY])
        currency = currency_of(restaurant, ctx.directory)
        exponent = exponent_of(currency)
        gross, bad_gross = parse_amount(f[Col.GROSS], exponent, minor=False)
        checks.reject(bad_gross, Col.GROSS, "not an amount of money", f[Col.GROSS])
        net, bad_net = parse_amount(f[Col.NET], exponent, minor=False)
        checks.reject(bad_net, Col.NET, "not an amount of money", f[Col.NET])

        kind = np.where(
            refund,
            c.KIND_REFUND,
            np.where((gross > 0).to_numpy() & (net == 0).to_numpy(), c.KIND_COMP, c.KIND_SALE),
        )
        refund_s = pd.Series(refund, index=f.index)
        prefix = pd.Series(np.where(refund, Col.REFUND_PREFIX, ""), index=f.index, dtype="str")
        line_id = order_id + ":" + prefix + number_within(order_id, refund_s).astype("str")
        restaurant = restaurant.where(checks.ok, None)
        ts_utc, business_date = localize_and_date(wall, restaurant, ctx.directory)
        lines = line_frame(
            checks.ok,
            {
                c.RESTAURANT_ID: restaurant,
                c.SOURCE: NAME,
                c.ORDER_ID: order_id,
                c.LINE_ID: line_id,
                c.PARENT_LINE_ID: None,
                c.TS_UTC: ts_utc,
                c.BUSINESS_DATE: business_date,
                c.ITEM: text(f[Col.ITEM]),
                c.CATEGORY: text(optional_column(f, Col.CATEGORY)),
                c.QUANTITY: quantity,
                c.NET_AMOUNT_MINOR: net,
                c.CURRENCY: currency,
                c.KIND: pd.Series(kind, index=f.index),
            },
        )
        orders = orders_from_lines(lines, None, ctx.directory)
        return parsed_file(path, NAME, rows_read, rejects, orders=orders, lines=lines)

    @staticmethod
    def _wall_times(f: pd.DataFrame, checks: RowChecks) -> pd.Series:
        """Each row's local date and time; a bad date or time rejects the row."""
        _, bad_date = wall_times(f[Col.DATE], Col.DATE_FORMAT)
        checks.reject(bad_date, Col.DATE, "not a date (YYYY-MM-DD)", f[Col.DATE])
        wall, bad_time = wall_times(text(f[Col.DATE]) + " " + text(f[Col.TIME]))
        bad_time = bad_time | ~is_match(f[Col.TIME], Col.TIME_PATTERN)
        checks.reject(bad_time, Col.TIME, "not a time of day (HH:MM:SS)", f[Col.TIME])
        return wall


ADAPTER: Final = SquareAdapter()
