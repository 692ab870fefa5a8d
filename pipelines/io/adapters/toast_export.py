"""Toast: the data export (nightly SFTP export or Toast Web download), format ``toast_export``.

Columns follow Toast's "Data export field reference" (doc.toasttab.com, Platform guide,
``adminDataExportFieldReference.html``): ``ItemSelectionDetails.csv``, ``OrderDetails.csv``,
``CheckDetails.csv`` and ``PaymentDetails.csv``, one set per location and business day (the SFTP
export writes ``<location number>/<yyyymmdd>/<file>.csv``). Each file is read on its own; the
database merges them by natural key (order id, line id), so any subset, in any order, gives the
same figures and nothing counts twice:

- ``ItemSelectionDetails.csv``: one row per menu item selection: the lines (``Item Selection Id``
  of ``Order Id``; ``Net Price`` is the net amount after discounts, before tax, for ``Qty``).
  ``Void?`` true makes a ``void`` line; ``Net Price`` 0 with a ``Gross Price`` above 0 a ``comp``;
  ``Deferred`` rows (gift cards) are not demand and are left out. Modifiers are in
  ``ModifiersSelectionDetails.csv``, which Flux does not read: like the Orders API's ``price``,
  the item's price includes them.
- ``OrderDetails.csv``: one row per order: opening time (``Opened``), guests (``# of Guests``)
  and the order's net total ``Amount`` (after discounts, before tax and tip), which counts as the
  order's net sales until its item lines arrive. ``Voided`` orders carry no total.
- ``CheckDetails.csv``: one row per check: guests (``Table Size``). The file has no ``Order Id``,
  so a check finds its order through the ``Check Id`` of the ``ItemSelectionDetails.csv`` or
  ``PaymentDetails.csv`` in the same folder; an order's covers are the largest ``Table Size`` of
  its checks (a split order repeats the party size on each check).
- ``PaymentDetails.csv``: one row per payment: a ``Refund Amount`` makes a ``refund`` line
  ``<Payment Id>-refund`` dated at ``Refund Date``.

Times are the restaurant's local wall-clock times, ``MM/DD/YYYY HH:MM:SS`` as documented (Toast
Web also writes ``M/D/YY h:mm AM``); money is decimal text. ``Location`` is the location's name: a
row goes to the Toast restaurant whose ``pos_location_id`` is that name, else to the file's
restaurant (``--restaurant``, or the ``pos_location_id`` naming one of its folders).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._csv_common import (
    RowChecks,
    data_stem,
    header_fields,
    is_blank,
    line_frame,
    looks_like,
    optional_amount,
    optional_column,
    order_frame,
    parse_count,
    parse_quantity,
    table_result,
    text,
)
from pipelines.io.adapters.base import (
    ORDER_COLUMNS,
    ParseContext,
    ParsedFile,
    resolve_file_restaurant,
)
from pipelines.io.adapters.common import (
    CsvTable,
    Rejects,
    currency_of,
    display_path,
    exponent_of,
    head_text,
    localize_and_date,
    parse_bool,
    parse_money,
    read_csv_table,
    resolve_locations,
)

NAME: Final = "toast_export"
SOURCE: Final = "toast"
"""Lines and orders are stored under the vendor's name, like the Orders API's."""

LOCATION: Final = "Location"
ORDER_ID: Final = "Order Id"
CHECK_ID: Final = "Check Id"


class Items:
    """``ItemSelectionDetails.csv`` columns, in one place so they are easy to correct."""

    ORDER_DATE: Final = "Order Date"  # the order's opening time: the lines' time
    SENT_DATE: Final = "Sent Date"  # when the item was sent; used if Order Date is blank
    ID: Final = "Item Selection Id"
    ITEM: Final = "Menu Item"
    GROUP: Final = "Menu Group"
    SALES_CATEGORY: Final = "Sales Category"
    GROSS: Final = "Gross Price"
    NET: Final = "Net Price"
    QTY: Final = "Qty"
    VOID: Final = "Void?"
    DEFERRED: Final = "Deferred"
    REQUIRED: Final = (ORDER_ID, ID, ITEM, QTY, NET)
    HEADER: Final = (
        LOCATION, ORDER_ID, "Order #", SENT_DATE, ORDER_DATE, CHECK_ID, "Server", "Table",
        "Dining Area", "Service", "Dining Option", ID, "Item Id", "Master Id", "SKU", "PLU", ITEM,
        "Menu Subgroup(s)", GROUP, "Menu", SALES_CATEGORY, GROSS, "Discount", NET, QTY, "Tax",
        VOID, DEFERRED, "Tax Exempt", "Tax Inclusion Option", "Dining Option Tax", "Tab Name",
    )  # fmt: skip


class Orders:
    """``OrderDetails.csv`` columns."""

    OPENED: Final = "Opened"
    GUESTS: Final = "# of Guests"
    AMOUNT: Final = "Amount"
    VOIDED: Final = "Voided"
    REQUIRED: Final = (ORDER_ID, OPENED)
    HEADER: Final = (
        LOCATION, ORDER_ID, "Order #", "Checks", OPENED, GUESTS, "Tab Names", "Server", "Table",
        "Revenue Center", "Dining Area", "Service", "Dining Options", "Discount Amount", AMOUNT,
        "Tax", "Tip", "Gratuity", "Total", VOIDED, "Paid", "Closed", "Duration (Opened to Paid)",
        "Order Source",
    )  # fmt: skip


class Checks:
    """``CheckDetails.csv`` columns (no ``Location``, no ``Order Id``)."""

    OPENED_DATE: Final = "Opened Date"  # MM/DD/YY
    OPENED_TIME: Final = "Opened Time"  # hh:mm a
    TABLE_SIZE: Final = "Table Size"
    REQUIRED: Final = (CHECK_ID, OPENED_DATE, OPENED_TIME, TABLE_SIZE)
    HEADER: Final = (
        "Customer Id", "Customer", "Customer Phone", "Customer Email", "Location Code",
        OPENED_DATE, OPENED_TIME, "Item Description", "Server", "Tax", "Tender", CHECK_ID,
        "Check #", "Total", "Customer Family", TABLE_SIZE, "Discount", "Reason of Discount",
        "Link",
    )  # fmt: skip


class Payments:
    """``PaymentDetails.csv`` columns."""

    ID: Final = "Payment Id"
    ORDER_DATE: Final = "Order Date"
    PAID_DATE: Final = "Paid Date"
    REFUND_DATE: Final = "Refund Date"
    REFUND_AMOUNT: Final = "Refund Amount"
    REQUIRED: Final = (ID, ORDER_ID, ORDER_DATE)
    HEADER: Final = (
        LOCATION, ID, ORDER_ID, "Order #", PAID_DATE, ORDER_DATE, CHECK_ID, "Check #", "Tab Name",
        "Server", "Table", "Dining Area", "Service", "Dining Option", "House Acct #", "Amount",
        "Tip", "Gratuity", "Total", "Swiped Card Amount", "Keyed Card Amount", "Amount Tendered",
        "Refunded", REFUND_DATE, REFUND_AMOUNT, "Refund Tip Amount", "Void User", "Void Approver",
        "Void Date", "Status", "Type", "Cash Drawer", "Card Type", "Other Type", "Email", "Phone",
        "Last 4 Card Digits", "Receipt", "V/MC/D Fees",
    )  # fmt: skip


ITEMS, ORDERS, CHECKS, PAYMENTS = "items", "orders", "checks", "payments"

_FILE_NAMES: Final = {
    "itemselectiondetails": ITEMS,
    "orderdetails": ORDERS,
    "checkdetails": CHECKS,
    "paymentdetails": PAYMENTS,
}
_MODIFIER_COLUMNS: Final = frozenset({"Modifier Id", "Modifier", "Parent Menu Selection"})

WALL_FORMATS: Final = (
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
)
"""The wall-clock formats of Toast's exports: documented ``MM/DD/YYYY HH:MM:SS``; Toast Web's
``M/D/YY h:mm AM``; CheckDetails' ``MM/DD/YY`` date with an ``hh:mm a`` time; ISO 8601 wall
times from tools that rewrite the files."""

WALL_TIME_HELP: Final = "not a date and time (MM/DD/YYYY HH:MM:SS or M/D/YY h:mm AM)"

WHY_NO_RESTAURANT: Final = (
    "Toast's data export names its location only by name (the Location column), and no "
    "restaurant with pos_provider toast has that name as its pos_location_id"
)


def file_kind(path: Path, head: str) -> str | None:
    """Which export file this is (items, orders, checks, payments), from its header and name."""
    if not path.name.lower().endswith((".csv", ".csv.gz")):
        return None
    fields = header_fields(head)
    if fields & _MODIFIER_COLUMNS:
        return None  # ModifiersSelectionDetails.csv: the items' prices include the modifiers
    tests = (
        (ITEMS, {Items.ID, Items.ITEM} <= fields or looks_like(head, Items.HEADER)),
        (PAYMENTS, {Payments.ID, ORDER_ID} <= fields or looks_like(head, Payments.HEADER)),
        (
            ORDERS,
            ({ORDER_ID, Orders.OPENED} <= fields and bool({Orders.GUESTS, Orders.AMOUNT} & fields))
            or looks_like(head, Orders.HEADER),
        ),
        (CHECKS, {CHECK_ID, Checks.TABLE_SIZE} <= fields or looks_like(head, Checks.HEADER)),
    )
    found = next((kind for kind, ok in tests if ok), None)
    if found is None and fields & {ORDER_ID, CHECK_ID, Items.ID, Payments.ID}:
        # a trimmed export (Toast lets users pick its columns), named as Toast names the file
        stem = data_stem(path).lower()
        found = next((k for n, k in _FILE_NAMES.items() if stem.startswith(n)), None)
    return found


_REQUIRED: Final = {
    ITEMS: Items.REQUIRED,
    ORDERS: Orders.REQUIRED,
    CHECKS: Checks.REQUIRED,
    PAYMENTS: Payments.REQUIRED,
}


class ToastExportAdapter:
    """Reads Toast's data export files."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header is one of ItemSelectionDetails, OrderDetails, CheckDetails or
        PaymentDetails."""
        return file_kind(path, head) is not None

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads one export file; bad rows are rejects.

        Raises:
            ImportFileError: unreadable file, not an export file, a required column missing, or
                no way to tell the file's restaurant.
        """
        kind = file_kind(path, head_text(path))
        if kind is None:
            raise ImportFileError(
                display_path(path),
                "not a Toast data export file (ItemSelectionDetails, OrderDetails, CheckDetails "
                "or PaymentDetails)",
                row=1,
            )
        table = read_csv_table(path, _REQUIRED[kind], encoding=ctx.encoding)
        rejects = table.rejects
        if kind == ITEMS:
            return table_result(table, NAME, lines=_items(table, rejects, ctx))
        if kind == ORDERS:
            return table_result(table, NAME, orders=_orders(table, rejects, ctx))
        if kind == CHECKS:  # OrderDetails' guests win over these party sizes
            checks = table_result(table, NAME, orders=_checks(table, rejects, ctx))
            return dataclasses.replace(checks, orders_fill_in=True)
        orders, lines = _payments(table, rejects, ctx)  # its orders only carry refunds
        payments = table_result(table, NAME, orders=orders, lines=lines)
        return dataclasses.replace(payments, orders_fill_in=True)


