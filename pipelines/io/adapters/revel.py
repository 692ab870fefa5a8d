"""Revel: the Data Connector CSVs, format ``revel``.

An export has two files, read in either order and told apart by their header:

- ``wide_order*.csv``: one row per order: its opening time and guests (covers).
- ``wide_order_item*.csv``: one row per item line. ``pure_sales`` is the line's net amount;
  ``is_voided`` makes a ``void`` line, ``is_return`` a ``refund`` line (negative quantity and
  amount, dated at the return); ``modifier_of`` names the parent ``order_item_id`` of a modifier.
  A line with net 0 whose discount equals ``price × quantity`` is a ``comp``.

Times are UTC (``YYYY-MM-DD HH:MM:SS``); money is decimal text; the location id is
``establishment_id``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.io.adapters._csv_common import (
    RowChecks,
    header_share,
    is_blank,
    line_frame,
    looks_like,
    optional_amount,
    optional_column,
    order_frame,
    parse_amount,
    parse_count,
    parse_quantity,
    parsed_file,
    resolve_restaurants,
    text,
    utc_times,
)
from pipelines.io.adapters.base import ParseContext, ParsedFile
from pipelines.io.adapters.common import (
    CsvTable,
    Rejects,
    currency_of,
    date_from_utc,
    exponent_of,
    head_text,
    parse_bool,
    read_csv_table,
)

NAME: Final = "revel"


class Order:
    """Column names of ``wide_order`` files, in one place so they are easy to correct."""

    ID: Final = "order_id"
    LOCATION: Final = "establishment_id"
    CREATED: Final = "order_created_at"
    GUESTS: Final = "number_of_people"  # optional: covers are empty without it
    REQUIRED: Final = (ID, LOCATION, CREATED)
    HEADER: Final = (
        *REQUIRED, "order_updated_at", "gross_amount", "net_amount", "tax_amount",
        "discount_amount", GUESTS, "is_voided", "dining_option",
    )  # fmt: skip


class Item:
    """Column names of ``wide_order_item`` files, in one place so they are easy to correct."""

    ID: Final = "order_item_id"
    ORDER_ID: Final = "order_id"
    LOCATION: Final = "establishment_id"
    CREATED: Final = "created_date"
    PRODUCT: Final = "product_name"
    CLASS: Final = "product_class"
    QUANTITY: Final = "quantity"
    PRICE: Final = "price"  # unit price; with the discount, tells a comp
    NET: Final = "pure_sales"
    DISCOUNT: Final = "discount_amount"
    VOIDED: Final = "is_voided"
    RETURNED: Final = "is_return"
    PARENT: Final = "modifier_of"
    REQUIRED: Final = (ID, ORDER_ID, LOCATION, CREATED, PRODUCT, QUANTITY, NET)
    HEADER: Final = (
        *REQUIRED, CLASS, PRICE, DISCOUNT, VOIDED, "void_reason", RETURNED, "return_reason",
        PARENT,
    )  # fmt: skip


COMP_TOLERANCE_MINOR: Final = 1
"""How far a comp's discount may be from ``price × quantity`` (rounding of fractional units)."""


def _is_item_file(head: str) -> bool:
    """Whether the header looks more like ``wide_order_item`` than ``wide_order``."""
    return header_share(head, Item.HEADER) > header_share(head, Order.HEADER)


