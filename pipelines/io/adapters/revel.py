"""Revel: the Data Connector CSVs (``wide_order``, ``wide_order_item``), format ``revel``.

Revel Data Connector exports one table per data model; Flux reads two of them, in either order,
told apart by their header (see docs/formats.md, "Revel", for the sources):

- ``wide_order``: one row per order. Its ``net_amount`` (sales after discounts, before tax;
  ``gross_amount`` = ``net_amount`` + ``discount_amount``) becomes the order's total
  (``orders.net_amount_minor``), so this file alone gives orders, covers (``number_of_people``)
  and net sales. A voided order, an order with nothing sold (net and gross 0) and a return order
  (net below 0) carry no total: they are not demand.
- ``wide_order_item``: one row per item line. ``pure_sales`` is the line's net amount (after
  discounts, before tax, the item's modifiers included); ``is_voided`` makes a ``void`` line;
  ``is_return`` (or a negative quantity) a ``refund`` line dated at the row's time; a line with
  net 0 whose ``discount_amount`` or ``price`` × ``quantity`` is not 0 is a ``comp``. Once an
  order has item lines, the lines decide its demand (the order total is not added again).
  ``modifier_of`` (files written by earlier Flux versions) names the parent item of a modifier row.

Times are UTC (``YYYY-MM-DD HH:MM:SS``); money is decimal text (``209.480000``). The location id is
``establishment_id``; a file without that column belongs to one restaurant, taken from
``--restaurant`` or its folder name (:func:`~pipelines.io.adapters.base.resolve_file_restaurant`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.io.adapters._csv_common import (
    RowChecks,
    data_stem,
    header_fields,
    is_blank,
    line_frame,
    optional_amount,
    optional_column,
    order_frame,
    parse_count,
    parse_quantity,
    read_csv_chunks,
    resolve_restaurants,
    table_result,
    text,
)
from pipelines.io.adapters.base import ParseContext, ParsedFile, resolve_file_restaurant
from pipelines.io.adapters.common import (
    CsvTable,
    Rejects,
    currency_of,
    date_from_utc,
    exponent_of,
    head_text,
    parse_bool,
    parse_money,
    parse_timestamps,
    read_csv_table,
)

NAME: Final = "revel"

_UTC_TIME: Final = "not a UTC time (YYYY-MM-DD HH:MM:SS)"
_MONEY: Final = "not an amount of money"


class Order:
    """Column names of ``wide_order`` files, in one place so they are easy to correct."""

    ID: Final = "order_id"
    CREATED: Final = "order_created_at"  # UTC
    UPDATED: Final = "order_updated_at"
    LOCATION: Final = "establishment_id"  # optional: else one restaurant for the whole file
    NET: Final = "net_amount"  # after discounts, before tax
    GROSS: Final = "gross_amount"  # net_amount + discount_amount
    DISCOUNT: Final = "discount_amount"
    TAX: Final = "tax_amount"
    SERVICE_FEE: Final = "service_fee_amount"  # not sales: never added
    SALES: Final = "sales_amount"
    GUESTS: Final = "number_of_people"  # optional: covers are empty without it
    VOIDED: Final = "is_voided"  # optional
    REQUIRED: Final = (ID, CREATED, NET)
    MONEY: Final = (GROSS, NET, TAX, "tax_excluded_amount", DISCOUNT, SERVICE_FEE, SALES)


class Item:
    """Column names of ``wide_order_item`` files, in one place so they are easy to correct."""

    ID: Final = "order_item_id"
    ORDER_ID: Final = "order_id"
    ORDER_CREATED: Final = "order_created_at"  # UTC; the order's opening time
    CREATED: Final = "created_date"  # UTC; the line's own time (falls back to the order's)
    LOCATION: Final = "establishment_id"  # optional: else one restaurant for the whole file
    PRODUCT: Final = "product_name"
    CLASS: Final = "product_class"
    QUANTITY: Final = "quantity"
    PRICE: Final = "price"  # unit price; with the discount, tells a comp
    NET: Final = "pure_sales"
    DISCOUNT: Final = "discount_amount"
    VOIDED: Final = "is_voided"
    RETURNED: Final = "is_return"
    PARENT: Final = "modifier_of"  # legacy Flux files only
    GUESTS: Final = "number_of_people"  # optional
    REQUIRED: Final = (ID, ORDER_ID, PRODUCT, QUANTITY, NET)
    MARKERS: Final = (ID, NET)


_OTHER_TABLES: Final = ("modifier", "combo", "payment", "tax", "labor", "schedule", "service_fee")
"""Other Data Connector models (``wide_order_item_modifier``...): not this adapter's files."""

_WHY_NO_LOCATION: Final = "the file has no establishment_id column"


def _kind_of(head: str, path: Path) -> str | None:
    """``item``, ``order`` or None, from the header (and the file name, for other tables)."""
    fields = header_fields(head)
    if Order.ID not in fields:
        return None
    stem = data_stem(path).lower()
    if any(f"wide_{name}" in stem or f"order_item_{name}" in stem for name in _OTHER_TABLES):
        return None
    if any(name in fields for name in Item.MARKERS):
        return "item"
    if Order.CREATED in fields and sum(name in fields for name in Order.MONEY) >= 2:
        return "order"
    return None