# ----------------------------------------------------------------------------- helpers


def toast_wall_times(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Toast's local wall-clock times (naive). Returns (datetime64[ns] values, bad mask)."""
    s = text(values).str.replace(r"\s+", " ", regex=True)
    uniques = pd.Series(pd.unique(s), dtype="str")
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns]")
    for fmt in WALL_FORMATS:
        todo = parsed.isna() & (uniques != "")
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(uniques[todo], format=fmt, errors="coerce")
    parsed = parsed.where(
        (parsed >= pd.Timestamp("1970-01-01")) & (parsed < pd.Timestamp("2100-01-01"))
    )
    lookup = pd.Series(parsed.to_numpy(), index=uniques.to_numpy())
    out = pd.Series(lookup.reindex(s.to_numpy()).to_numpy(), index=values.index)
    out = out.astype("datetime64[ns]")
    return out, out.isna().to_numpy(dtype=bool)


def _restaurants(table: CsvTable, ctx: ParseContext) -> pd.Series:
    """Each row's restaurant: its ``Location`` when a Toast restaurant has it as its
    ``pos_location_id``, else the file's restaurant.

    Raises:
        ImportFileError: rows whose location is unknown and no file restaurant can be found, or
            several unknown locations in one file.
    """
    f = table.frame
    names = text(optional_column(f, LOCATION))
    ids = resolve_locations(names, SOURCE, ctx.directory)
    unknown = ids.isna().to_numpy(dtype=bool)
    if unknown.any():
        distinct = sorted(set(names[unknown]) - {""})
        if len(distinct) > 1:
            shown = ", ".join(repr(n) for n in distinct[:5])
            raise ImportFileError(
                display_path(table.path),
                f"the file holds several locations ({shown}) that no restaurant with "
                "pos_provider toast has as its pos_location_id; set each restaurant's "
                "pos_location_id to its Location name (restaurants.csv)",
                field=LOCATION,
            )
        info = resolve_file_restaurant(table.path, ctx, SOURCE, why=WHY_NO_RESTAURANT)
        ids[unknown] = info.id
    return ids


