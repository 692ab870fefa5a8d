"""Generic order lines: CSV or Parquet described by a TOML mapping, format ``csv``.

The mapping (``docs/formats.md``) comes from ``ctx.mapping`` (the CLI builds it from
``--mapping FILE`` and ``--map key=col``) or else from the file next to the data named like it with
``.mapping.toml`` (``lines.csv.gz`` → ``lines.mapping.toml``). Required fields: ``order_id``,
``timestamp``, ``item``, ``amount`` (the line's net amount) or ``unit_price`` (amount = quantity x
unit price), and a restaurant (the ``restaurant`` setting or a
``restaurant_id`` column). Optional: ``line_id`` (default ``<order id>:<n>``, ``n`` counting the
order's rows in file order), ``category``, ``quantity`` (default 1), ``kind`` (default: every row is
a sale), ``covers`` (the order's guests repeated on its lines: the first non-blank one counts) and
``parent_line_id`` (modifiers). Restaurant values are looked up as ``pos_location_id`` of
restaurants whose ``pos_provider`` is ``csv``, else as Flux restaurant ids.

Parquet rows are numbered from 1 (there is no header row); typed Parquet columns are read as
their text, except timestamp columns, which keep their type (a zone-aware column is taken as is,
a naive one per the mapping's ``timezone``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models import columns as c
from pipelines.errors import ConfigError, ImportFileError
from pipelines.io.adapters._csv_common import (
    MAX_COUNT,
    Numbering,
    OrderCarry,
    RowChecks,
    data_stem,
    is_blank,
    line_frame,
    number_within,
    optional_column,
    orders_from_lines,
    parse_count,
    parse_quantity,
    parsed_file,
    read_csv_chunks,
    resolve_restaurants,
    text,
)
from pipelines.io.adapters._mapping import (
    Field,
    load_mapping,
    mapping_from_flags,
    required_columns,
)
from pipelines.io.adapters.base import ColumnMapping, ParseContext, ParsedFile
from pipelines.io.adapters.common import (
    Rejects,
    currency_of,
    date_from_utc,
    display_path,
    exponent_of,
    localize_and_date,
    parse_money,
    parse_timestamps,
    read_csv_table,
)

__all__ = ["ADAPTER", "GenericAdapter", "load_mapping", "mapping_from_flags", "mapping_path"]

NAME: Final = "csv"
MAPPING_SUFFIX: Final = ".mapping.toml"
PARQUET_SUFFIX: Final = ".parquet"
REQUIRED_FIELDS: Final = (Field.ORDER_ID, Field.TIMESTAMP, Field.ITEM)
MONEY_FIELDS: Final = (Field.AMOUNT, Field.UNIT_PRICE)
"""One of these is required: the line's net amount, or its unit price (amount = quantity x unit
price, rounded half away from zero to the currency's minor unit)."""
OPTIONAL_FIELDS: Final = (
    *MONEY_FIELDS,
    Field.RESTAURANT_ID,
    Field.LINE_ID,
    Field.PARENT_LINE_ID,
    Field.CATEGORY,
    Field.QUANTITY,
    Field.KIND,
    Field.COVERS,
)
_EARLIEST: Final = pd.Timestamp("1970-01-01", tz="UTC")
_LATEST: Final = pd.Timestamp("2100-01-01", tz="UTC")


def mapping_path(path: Path) -> Path:
    """The mapping file next to a data file: ``lines.csv.gz`` → ``lines.mapping.toml``."""
    return path.with_name(data_stem(path) + MAPPING_SUFFIX)