class RevelAdapter:
    """Reads Revel Data Connector ``wide_order`` and ``wide_order_item`` CSVs."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header has most columns of ``wide_order`` or ``wide_order_item``."""
        return looks_like(head, Item.HEADER) or looks_like(head, Order.HEADER)

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads orders (``wide_order``) or lines (``wide_order_item``); bad rows are rejects.

        Raises:
            ImportFileError: unreadable file, or a required column of its kind missing.
        """
        rejects = Rejects()
        items = _is_item_file(head_text(path))
        table = read_csv_table(
            path, Item.REQUIRED if items else Order.REQUIRED, rejects, ctx.encoding
        )
        rows_read = len(table.frame) + len(rejects)
        if items:
            lines = _lines(table, rejects, ctx)
            return parsed_file(path, NAME, rows_read, rejects, lines=lines)
        orders = _orders(table, rejects, ctx)
        return parsed_file(path, NAME, rows_read, rejects, orders=orders)


def _orders(table: CsvTable, rejects: Rejects, ctx: ParseContext) -> pd.DataFrame:
    """The ``orders`` frame of a ``wide_order`` file."""
    f = table.frame
    checks = RowChecks.for_table(table, rejects)
    restaurant = _restaurants(f, Order.LOCATION, checks, ctx)
    order_id = text(f[Order.ID])
    checks.reject(is_blank(order_id), Order.ID, "missing order id")
    opened, bad_time = utc_times(f[Order.CREATED])
    checks.reject(bad_time, Order.CREATED, "not a UTC time (YYYY-MM-DD HH:MM:SS)", f[Order.CREATED])
    guests = optional_column(f, Order.GUESTS)
    covers, bad_covers = parse_count(guests)
    checks.reject(bad_covers, Order.GUESTS, "not a number of guests", guests)
    restaurant = restaurant.where(checks.ok, None)
    return order_frame(
        checks.ok,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: NAME,
            c.ORDER_ID: order_id,
            c.OPENED_AT_UTC: opened,
            c.BUSINESS_DATE: date_from_utc(opened, restaurant, ctx.directory),
            c.COVERS: covers,
        },
    )


def _lines(table: CsvTable, rejects: Rejects, ctx: ParseContext) -> pd.DataFrame:
    """The ``lines`` frame of a ``wide_order_item`` file."""
    f = table.frame
    checks = RowChecks.for_table(table, rejects)
    restaurant = _restaurants(f, Item.LOCATION, checks, ctx)
    order_id = text(f[Item.ORDER_ID])
    checks.reject(is_blank(order_id), Item.ORDER_ID, "missing order id")
    line_id = text(f[Item.ID])
    checks.reject(is_blank(line_id), Item.ID, "missing order item id")
    ts_utc, bad_time = utc_times(f[Item.CREATED])
    checks.reject(bad_time, Item.CREATED, "not a UTC time (YYYY-MM-DD HH:MM:SS)", f[Item.CREATED])
    quantity, bad_qty = parse_quantity(f[Item.QUANTITY])
    checks.reject(bad_qty, Item.QUANTITY, "not a number", f[Item.QUANTITY])
    currency = currency_of(restaurant, ctx.directory)
    kind, net = _kinds_and_amounts(f, quantity, exponent_of(currency), checks)
    restaurant = restaurant.where(checks.ok, None)
    return line_frame(
        checks.ok,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: NAME,
            c.ORDER_ID: order_id,
            c.LINE_ID: line_id,
            c.PARENT_LINE_ID: text(optional_column(f, Item.PARENT)),
            c.TS_UTC: ts_utc,
            c.BUSINESS_DATE: date_from_utc(ts_utc, restaurant, ctx.directory),
            c.ITEM: text(f[Item.PRODUCT]),
            c.CATEGORY: text(optional_column(f, Item.CLASS)),
            c.QUANTITY: quantity,
            c.NET_AMOUNT_MINOR: net,
            c.CURRENCY: currency,
            c.KIND: kind,
        },
    )


def _restaurants(f: pd.DataFrame, column: str, checks: RowChecks, ctx: ParseContext) -> pd.Series:
    """Each row's restaurant from its establishment id; unknown ones are rejected."""
    restaurant, unknown = resolve_restaurants(f[column], NAME, ctx.directory)
    checks.reject(
        unknown,
        column,
        "unknown establishment (no restaurant has pos_provider revel and this pos_location_id)",
        f[column],
    )
    return restaurant


def _kinds_and_amounts(
    f: pd.DataFrame, quantity: pd.Series, exponent: pd.Series, checks: RowChecks
) -> tuple[pd.Series, pd.Series]:
    """Each line's kind and net amount (minor units); bad flags or money reject the row."""
    net, bad_net = parse_amount(f[Item.NET], exponent, minor=False)
    checks.reject(bad_net, Item.NET, "not an amount of money", f[Item.NET])
    price_text = optional_column(f, Item.PRICE)
    price, bad_price = optional_amount(price_text, exponent)
    checks.reject(bad_price, Item.PRICE, "not an amount of money", price_text)
    discount_text = optional_column(f, Item.DISCOUNT)
    discount, bad_discount = optional_amount(discount_text, exponent)
    checks.reject(bad_discount, Item.DISCOUNT, "not an amount of money", discount_text)
    flags: dict[str, np.ndarray] = {}
    for column in (Item.VOIDED, Item.RETURNED):
        values = optional_column(f, column)
        flag, bad_flag = parse_bool(values)
        checks.reject(bad_flag, column, "not true or false", values)
        flags[column] = flag.to_numpy(dtype=bool)
    gross = (price.to_numpy() * quantity.abs().to_numpy()).round()
    comp = (
        (net.to_numpy() == 0)
        & (gross > 0)
        & (np.abs(discount.abs().to_numpy() - gross) <= COMP_TOLERANCE_MINOR)
    )
    kind = np.select(
        [flags[Item.VOIDED], flags[Item.RETURNED], comp],
        [c.KIND_VOID, c.KIND_REFUND, c.KIND_COMP],
        default=c.KIND_SALE,
    )
    return pd.Series(kind, index=f.index, dtype=object), net


ADAPTER: Final = RevelAdapter()