def _ids(f: pd.DataFrame, column: str, checks: RowChecks, what: str) -> pd.Series:
    """A required id column, stripped; blanks are rejected."""
    values = text(f[column])
    checks.reject(is_blank(values), column, f"missing {what}")
    return values


def _local(
    values: pd.Series, column: str, restaurant: pd.Series, checks: RowChecks, ctx: ParseContext
) -> tuple[pd.Series, pd.Series]:
    """Wall-clock times to (UTC, business date); bad ones are rejected."""
    naive, bad = toast_wall_times(values)
    checks.reject(bad, column, WALL_TIME_HELP, values)
    return localize_and_date(naive.where(~bad), restaurant, ctx.directory)


def _flag(f: pd.DataFrame, column: str, checks: RowChecks) -> np.ndarray:
    """A true/false column (blank is false); bad values are rejected."""
    values = optional_column(f, column)
    flag, bad = parse_bool(values)
    checks.reject(bad, column, "not true or false", values)
    return flag.to_numpy(dtype=bool)


# ------------------------------------------------------------------------------- files


def _items(table: CsvTable, rejects: Rejects, ctx: ParseContext) -> pd.DataFrame:
    """The lines of ``ItemSelectionDetails.csv``."""
    f = table.frame
    if Items.ORDER_DATE not in f.columns and Items.SENT_DATE not in f.columns:
        raise ImportFileError(
            display_path(table.path),
            f"required column missing from the header (or {Items.SENT_DATE})",
            row=1,
            field=Items.ORDER_DATE,
        )
    checks = RowChecks.for_table(table, rejects)
    restaurant = _restaurants(table, ctx)
    order_id = _ids(f, ORDER_ID, checks, "order id")
    line_id = _ids(f, Items.ID, checks, "item selection id")
    when = text(optional_column(f, Items.ORDER_DATE))
    sent = text(optional_column(f, Items.SENT_DATE))
    column = Items.ORDER_DATE if Items.ORDER_DATE in f.columns else Items.SENT_DATE
    when = when.where(when != "", sent)
    ts_utc, bdate = _local(when, column, restaurant, checks, ctx)
    quantity, bad_qty = parse_quantity(f[Items.QTY])
    checks.reject(bad_qty, Items.QTY, "not a number", f[Items.QTY])
    exponent = exponent_of(currency_of(restaurant, ctx.directory))
    net, bad_net = parse_money(f[Items.NET], exponent, minor=False)
    checks.reject(bad_net, Items.NET, "not an amount of money", f[Items.NET])
    gross_text = optional_column(f, Items.GROSS)
    gross, bad_gross = optional_amount(gross_text, exponent)
    checks.reject(bad_gross, Items.GROSS, "not an amount of money", gross_text)
    void = _flag(f, Items.VOID, checks)
    deferred = _flag(f, Items.DEFERRED, checks)
    comp = (net.to_numpy() == 0) & (gross.to_numpy() > 0)
    kind = np.select([void, comp], [c.KIND_VOID, c.KIND_COMP], default=c.KIND_SALE)
    group = text(optional_column(f, Items.GROUP))
    category = group.where(group != "", text(optional_column(f, Items.SALES_CATEGORY)))
    checks.skip(deferred)  # deferred (gift card) rows are not demand
    return line_frame(
        checks,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: SOURCE,
            c.ORDER_ID: order_id,
            c.LINE_ID: line_id,
            c.PARENT_LINE_ID: None,
            c.TS_UTC: ts_utc,
            c.BUSINESS_DATE: bdate,
            c.ITEM: text(f[Items.ITEM]),
            c.CATEGORY: category,
            c.QUANTITY: quantity,
            c.NET_AMOUNT_MINOR: net,
            c.CURRENCY: currency_of(restaurant, ctx.directory),
            c.KIND: pd.Series(kind, index=f.index, dtype=object),
        },
    )