class GenericAdapter:
    """Reads order lines from any CSV or Parquet file with a column mapping."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """Whether a mapping file sits next to the data file."""
        return mapping_path(path).is_file()

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file's order lines (and orders, with covers when mapped).

        Raises:
            ConfigError: no mapping, or a mapping that does not make sense for order lines.
            ImportFileError: unreadable file, or a mapped column missing from it.
        """
        mapping, fields = _fields(path, ctx)
        rejects = Rejects()
        frame, checks = _read(path, tuple(dict.fromkeys(fields.values())), rejects, ctx)
        rows_read = len(frame) + len(rejects)
        lines, covers = _Lines(
            path=path, frame=frame, fields=fields, mapping=mapping, checks=checks, ctx=ctx
        ).build()
        orders = orders_from_lines(lines, covers, ctx.directory)
        return parsed_file(path, NAME, rows_read, rejects, orders=orders, lines=lines)

    def parse_chunks(self, path: Path, ctx: ParseContext, size: int) -> Iterator[ParsedFile]:
        """Reads a CSV file ``size`` rows at a time (:func:`read_csv_chunks`): the frames of
        :meth:`parse`, cut into chunks. Default line ids count an order's rows across chunks,
        and an order's row in its last chunk has its whole-file opening time and covers
        (:class:`OrderCarry`). A Parquet file is read whole, as one chunk."""
        if path.name.lower().endswith(PARQUET_SUFFIX):
            yield self.parse(path, ctx)
            return
        mapping, fields = _fields(path, ctx)
        numbering = Numbering()
        carry = OrderCarry()
        columns = tuple(dict.fromkeys(fields.values()))
        for table in read_csv_chunks(path, columns, size, ctx.encoding):
            checks = RowChecks.for_table(table)
            lines, covers = _Lines(
                path=path,
                frame=table.frame,
                fields=fields,
                mapping=mapping,
                checks=checks,
                ctx=ctx,
                numbering=numbering,
            ).build()
            orders = orders_from_lines(lines, covers, ctx.directory, carry)
            yield parsed_file(
                path, NAME, table.rows_read, table.rejects, orders=orders, lines=lines
            )


def _fields(path: Path, ctx: ParseContext) -> tuple[ColumnMapping, dict[str, str]]:
    """The file's mapping and its file column for each mapped field.

    Raises:
        ConfigError: no mapping, or a mapping that does not make sense for order lines.
    """
    mapping = ctx.mapping or _sibling_mapping(path)
    origin = "mapping" if ctx.mapping else str(mapping_path(path))
    fields = required_columns(mapping, REQUIRED_FIELDS, origin)
    if not any(name in mapping.columns for name in MONEY_FIELDS):
        raise ConfigError(
            f"{origin}: the mapping names no column for 'amount' (the line's net amount) or "
            "'unit_price' (amount = quantity x unit price); add one under [columns], or "
            "--map amount=<column>"
        )
    fields.update({k: v for k, v in mapping.columns.items() if k in OPTIONAL_FIELDS})
    if mapping.restaurant is None and Field.RESTAURANT_ID not in fields:
        raise ConfigError(
            f'{origin}: say whose lines these are: restaurant = "<id>", or a restaurant_id column'
        )
    return mapping, fields


def _sibling_mapping(path: Path) -> ColumnMapping:
    """The mapping file next to ``path``; ConfigError when there is none."""
    sibling = mapping_path(path)
    if not sibling.is_file():
        raise ConfigError(
            f"{display_path(path)}: no column mapping; write {sibling.name} next to it, or pass "
            "--mapping FILE or --map field=column"
        )
    return load_mapping(sibling)


# ------------------------------------------------------------------------------- reading


def _read(
    path: Path, columns: tuple[str, ...], rejects: Rejects, ctx: ParseContext
) -> tuple[pd.DataFrame, RowChecks]:
    """The file's rows (mapped columns as text; Parquet timestamps typed) and their checks."""
    if not path.name.lower().endswith(PARQUET_SUFFIX):
        table = read_csv_table(path, columns, rejects, ctx.encoding)
        return table.frame, RowChecks.for_table(table, rejects)
    frame = _read_parquet(path, columns)
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame, RowChecks(rows, lambda i: _raw_record(frame, columns, i), rejects)