class RevelAdapter:
    """Reads Revel Data Connector ``wide_order`` and ``wide_order_item`` CSVs."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """``order_id`` with ``pure_sales``/``order_item_id`` (items) or order money columns."""
        if path.name.lower().endswith((".json", ".json.gz", ".parquet")):
            return False
        return _kind_of(head, path) is not None

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads orders (``wide_order``) or lines (``wide_order_item``); bad rows are rejects.

        Raises:
            ImportFileError: unreadable file, a required column of its kind missing, or no
                ``establishment_id`` column and no way to tell the file's restaurant.
        """
        items = _kind_of(head_text(path), path) != "order"
        required = Item.REQUIRED if items else Order.REQUIRED
        table = read_csv_table(path, required, encoding=ctx.encoding)
        if items:
            lines, orders = _lines(table, table.rejects, ctx)
            return table_result(table, NAME, lines=lines, orders=orders)
        return table_result(table, NAME, orders=_orders(table, table.rejects, ctx))

    def parse_chunks(self, path: Path, ctx: ParseContext, size: int) -> Iterator[ParsedFile]:
        """Reads the file ``size`` rows at a time (:func:`read_csv_chunks`): the frames of
        :meth:`parse`, cut into chunks.

        Every row stands alone but for the orders of ``wide_order_item``: an order is taken
        from its first line with an opening time, so an order met in an earlier chunk is not
        given again (a later row would win in the database, and the whole file keeps the first).
        """
        items = _kind_of(head_text(path), path) != "order"
        required = Item.REQUIRED if items else Order.REQUIRED
        seen: set[tuple[object, object]] = set()
        for table in read_csv_chunks(path, required, size, ctx.encoding):
            if not items:
                yield table_result(table, NAME, orders=_orders(table, table.rejects, ctx))
                continue
            lines, orders = _lines(table, table.rejects, ctx)
            yield table_result(table, NAME, lines=lines, orders=_not_seen(orders, seen))


def _not_seen(orders: pd.DataFrame, seen: set[tuple[object, object]]) -> pd.DataFrame:
    """The orders whose key is not in ``seen`` (which then gets theirs)."""
    keys = list(zip(orders[c.RESTAURANT_ID], orders[c.ORDER_ID], strict=True))
    new = np.fromiter((k not in seen for k in keys), dtype=bool, count=len(keys))
    seen.update(keys)
    return orders[new].reset_index(drop=True)


def _restaurants(table: CsvTable, checks: RowChecks, ctx: ParseContext, column: str) -> pd.Series:
    """Each row's restaurant: from ``establishment_id``, or the file's one restaurant."""
    f = table.frame
    if column not in f.columns:
        info = resolve_file_restaurant(table.path, ctx, NAME, why=_WHY_NO_LOCATION)
        return pd.Series(info.id, index=f.index, dtype=object)
    restaurant, unknown = resolve_restaurants(f[column], NAME, ctx.directory)
    checks.reject(
        unknown,
        column,
        "unknown establishment (no restaurant has pos_provider revel and this pos_location_id)",
        f[column],
    )
    return restaurant


def _orders(table: CsvTable, rejects: Rejects, ctx: ParseContext) -> pd.DataFrame:
    """The ``orders`` frame of a ``wide_order`` file, with each order's net sales."""
    f = table.frame
    checks = RowChecks.for_table(table, rejects)
    restaurant = _restaurants(table, checks, ctx, Order.LOCATION)
    order_id = text(f[Order.ID])
    checks.reject(is_blank(order_id), Order.ID, "missing order id")
    opened, bad_time = parse_timestamps(f[Order.CREATED], utc=True)
    checks.reject(bad_time, Order.CREATED, _UTC_TIME, f[Order.CREATED])
    guests = optional_column(f, Order.GUESTS)
    covers, bad_covers = parse_count(guests)
    checks.reject(bad_covers, Order.GUESTS, "not a number of guests", guests)
    exponent = exponent_of(currency_of(restaurant, ctx.directory))
    net, bad_net = parse_money(f[Order.NET], exponent, minor=False)
    checks.reject(bad_net, Order.NET, _MONEY, f[Order.NET])
    discount = _optional_money(f, Order.DISCOUNT, exponent, checks)
    if Order.GROSS in f.columns:
        gross = _optional_money(f, Order.GROSS, exponent, checks)
    else:
        gross = net + discount
    voided = _flag(f, Order.VOIDED, checks)
    nothing_sold = (net.to_numpy() == 0) & (gross.to_numpy() == 0)
    no_total = voided | nothing_sold | (net.to_numpy() < 0)
    restaurant = restaurant.where(checks.ok, None)
    return order_frame(
        checks,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: NAME,
            c.ORDER_ID: order_id,
            c.OPENED_AT_UTC: opened,
            c.BUSINESS_DATE: date_from_utc(opened, restaurant, ctx.directory),
            c.COVERS: covers,
            c.NET_AMOUNT_MINOR: pd.Series(net, dtype="Int64").where(~no_total, pd.NA),
        },
    )