def _orders(table: CsvTable, rejects: Rejects, ctx: ParseContext) -> pd.DataFrame:
    """The orders of ``OrderDetails.csv``, with guests and net totals."""
    f = table.frame
    checks = RowChecks.for_table(table, rejects)
    restaurant = _restaurants(table, ctx)
    order_id = _ids(f, ORDER_ID, checks, "order id")
    opened, bdate = _local(f[Orders.OPENED], Orders.OPENED, restaurant, checks, ctx)
    guests = optional_column(f, Orders.GUESTS)
    covers, bad_covers = parse_count(guests)
    checks.reject(bad_covers, Orders.GUESTS, "not a number of guests", guests)
    voided = _flag(f, Orders.VOIDED, checks)
    columns: dict[str, pd.Series | str | None] = {
        c.RESTAURANT_ID: restaurant,
        c.SOURCE: SOURCE,
        c.ORDER_ID: order_id,
        c.OPENED_AT_UTC: opened,
        c.BUSINESS_DATE: bdate,
        c.COVERS: covers,
    }
    if Orders.AMOUNT in f.columns:
        exponent = exponent_of(currency_of(restaurant, ctx.directory))
        blank = is_blank(f[Orders.AMOUNT])
        amount, bad_amount = parse_money(f[Orders.AMOUNT], exponent, minor=False)
        checks.reject(
            bad_amount & ~blank, Orders.AMOUNT, "not an amount of money", f[Orders.AMOUNT]
        )
        net = pd.Series(amount.to_numpy(), index=f.index, dtype="Int64")
        columns[c.NET_AMOUNT_MINOR] = net.where(~(blank | voided), pd.NA)
    return order_frame(checks, columns)