def _read_parquet(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """The mapped columns of a Parquet file; ImportFileError when unreadable or missing."""
    where = display_path(path)
    try:
        names = pq.read_schema(path).names
        missing = [name for name in columns if name not in names]
        if missing:
            raise ImportFileError(where, "mapped column missing from the file", field=missing[0])
        table = pq.read_table(path, columns=list(columns))
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ImportFileError(where, f"not a readable Parquet file: {exc}") from exc
    frame = table.to_pandas()
    return pd.DataFrame({name: _parquet_column(frame[name]) for name in columns})


def _parquet_column(values: pd.Series) -> pd.Series:
    """A typed Parquet column as text (timestamps keep their type)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "true", False: "false"}).astype("str").fillna("")
    if pd.api.types.is_float_dtype(values):
        finite = values.where(np.isfinite(values))
        if bool((finite.dropna() == finite.dropna().round()).all()):
            whole = finite.where(finite.abs() < 1e15).astype("Int64")
            return whole.astype("str").fillna("")
    return values.astype("str").fillna("")


def _raw_record(frame: pd.DataFrame, columns: tuple[str, ...], i: int) -> str:
    """Row ``i`` of a Parquet frame as a CSV line, for a reject's ``raw``."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([str(frame[name].iat[i]) for name in columns])
    return buf.getvalue()


# ------------------------------------------------------------------------------ building


class _Lines:
    """Turns the mapped columns of one file into the ``lines`` frame and each line's covers."""

    def __init__(
        self,
        *,
        path: Path,
        frame: pd.DataFrame,
        fields: dict[str, str],
        mapping: ColumnMapping,
        checks: RowChecks,
        ctx: ParseContext,
        numbering: Numbering | None = None,
    ) -> None:
        self.path = path
        self.numbering = numbering
        self.frame = frame
        self.fields = fields
        self.mapping = mapping
        self.checks = checks
        self.ctx = ctx

    def column(self, name: str) -> pd.Series:
        """The file's column for a canonical field (blanks when not mapped)."""
        return optional_column(self.frame, self.fields.get(name))

    def build(self) -> tuple[pd.DataFrame, pd.Series | None]:
        """The ``lines`` frame and, when covers are mapped, each kept line's guest count."""
        restaurant = self._restaurants()
        order_id = self._required_text(Field.ORDER_ID, "missing order id")
        line_id = (
            self._required_text(Field.LINE_ID, "missing line id")
            if Field.LINE_ID in self.fields
            else order_id
            + ":"
            + number_within(restaurant.fillna(""), order_id, carry=self.numbering).astype("str")
        )
        ts_utc, business_date = self._times(restaurant)
        quantity = self._quantity()
        currency = currency_of(restaurant, self.ctx.directory)
        amount = self._amount(exponent_of(currency), quantity)
        kind = self._kinds()
        self._reject_negative_sales(kind, quantity, amount)
        covers = self._covers()
        lines = line_frame(
            self.checks,
            {
                c.RESTAURANT_ID: restaurant,
                c.SOURCE: self.mapping.source,
                c.ORDER_ID: order_id,
                c.LINE_ID: line_id,
                c.PARENT_LINE_ID: text(self.column(Field.PARENT_LINE_ID)),
                c.TS_UTC: ts_utc,
                c.BUSINESS_DATE: business_date,
                c.ITEM: text(self.column(Field.ITEM)),
                c.CATEGORY: text(self.column(Field.CATEGORY)),
                c.QUANTITY: quantity,
                c.NET_AMOUNT_MINOR: amount,
                c.CURRENCY: currency,
                c.KIND: kind,
            },
        )
        keep = self.checks.ok
        kept_covers = None if covers is None else covers[keep].reset_index(drop=True)
        return lines, kept_covers

    def _reject(self, bad: np.ndarray, name: str, reason: str) -> None:
        """Rejects rows under the file's column for a canonical field."""
        column = self.fields.get(name, name)
        self.checks.reject(bad, column, reason, self.column(name))

    def _required_text(self, name: str, reason: str) -> pd.Series:
        """A text field that must not be blank."""
        values = text(self.column(name))
        self._reject(is_blank(values), name, reason)
        return values

    def _restaurants(self) -> pd.Series:
        """Each row's restaurant: the mapping's fixed one, or the mapped column's."""
        fixed = self.mapping.restaurant
        if fixed is not None:
            info = self.ctx.directory.by_location(NAME, fixed)
            if info is None:
                raise ImportFileError(
                    display_path(self.path),
                    f"unknown restaurant {fixed!r} (the mapping's restaurant); import its "
                    "restaurants.csv row first",
                )
            return pd.Series(info.id, index=self.frame.index, dtype=object)
        values = self.column(Field.RESTAURANT_ID)
        restaurant, unknown = resolve_restaurants(values, NAME, self.ctx.directory)
        self._reject(unknown, Field.RESTAURANT_ID, "unknown restaurant")
        return restaurant

    def _times(self, restaurant: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Each line's UTC instant and business date, per the mapping's ``timezone``."""
        values = self.column(Field.TIMESTAMP)
        fmt, zone = self.mapping.timestamp_format, self.mapping.timezone
        if pd.api.types.is_datetime64_any_dtype(values):
            return self._typed_times(values, restaurant)
        if zone == "local":
            wall, bad = parse_timestamps(values, fmt)
            self._reject(bad, Field.TIMESTAMP, _time_reason(fmt, "a local time"))
            return localize_and_date(
                wall, restaurant.where(self.checks.ok, None), self.ctx.directory
            )
        utc, bad = parse_timestamps(values, fmt, utc=True, need_offset=zone == "offset")
        what = "a time with its UTC offset" if zone == "offset" else "a UTC time"
        self._reject(bad, Field.TIMESTAMP, _time_reason(fmt, what))
        rid = restaurant.where(self.checks.ok, None)
        return utc, date_from_utc(utc, rid, self.ctx.directory)

    def _typed_times(self, values: pd.Series, restaurant: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Timestamps of a typed (Parquet) column: zone-aware, or naive per ``timezone``."""
        aware = isinstance(values.dtype, pd.DatetimeTZDtype)
        local = not aware and self.mapping.timezone == "local"
        as_utc = values.dt.tz_convert("UTC") if aware else values.dt.tz_localize("UTC")
        as_utc = as_utc.where((as_utc >= _EARLIEST) & (as_utc < _LATEST))
        self._reject(as_utc.isna().to_numpy(dtype=bool), Field.TIMESTAMP, "missing or out of range")
        rid = restaurant.where(self.checks.ok, None)
        if local:
            wall = as_utc.dt.tz_localize(None).astype("datetime64[ns]")
            return localize_and_date(wall, rid, self.ctx.directory)
        utc = as_utc.astype("datetime64[ns, UTC]")
        return utc, date_from_utc(utc, rid, self.ctx.directory)

    def _amount(self, exponent: pd.Series, quantity: pd.Series) -> pd.Series:
        """Each line's net amount in minor units: the amount column, or quantity x unit price
        (the mapping's ``money`` says whether both are decimal or in minor units)."""
        minor = self.mapping.money == "minor"
        if Field.AMOUNT in self.fields:
            amount, bad = parse_money(self.column(Field.AMOUNT), exponent, minor=minor)
            self._reject(bad, Field.AMOUNT, f"not an amount ({self.mapping.money} money)")
            return amount
        # Unit prices may have more decimals than the currency (0.333): keep four more.
        extra = 4
        digits = (exponent * 0 if minor else exponent) + extra
        scaled, bad = parse_money(self.column(Field.UNIT_PRICE), digits, minor=False)
        self._reject(bad, Field.UNIT_PRICE, f"not a unit price ({self.mapping.money} money)")
        exact = scaled.to_numpy(dtype=np.float64) * quantity.to_numpy(dtype=np.float64)
        exact /= 10.0**extra
        rounded = np.sign(exact) * np.floor(np.abs(exact) + 0.5)
        return pd.Series(rounded.astype(np.int64), index=scaled.index)

    def _reject_negative_sales(
        self, kind: pd.Series, quantity: pd.Series, amount: pd.Series
    ) -> None:
        """A sale, comp or void with a negative quantity or amount is a refund or a discount
        that the mapping does not say: rejected, never counted as a sale."""
        selling = (kind != c.KIND_REFUND).to_numpy(dtype=bool)
        self._reject(
            selling & (quantity < 0).to_numpy(dtype=bool),
            Field.QUANTITY,
            "negative quantity on a sale line (a refund needs its kind mapped to refund)",
        )
        money = Field.AMOUNT if Field.AMOUNT in self.fields else Field.UNIT_PRICE
        self._reject(
            selling & (amount < 0).to_numpy(dtype=bool),
            money,
            "negative amount on a sale line (a refund needs its kind mapped to refund; a "
            "discount belongs in the line's net amount)",
        )

    def _quantity(self) -> pd.Series:
        """Each row's quantity (1 when the mapping has no quantity column)."""
        if Field.QUANTITY not in self.fields:
            return pd.Series(1.0, index=self.frame.index)
        quantity, bad = parse_quantity(self.column(Field.QUANTITY))
        self._reject(bad, Field.QUANTITY, "not a number")
        return quantity

    def _kinds(self) -> pd.Series:
        """Each row's kind: the file's value through the mapping's ``[kinds]`` table."""
        if Field.KIND not in self.fields:
            return pd.Series(c.KIND_SALE, index=self.frame.index, dtype=object)
        values = text(self.column(Field.KIND))
        table = {key.strip().lower(): kind for key, kind in self.mapping.kinds.items()}
        table.update({kind: kind for kind in c.LINE_KINDS if kind not in table})
        kind = values.str.lower().map(table).astype(object)
        self._reject(
            kind.isna().to_numpy(dtype=bool), Field.KIND, "unknown kind (add it under [kinds])"
        )
        return kind.where(kind.notna(), c.KIND_SALE)

    def _covers(self) -> pd.Series | None:
        """Each row's guest count (Int64), or None when covers are not mapped."""
        if Field.COVERS not in self.fields:
            return None
        covers, bad = parse_count(self.column(Field.COVERS))
        self._reject(bad, Field.COVERS, f"not a number of guests (0 to {MAX_COUNT})")
        return covers


def _time_reason(fmt: str | None, what: str) -> str:
    """The reject reason for a timestamp that does not parse."""
    return f"not {what} ({fmt or 'ISO 8601'})"


ADAPTER: Final = GenericAdapter()