def _optional_money(
    f: pd.DataFrame, column: str, exponent: pd.Series, checks: RowChecks
) -> pd.Series:
    """An optional money column in minor units (blank or absent: 0); bad values reject."""
    values = optional_column(f, column)
    amount, bad = optional_amount(values, exponent)
    checks.reject(bad, column, _MONEY, values)
    return amount


def _flag(f: pd.DataFrame, column: str, checks: RowChecks) -> np.ndarray:
    """An optional true/false column (blank or absent: false); bad values reject."""
    values = optional_column(f, column)
    flag, bad = parse_bool(values)
    checks.reject(bad, column, "not true or false", values)
    return flag.to_numpy(dtype=bool)


def _line_times(f: pd.DataFrame, checks: RowChecks) -> pd.Series:
    """Each line's UTC time: ``created_date``, or the order's ``order_created_at``."""
    own = optional_column(f, Item.CREATED)
    order = optional_column(f, Item.ORDER_CREATED)
    use_order = is_blank(own)
    values = own.where(~use_order, order)
    ts_utc, bad = parse_timestamps(values, utc=True)
    field = Item.CREATED if Item.CREATED in f.columns else Item.ORDER_CREATED
    missing = is_blank(values)
    if Item.CREATED not in f.columns and Item.ORDER_CREATED not in f.columns:
        reason = f"no time column ({Item.CREATED} or {Item.ORDER_CREATED})"
    else:
        reason = "missing time"
    checks.reject(missing, field, reason)
    checks.reject(bad, field, _UTC_TIME, values)
    return ts_utc


def _lines(
    table: CsvTable, rejects: Rejects, ctx: ParseContext
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``lines`` frame of a ``wide_order_item`` file, and its orders' opening times."""
    f = table.frame
    checks = RowChecks.for_table(table, rejects)
    restaurant = _restaurants(table, checks, ctx, Item.LOCATION)
    order_id = text(f[Item.ORDER_ID])
    checks.reject(is_blank(order_id), Item.ORDER_ID, "missing order id")
    line_id = text(f[Item.ID])
    checks.reject(is_blank(line_id), Item.ID, "missing order item id")
    ts_utc = _line_times(f, checks)
    quantity, bad_qty = parse_quantity(f[Item.QUANTITY])
    checks.reject(bad_qty, Item.QUANTITY, "not a number", f[Item.QUANTITY])
    opened, bad_opened = parse_timestamps(optional_column(f, Item.ORDER_CREATED), utc=True)
    guests = optional_column(f, Item.GUESTS)
    covers, bad_covers = parse_count(guests)
    checks.reject(bad_covers, Item.GUESTS, "not a number of guests", guests)
    currency = currency_of(restaurant, ctx.directory)
    kind, net = _kinds_and_amounts(f, quantity, exponent_of(currency), checks)
    restaurant = restaurant.where(checks.ok, None)
    lines = line_frame(
        checks,
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
    keep = checks.ok & ~bad_opened & ~is_blank(optional_column(f, Item.ORDER_CREATED))
    orders = order_frame(
        keep,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: NAME,
            c.ORDER_ID: order_id,
            c.OPENED_AT_UTC: opened,
            c.BUSINESS_DATE: date_from_utc(opened, restaurant, ctx.directory),
            c.COVERS: covers,
        },
    )
    orders = orders.drop_duplicates([c.RESTAURANT_ID, c.ORDER_ID], keep="first")
    return lines, orders.reset_index(drop=True)


COMP_TOLERANCE_MINOR: Final = 1
"""How far a comp's discount may be from ``price × quantity`` (rounding of fractional units)."""


def _kinds_and_amounts(
    f: pd.DataFrame, quantity: pd.Series, exponent: pd.Series, checks: RowChecks
) -> tuple[pd.Series, pd.Series]:
    """Each line's kind and net amount (minor units); bad flags or money reject the row."""
    net, bad_net = parse_money(f[Item.NET], exponent, minor=False)
    checks.reject(bad_net, Item.NET, _MONEY, f[Item.NET])
    price = _optional_money(f, Item.PRICE, exponent, checks)
    discount = _optional_money(f, Item.DISCOUNT, exponent, checks)
    voided = _flag(f, Item.VOIDED, checks)
    returned = _flag(f, Item.RETURNED, checks) | (quantity.to_numpy() < 0)
    gross = (price.to_numpy() * quantity.abs().to_numpy()).round()
    comp = (net.to_numpy() == 0) & (
        (discount.abs().to_numpy() > COMP_TOLERANCE_MINOR) | (np.abs(gross) > 0)
    )
    kind = np.select(
        [voided, returned, comp],
        [c.KIND_VOID, c.KIND_REFUND, c.KIND_COMP],
        default=c.KIND_SALE,
    )
    return pd.Series(kind, index=f.index, dtype=object), net


ADAPTER: Final = RevelAdapter()