def _checks(table: CsvTable, rejects: Rejects, ctx: ParseContext) -> pd.DataFrame:
    """The guests of ``CheckDetails.csv``, per order (found through sibling files)."""
    f = table.frame
    if f.empty:
        return order_frame(np.zeros(0, dtype=bool), dict.fromkeys(ORDER_COLUMNS))
    checks = RowChecks.for_table(table, rejects)
    restaurant = pd.Series(
        resolve_file_restaurant(table.path, ctx, SOURCE, why=WHY_NO_RESTAURANT).id,
        index=f.index,
        dtype=object,
    )
    check_id = _ids(f, CHECK_ID, checks, "check id")
    order_of = _orders_of_checks(table.path, ctx)
    order_id = check_id.map(lambda k: order_of[k][0] if k in order_of else None)
    # the order's own opening time where a sibling gives it (the check's is to the minute)
    when = check_id.map(lambda k: order_of[k][1] if k in order_of else "").astype(str)
    own = text(f[Checks.OPENED_DATE]) + " " + text(f[Checks.OPENED_TIME])
    when = when.where(when != "", own)
    opened, bdate = _local(when, Checks.OPENED_DATE, restaurant, checks, ctx)
    covers, bad_covers = parse_count(f[Checks.TABLE_SIZE])
    checks.reject(bad_covers, Checks.TABLE_SIZE, "not a number of guests", f[Checks.TABLE_SIZE])
    checks.reject(
        order_id.isna().to_numpy(dtype=bool),
        CHECK_ID,
        "no order for this check: CheckDetails.csv has no Order Id, and no "
        "ItemSelectionDetails.csv or PaymentDetails.csv in the same folder lists this Check Id",
        check_id,
    )
    checks.screen({c.ORDER_ID: order_id})
    keep = checks.ok
    if not keep.any():
        return order_frame(np.zeros(0, dtype=bool), dict.fromkeys(ORDER_COLUMNS))
    work = pd.DataFrame(
        {
            c.RESTAURANT_ID: restaurant[keep],
            c.ORDER_ID: order_id[keep].astype(str),
            c.OPENED_AT_UTC: opened[keep],
            c.BUSINESS_DATE: bdate[keep],
            c.COVERS: covers[keep].astype("Float64"),
        }
    )
    grouped = work.groupby([c.RESTAURANT_ID, c.ORDER_ID], sort=False)
    first = grouped[c.OPENED_AT_UTC].idxmin()
    out = work.loc[
        first.to_numpy(), [c.RESTAURANT_ID, c.ORDER_ID, c.OPENED_AT_UTC, c.BUSINESS_DATE]
    ]
    out = out.reset_index(drop=True)
    most = grouped[c.COVERS].max().reset_index(drop=True)  # the party size, on each check
    return order_frame(
        np.ones(len(out), dtype=bool),
        {
            c.RESTAURANT_ID: out[c.RESTAURANT_ID],
            c.SOURCE: SOURCE,
            c.ORDER_ID: out[c.ORDER_ID],
            c.OPENED_AT_UTC: out[c.OPENED_AT_UTC],
            c.BUSINESS_DATE: out[c.BUSINESS_DATE],
            c.COVERS: pd.Series(most.to_numpy(), dtype="Float64").round().astype("Int64"),
        },
    )


def _orders_of_checks(path: Path, ctx: ParseContext) -> dict[str, tuple[str, str]]:
    """``Check Id`` → (``Order Id``, the order's ``Order Date``) from the ItemSelectionDetails
    and PaymentDetails files next to a CheckDetails file (best effort: an unreadable sibling is
    skipped)."""
    found: dict[str, tuple[str, str]] = {}
    try:
        siblings = sorted(path.parent.iterdir())
    except OSError:
        return found
    for sibling in siblings:
        if sibling == path or not sibling.is_file():
            continue
        try:
            if file_kind(sibling, head_text(sibling)) not in (ITEMS, PAYMENTS):
                continue
            table = read_csv_table(sibling, (CHECK_ID, ORDER_ID), Rejects(), ctx.encoding)
        except ImportFileError:
            continue
        f = table.frame
        checks, orders = text(f[CHECK_ID]), text(f[ORDER_ID])
        dates = text(optional_column(f, Items.ORDER_DATE))
        for check, order, date in zip(checks, orders, dates, strict=True):
            if check and order and (check not in found or (date and not found[check][1])):
                found[check] = (order, date)
    return found


def _payments(
    table: CsvTable, rejects: Rejects, ctx: ParseContext
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders (opening times) and refund lines of ``PaymentDetails.csv``."""
    f = table.frame
    checks = RowChecks.for_table(table, rejects)
    restaurant = _restaurants(table, ctx)
    order_id = _ids(f, ORDER_ID, checks, "order id")
    payment_id = _ids(f, Payments.ID, checks, "payment id")
    exponent = exponent_of(currency_of(restaurant, ctx.directory))
    refund_text = optional_column(f, Payments.REFUND_AMOUNT)
    refund, bad_refund = optional_amount(refund_text, exponent)
    checks.reject(bad_refund, Payments.REFUND_AMOUNT, "not an amount of money", refund_text)
    refunded = refund.to_numpy() != 0
    order_date = text(f[Payments.ORDER_DATE])
    has_date = order_date != ""
    checks.reject(
        refunded & ~has_date.to_numpy(dtype=bool),
        Payments.ORDER_DATE,
        "missing: needed to date the refunded order",
    )
    naive, bad = toast_wall_times(order_date)
    checks.reject(
        bad & has_date.to_numpy(dtype=bool), Payments.ORDER_DATE, WALL_TIME_HELP, order_date
    )
    opened, bdate = localize_and_date(naive.where(~bad), restaurant, ctx.directory)
    refund_date = optional_column(f, Payments.REFUND_DATE)
    naive_r, bad_r = toast_wall_times(refund_date)
    checks.reject(bad_r & refunded, Payments.REFUND_DATE, WALL_TIME_HELP, refund_date)
    refund_utc, refund_bdate = localize_and_date(naive_r.where(~bad_r), restaurant, ctx.directory)
    checks.screen({c.ORDER_ID: order_id, c.LINE_ID: payment_id + "-refund"})
    dated = checks.ok & has_date.to_numpy(dtype=bool) & ~bad
    first = dated & ~order_id.where(dated, None).duplicated().to_numpy(dtype=bool)
    orders = order_frame(
        first,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: SOURCE,
            c.ORDER_ID: order_id,
            c.OPENED_AT_UTC: opened,
            c.BUSINESS_DATE: bdate,
            c.COVERS: pd.Series(pd.NA, index=f.index, dtype="Int64"),
        },
    )
    lines = line_frame(
        checks.ok & refunded,
        {
            c.RESTAURANT_ID: restaurant,
            c.SOURCE: SOURCE,
            c.ORDER_ID: order_id,
            c.LINE_ID: payment_id + "-refund",
            c.PARENT_LINE_ID: None,
            c.TS_UTC: refund_utc,
            c.BUSINESS_DATE: refund_bdate,
            c.ITEM: None,
            c.CATEGORY: None,
            c.QUANTITY: pd.Series(0.0, index=f.index),
            c.NET_AMOUNT_MINOR: refund,
            c.CURRENCY: currency_of(restaurant, ctx.directory),
            c.KIND: c.KIND_REFUND,
        },
    )
    return orders, lines


ADAPTER: Final = ToastExportAdapter()
