"""Machinery shared by the JSON adapters (Toast, Lightspeed, Clover).

Each vendor module walks its records with plain Python loops and appends what it finds to a
:class:`Builder`: one entry per order and per line, with values still raw (timestamp text or epoch
milliseconds, money as decimal text or minor units) and the JSON field path each came from.
:meth:`Builder.finish` then normalises every column at once with the vectorised helpers of
:mod:`pipelines.io.adapters.common`, turns bad values into rejects of their whole record, and
returns the frames of :class:`~pipelines.io.adapters.base.ParsedFile`.

A problem found while walking a record raises :class:`RecordError`; :meth:`Builder.run` catches it,
rejects the record and drops whatever the record had added so far, so a record is loaded whole or
not at all.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters import limits
from pipelines.io.adapters.base import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    Directory,
    ParsedFile,
    RestaurantInfo,
)
from pipelines.io.adapters.common import (
    Rejects,
    currency_of,
    date_from_utc,
    display_path,
    epoch_ms_to_utc,
    exponent_of,
    load_json,
    localize_and_date,
    parse_money,
    parse_number,
    parse_timestamps,
)

JsonObject = dict[str, Any]
"""A decoded JSON object."""

RECORD_FIELD = "$"
"""The field named in a reject when the record as a whole is wrong (JSONPath's root)."""

MAX_COUNT = 100_000
"""Guest counts above this are not believable."""

MAX_MINOR = 10**15
"""Amounts in minor units above this (in absolute value) are not believable."""

_EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
_LATEST = pd.Timestamp("2100-01-01", tz="UTC")
_OFFSET_RE = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"
_INT_RE = re.compile(r"-?[0-9]{1,18}")


class TimeFormat(Enum):
    """How a vendor writes instants."""

    ISO = "ISO 8601 text with a UTC offset"
    EPOCH_MS = "epoch milliseconds"
    LOCAL = "ISO 8601 local time of the restaurant (no UTC offset)"


class RecordError(Exception):
    """A problem with one record; the record becomes a reject.

    Args:
        field_path: The JSON field path within the record, e.g. ``checks[0].selections[2].price``.
        reason: What is wrong, in plain words.
    """

    def __init__(self, field_path: str, reason: str) -> None:
        super().__init__(reason)
        self.field_path = field_path
        self.reason = reason


# ------------------------------------------------------------------------- reading the file


def load_document(path: Path, encoding: str | None) -> Any:
    """Reads and decodes a JSON file.

    Raises:
        ImportFileError: unreadable, wrongly encoded, invalid or truncated JSON, numbers too long
            to read, or nesting too deep.
    """
    try:
        return load_json(path, encoding)
    except RecursionError as exc:
        raise ImportFileError(display_path(path), "JSON nested too deeply to read") from exc
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise ImportFileError(display_path(path), f"not readable JSON ({exc})") from exc


def top_object(path: Path, document: Any, what: str) -> JsonObject:
    """The document as a JSON object, or an :class:`ImportFileError` describing ``what``."""
    if not isinstance(document, dict):
        raise ImportFileError(display_path(path), f"expected {what}, found {json_type(document)}")
    return document


def top_list(path: Path, value: Any, field_name: str | None, what: str) -> list[Any]:
    """A top-level list of records, or an :class:`ImportFileError` naming the field."""
    if value is None and field_name is not None:
        raise ImportFileError(
            display_path(path), f"{what} missing from the top-level object", field=field_name
        )
    if not isinstance(value, list):
        raise ImportFileError(
            display_path(path), f"expected {what}, found {json_type(value)}", field=field_name
        )
    return value


def top_location(path: Path, document: JsonObject, field_name: str) -> str:
    """The file-wide POS location id, or an :class:`ImportFileError` naming the field."""
    value = document.get(field_name)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        found = "nothing" if value is None else json_type(value)
        raise ImportFileError(
            display_path(path),
            f"the location id is required for the whole file (found {found})",
            field=field_name,
        )
    return str(value).strip()


def json_type(value: Any) -> str:
    """The JSON type of a decoded value, in plain words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def raw_text(record: Any) -> str:
    """A record as JSON text, for the ``raw`` column of a reject."""
    try:
        return json.dumps(record, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return repr(record)[:10_000]


class StreamFailed(Exception):
    """The streaming reader could not go on (bad JSON, bytes, size or number): the caller reads
    the file whole instead, which names the problem exactly (or reads what ijson cannot)."""


class _Stream(io.RawIOBase):
    """A file's (gunzipped) bytes without a UTF-8 BOM, refusing to go past the size limit."""

    def __init__(self, path: Path) -> None:
        opened = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
        self._fh: Any = opened  # closed by close()
        self._left = limits.current().max_file_bytes
        head = self._fh.read(3)
        self._head = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        self._left -= len(self._head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self._head:
            n = min(len(view), len(self._head))
            view[:n], self._head = self._head[:n], self._head[n:]
            return n
        n = self._fh.readinto(view)
        self._left -= n or 0
        if self._left < 0:
            raise StreamFailed("over the size limit")
        return n or 0

    def close(self) -> None:
        self._fh.close()
        super().close()


def stream_items(path: Path, encoding: str | None, prefix: str) -> Generator[Any, None, None]:
    """The values at ``prefix`` of a JSON file (ijson's prefixes: ``item`` for the elements of a
    top-level array, ``orders.item`` for those of the top-level object's ``orders``), decoded one
    at a time, so memory holds one of them rather than the document.

    Raises:
        StreamFailed: the file is not UTF-8 (or ``encoding`` names another encoding), cannot be
            read, is over the size limit, or is not JSON ijson reads; read it whole instead (see
            :func:`load_document`), skipping the values already taken.
    """
    import ijson

    if encoding is not None and encoding.lower().replace("_", "-") not in _UTF8:
        raise StreamFailed(f"encoding {encoding}")
    try:
        with _Stream(path) as fh:
            yield from ijson.items(fh, prefix, use_float=True)
    except (ijson.JSONError, OSError, EOFError, zlib.error, ValueError, OverflowError) as exc:
        raise StreamFailed(str(exc)) from exc


_UTF8 = frozenset({"utf-8", "utf8", "utf-8-sig"})


def stream_again(path: Path, encoding: str | None, prefix: str) -> Iterator[Any]:
    """:func:`stream_items` for a second pass over a file a first pass read to its end.

    Raises:
        ImportFileError: the stream now fails: the file changed in between.
    """
    try:
        yield from stream_items(path, encoding, prefix)
    except StreamFailed as exc:
        raise ImportFileError(
            display_path(path), f"the file changed while it was read ({exc})"
        ) from exc


MISSING: Any = object()
"""What :func:`first_item` returns when the file has no value at the prefix."""


def first_item(path: Path, encoding: str | None, prefix: str) -> Any:
    """The first value at ``prefix`` (see :func:`stream_items`), or :data:`MISSING`; reads the
    file only as far as that value.

    Raises:
        StreamFailed: as :func:`stream_items`.
    """
    values = stream_items(path, encoding, prefix)
    try:
        return next(values, MISSING)
    finally:
        values.close()


# ----------------------------------------------------------------- reading values in a record


def join(path: str, key: str) -> str:
    """The field path of ``key`` inside the object at ``path``."""
    return f"{path}.{key}" if path else key


def index(path: str, key: str, i: int) -> str:
    """The field path of element ``i`` of the array ``key`` inside the object at ``path``."""
    return f"{join(path, key)}[{i}]"


def as_object(value: Any, path: str) -> JsonObject:
    """``value`` if it is a JSON object, else a :class:`RecordError`."""
    if not isinstance(value, dict):
        raise RecordError(path or RECORD_FIELD, f"expected an object, found {json_type(value)}")
    return value


def get_list(obj: JsonObject, key: str, path: str, *, required: bool = False) -> list[Any]:
    """The array ``obj[key]``; a missing or null one is empty unless ``required``."""
    value = obj.get(key)
    if value is None:
        if required:
            raise RecordError(join(path, key), "missing")
        return []
    if not isinstance(value, list):
        raise RecordError(join(path, key), f"expected an array, found {json_type(value)}")
    return value


def get_objects(
    obj: JsonObject, key: str, path: str, *, required: bool = False
) -> list[JsonObject]:
    """The array of objects ``obj[key]``; a missing or null one is empty unless ``required``."""
    values = get_list(obj, key, path, required=required)
    for i, value in enumerate(values):
        if not isinstance(value, dict):
            as_object(value, index(path, key, i))  # raises, naming the element
    return values


def get_object(obj: JsonObject, key: str, path: str) -> JsonObject | None:
    """The object ``obj[key]``, or None when missing or null."""
    value = obj.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise RecordError(join(path, key), f"expected an object, found {json_type(value)}")


def get_id(obj: JsonObject, key: str, path: str) -> str:
    """A required id (a non-blank string or an integer) as text."""
    value = obj.get(key)
    if value is None:
        raise RecordError(join(path, key), "missing")
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        raise RecordError(join(path, key), f"expected an id, found {json_type(value)}")
    if not text:
        raise RecordError(join(path, key), "blank")
    return text


def get_optional_id(obj: JsonObject, key: str, path: str) -> str | None:
    """An optional id as text (None when missing, null or blank)."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    return get_id(obj, key, path)


def get_optional_text(obj: JsonObject, key: str, path: str) -> str | None:
    """A string field, stripped; None when missing, null or blank."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(join(path, key), f"expected a string, found {json_type(value)}")
    return value.strip() or None


def get_text(obj: JsonObject, key: str, path: str) -> str:
    """A required, non-blank string field, stripped."""
    text = get_optional_text(obj, key, path)
    if text is None:
        raise RecordError(join(path, key), "missing" if obj.get(key) is None else "blank")
    return text


def get_flag(obj: JsonObject, key: str, path: str, *, default: bool = False) -> bool:
    """A boolean field; missing or null gives ``default``."""
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RecordError(join(path, key), f"expected true or false, found {json_type(value)}")
    return value


def get_optional_decimal(obj: JsonObject, key: str, path: str) -> str | None:
    """A decimal number (a JSON number or a decimal string) as text; None when missing or null.

    Floats are written back in their shortest exact form (``12.35``, not ``12.3499...``), so money
    rounds as the vendor wrote it. Whether a string is a valid number is checked later, vectorised.
    """
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(join(path, key), f"expected a number, found {json_type(value)}")
    if isinstance(value, int):
        if abs(value) > MAX_MINOR:
            raise RecordError(join(path, key), f"number out of range: {value}")
        return str(value)
    text = repr(value)
    if "e" in text and math.isfinite(value):
        text = format(value, "f")
    return text


def get_decimal(obj: JsonObject, key: str, path: str) -> str:
    """A required decimal number as text (see :func:`get_optional_decimal`)."""
    text = get_optional_decimal(obj, key, path)
    if text is None:
        raise RecordError(join(path, key), "missing")
    return text


def get_optional_int(obj: JsonObject, key: str, path: str) -> int | None:
    """A whole number (cents, epoch milliseconds, thousandths); None when missing or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        if not _INT_RE.fullmatch(value.strip()):
            raise RecordError(join(path, key), f"not a whole number: {value!r}")
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(join(path, key), f"expected a whole number, found {json_type(value)}")
    if abs(value) > MAX_MINOR:
        raise RecordError(join(path, key), f"number out of range: {value}")
    return value


def get_int(obj: JsonObject, key: str, path: str) -> int:
    """A required whole number (see :func:`get_optional_int`)."""
    value = get_optional_int(obj, key, path)
    if value is None:
        raise RecordError(join(path, key), "missing")
    return value


def get_count(obj: JsonObject, key: str, path: str) -> int | None:
    """A guest count: a non-negative whole number, or None when missing or null."""
    value = get_optional_int(obj, key, path)
    if value is not None and not 0 <= value <= MAX_COUNT:
        raise RecordError(join(path, key), f"not a plausible guest count: {value}")
    return value


def get_instant(obj: JsonObject, key: str, path: str, time_format: TimeFormat) -> str | int:
    """A required timestamp, raw: ISO text (checked later, vectorised) or epoch milliseconds."""
    if time_format is TimeFormat.EPOCH_MS:
        return get_int(obj, key, path)
    return get_text(obj, key, path)  # ISO or LOCAL: text


# --------------------------------------------------------------------------- the builder

# Names of the raw columns that have no canonical constant (fields of the column classes below).
_OPENED = "opened"
_OPENED_FIELD = "opened_field"
_TS = "ts"
_TS_FIELD = "ts_field"
_AT = "at"
_QUANTITY_KEY = "quantity_key"
_AMOUNT = "amount"
_AMOUNT_KEY = "amount_key"
_COMP_BASIS = "comp_basis"
_COMP_BASIS_KEY = "comp_basis_key"
_NET = "net"
_NET_FIELD = "net_field"


@dataclass
class _OrderColumns:
    """Orders as parallel lists, values still raw."""

    row: list[int] = field(default_factory=list)
    restaurant_id: list[str] = field(default_factory=list)
    order_id: list[str] = field(default_factory=list)
    opened: list[str | int] = field(default_factory=list)
    opened_field: list[str] = field(default_factory=list)
    covers: list[int | None] = field(default_factory=list)
    net: list[str | int | None] = field(default_factory=list)
    net_field: list[str] = field(default_factory=list)


@dataclass
class _LineColumns:
    """Lines as parallel lists, values still raw."""

    row: list[int] = field(default_factory=list)
    restaurant_id: list[str] = field(default_factory=list)
    order_id: list[str] = field(default_factory=list)
    line_id: list[str] = field(default_factory=list)
    parent_line_id: list[str | None] = field(default_factory=list)
    ts: list[str | int] = field(default_factory=list)
    ts_field: list[str] = field(default_factory=list)
    item: list[str | None] = field(default_factory=list)
    category: list[str | None] = field(default_factory=list)
    at: list[str] = field(default_factory=list)
    quantity: list[str] = field(default_factory=list)
    quantity_key: list[str] = field(default_factory=list)
    amount: list[str | int] = field(default_factory=list)
    amount_key: list[str] = field(default_factory=list)
    comp_basis: list[str | None] = field(default_factory=list)
    comp_basis_key: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)


def _truncate(columns: _OrderColumns | _LineColumns, length: int) -> None:
    """Drops the entries from ``length`` on (a rejected record's)."""
    for f in fields(columns):
        del getattr(columns, f.name)[length:]


def _frame(columns: _OrderColumns | _LineColumns) -> pd.DataFrame:
    """The raw columns as a frame of Python objects."""
    return pd.DataFrame(
        {f.name: pd.Series(getattr(columns, f.name), dtype=object) for f in fields(columns)}
    )


@dataclass(slots=True)
class Line:
    """One line as a vendor module found it.

    Field paths of the values are kept as the object's path plus a key, and only joined for a
    reject, so a large file does not pay for formatting a path per value.

    Attributes:
        line_id: The line id.
        parent_line_id: The parent line's id for a modifier, else None.
        ts: The instant: ISO text, or epoch milliseconds.
        ts_field: The full field path ``ts`` came from (often the order's opening time).
        item: The item's name.
        category: The item's category.
        at: The field path of the JSON object the line came from.
        quantity: The quantity as decimal text.
        quantity_key: The key of ``quantity`` in that object ("" for the object itself).
        amount: Net amount after discounts, before tax: decimal text in major units, or an int
            in minor units when the vendor writes minor units.
        amount_key: The key of ``amount`` in that object.
        kind: ``sale``, ``void``, ``refund`` or ``comp``. A ``sale`` whose net amount is 0 while
            ``comp_basis`` is not becomes a ``comp``; a ``refund``'s amount and quantity are made
            negative.
        comp_basis: Decimal text of the gross or discount that makes a zero-net sale a comp.
        comp_basis_key: The key of ``comp_basis`` in that object.
    """

    line_id: str
    parent_line_id: str | None
    ts: str | int
    ts_field: str
    item: str | None
    category: str | None
    at: str
    quantity: str
    quantity_key: str
    amount: str | int
    amount_key: str
    kind: str
    comp_basis: str | None = None
    comp_basis_key: str = ""


class Builder:
    """Collects one file's orders and lines, then normalises them into a :class:`ParsedFile`.

    Args:
        source: The vendor (the ``source`` column, and the ``pos_provider`` its locations are
            looked up under), e.g. ``square``.
        directory: The known restaurants.
        time_format: How the vendor writes instants.
        minor_units: Whether amounts are integers in minor units (else decimal text).
        format_name: The ``--format`` name of the file, when not the vendor's name (e.g.
            ``square_orders``).
    """

    def __init__(
        self,
        source: str,
        directory: Directory,
        time_format: TimeFormat,
        *,
        minor_units: bool,
        format_name: str | None = None,
    ) -> None:
        self.source = source
        self.format_name = format_name or source
        self.directory = directory
        self.time_format = time_format
        self.minor_units = minor_units
        self.rejects = Rejects()
        self._orders = _OrderColumns()
        self._lines = _LineColumns()
        self._records: Sequence[Any] = ()
        self._rejected: set[int] = set()
        self._row = 0
        self._offset = 0  # records of the file before the current chunk
        self._restaurant: RestaurantInfo | None = None
        self._order_id = ""
        self._locations: dict[str, RestaurantInfo | None] = {}

    # ----------------------------------------------------------------- used while walking

    def restaurant(self, location: str, field_path: str) -> RestaurantInfo:
        """The restaurant of a POS location; unknown locations reject the record."""
        if location not in self._locations:
            self._locations[location] = self.directory.by_location(self.source, location)
        info = self._locations[location]
        if info is None:
            raise RecordError(
                field_path,
                f"unknown location {location!r}: no restaurant has pos_provider {self.source} "
                "and this pos_location_id",
            )
        return info

    def add_order(
        self,
        restaurant: RestaurantInfo,
        order_id: str,
        opened: str | int,
        opened_field: str,
        covers: int | None,
        *,
        net: str | int | None = None,
        net_field: str = "",
    ) -> None:
        """Adds the current record's order; lines added after it belong to it.

        Args:
            restaurant: The order's restaurant.
            order_id: The order id.
            opened: When the order opened (raw, in the builder's time format).
            opened_field: The field path ``opened`` came from.
            covers: The order's guests, or None when the source has no count.
            net: The order's net sales (decimal text, or minor units when the builder reads minor
                units), for sources that give order totals and no lines; None otherwise.
            net_field: The field path ``net`` came from.
        """
        o = self._orders
        o.row.append(self._row)
        o.restaurant_id.append(restaurant.id)
        o.order_id.append(order_id)
        o.opened.append(opened)
        o.opened_field.append(opened_field)
        o.covers.append(covers)
        o.net.append(net)
        o.net_field.append(net_field)
        self._restaurant = restaurant
        self._order_id = order_id

    def add_line(self, line: Line) -> None:
        """Adds a line to the current order."""
        if self._restaurant is None:
            raise RecordError(RECORD_FIELD, "a line came before its order")  # a vendor-module bug
        x = self._lines
        x.row.append(self._row)
        x.restaurant_id.append(self._restaurant.id)
        x.order_id.append(self._order_id)
        x.line_id.append(line.line_id)
        x.parent_line_id.append(line.parent_line_id)
        x.ts.append(line.ts)
        x.ts_field.append(line.ts_field)
        x.item.append(line.item)
        x.category.append(line.category)
        x.at.append(line.at)
        x.quantity.append(line.quantity)
        x.quantity_key.append(line.quantity_key)
        x.amount.append(line.amount)
        x.amount_key.append(line.amount_key)
        x.comp_basis.append(line.comp_basis)
        x.comp_basis_key.append(line.comp_basis_key)
        x.kind.append(line.kind)

    # ------------------------------------------------------------------------- walking

    def run(self, records: Sequence[Any], walk: Callable[[Builder, JsonObject], None]) -> None:
        """Walks every record with ``walk``; a :class:`RecordError` rejects that record whole."""
        self._records = records
        for row, record in enumerate(records, start=self._offset + 1):
            self._walk(row, record, walk)

    def _walk(self, row: int, record: Any, walk: Callable[[Builder, JsonObject], None]) -> None:
        self._row = row
        self._restaurant = None
        marks = (len(self._orders.row), len(self._lines.row))
        try:
            walk(self, as_object(record, RECORD_FIELD))
        except RecordError as exc:
            _truncate(self._orders, marks[0])
            _truncate(self._lines, marks[1])
            self.reject(row, exc.field_path, exc.reason)

    @property
    def position(self) -> int:
        """The 0-based position in the file of the record being walked (its row less one)."""
        return self._row - 1

    def reject(self, row: int, field_path: str, reason: str) -> None:
        """Rejects record ``row`` (1-based), once."""
        if row in self._rejected:
            return
        self._rejected.add(row)
        at = row - 1 - self._offset
        record = self._records[at] if 0 <= at < len(self._records) else None
        self.rejects.add(row, field_path, reason, raw_text(record))

    def run_chunks(
        self,
        records: Iterable[Any],
        walk: Callable[[Builder, JsonObject], None],
        path: Path,
        size: int,
    ) -> Iterator[ParsedFile]:
        """Walks and normalises the records a chunk at a time: one :class:`ParsedFile` per chunk
        (at least one), whose row numbers count from the file's first record, so memory holds one
        chunk's records and frames, not the file's.

        A chunk ends after ``size`` records or once its records made ``size`` lines, whichever
        comes first: an order of one vendor carries a few lines and little else, of another
        dozens of lines and kilobytes of metadata, and the lines are the rows that get loaded.

        Args:
            records: The file's records, in order (e.g. streamed by :func:`stream_items`).
            walk: Adds one record's order and lines.
            path: The file.
            size: Records, or lines, per chunk.
        """
        pending = iter(records)
        first = True
        while True:
            self.rejects = Rejects()
            self._orders, self._lines = _OrderColumns(), _LineColumns()
            self._rejected = set()
            chunk: list[Any] = []
            self._records = chunk
            for record in pending:
                chunk.append(record)
                self._walk(self._offset + len(chunk), record, walk)
                if len(chunk) >= size or len(self._lines.row) >= size:
                    break
            if not chunk and not first:
                return
            parsed = self.finish(path)
            self._offset += len(chunk)
            self._records = ()
            yield parsed
            first = False
            if len(chunk) < size and len(self._lines.row) < size:
                return  # the records ran out

    # ---------------------------------------------------------------------- normalising

    def finish(self, path: Path) -> ParsedFile:
        """Normalises what was collected into frames; bad values reject their record."""
        orders, lines = _frame(self._orders), _frame(self._lines)
        self._screen(orders, (c.ORDER_ID,), None)
        self._screen(lines, (c.LINE_ID, c.PARENT_LINE_ID, c.ITEM, c.CATEGORY), _AT)
        opened_utc = self._instants(orders, _OPENED, _OPENED_FIELD)
        ts_utc = self._instants(lines, _TS, _TS_FIELD)
        quantity = self._quantities(lines)
        currency = currency_of(lines[c.RESTAURANT_ID], self.directory)
        amount, basis = self._amounts(lines, currency)
        order_net = self._order_nets(orders)
        keep_orders = ~orders[c.REJECT_ROW].isin(self._rejected).to_numpy(dtype=bool)
        keep_lines = ~lines[c.REJECT_ROW].isin(self._rejected).to_numpy(dtype=bool)
        return ParsedFile(
            path=display_path(path),
            format=self.format_name,
            rows_read=len(self._records),
            orders=self._order_frame(
                orders[keep_orders], opened_utc[keep_orders], order_net[keep_orders]
            ),
            lines=self._line_frame(
                lines[keep_lines],
                ts_utc=ts_utc[keep_lines],
                quantity=quantity[keep_lines],
                amount=amount[keep_lines],
                basis=basis[keep_lines],
                currency=currency[keep_lines],
            ),
            rejects=self.rejects.frame()
            .sort_values(c.REJECT_ROW, kind="stable")
            .reset_index(drop=True),
        )

    def _screen(self, frame: pd.DataFrame, columns: tuple[str, ...], at_col: str | None) -> None:
        """Rejects the records whose text cannot be stored (:func:`limits.text_problems`): an id
        longer than its column, a name over the limit, a NUL byte."""
        for name in columns:
            for bad, reason in limits.text_problems(frame[name], name):
                rows = frame[c.REJECT_ROW].to_numpy()
                at = frame[at_col].to_numpy() if at_col else None
                for i in np.flatnonzero(bad):
                    where = join(str(at[i]), name) if at is not None else name
                    self.reject(int(rows[i]), where, reason)

    def _reject_mask(
        self,
        frame: pd.DataFrame,
        bad: np.ndarray,
        value_col: str,
        field_col: str,
        what: str,
        *,
        relative: bool = False,
    ) -> None:
        """Rejects the records of the rows where ``bad`` is true.

        Args:
            frame: Orders or lines.
            bad: Which rows hold a bad value.
            value_col: The column of raw values (quoted in the reason).
            field_col: The column of their field paths, or of their keys if ``relative``.
            what: The reason, before the value.
            relative: ``field_col`` holds keys inside the object at the ``at`` column.
        """
        positions = np.flatnonzero(bad)
        if positions.size == 0:
            return
        rows = frame[c.REJECT_ROW].to_numpy()
        values = frame[value_col].to_numpy()
        field_paths = frame[field_col].to_numpy()
        at = frame[_AT].to_numpy() if relative else None
        for i in positions:
            where = str(field_paths[i])
            if at is not None:
                where = join(str(at[i]), where) if where else str(at[i])
            self.reject(int(rows[i]), where, f"{what}: {values[i]!r}")

    def _instants(self, frame: pd.DataFrame, value_col: str, field_col: str) -> pd.Series:
        """Parses a column of instants to UTC; bad ones reject their record."""
        values = frame[value_col]
        if self.time_format is TimeFormat.EPOCH_MS:
            ts, bad_s = epoch_ms_to_utc(values.astype("float64"))
            bad = bad_s.to_numpy(dtype=bool, copy=True)
        elif self.time_format is TimeFormat.LOCAL:
            naive, bad = parse_timestamps(values.astype("string"))
            bad = bad.copy()
            ts, _ = localize_and_date(naive.where(~bad), frame[c.RESTAURANT_ID], self.directory)
        else:
            text = values.astype("string")
            ts = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
            has_offset = text.str.strip().str.contains(_OFFSET_RE, regex=True)
            bad = (ts.isna() | ~has_offset.fillna(False).astype(bool)).to_numpy(dtype=bool)
        bad = bad | ((ts < _EARLIEST) | (ts >= _LATEST)).fillna(False).to_numpy(dtype=bool)
        self._reject_mask(frame, bad, value_col, field_col, f"not a valid {self.time_format.value}")
        return ts.where(~bad).astype("datetime64[ns, UTC]")

    def _quantities(self, frame: pd.DataFrame) -> pd.Series:
        num, bad_s = parse_number(frame[c.QUANTITY])
        bad = bad_s.to_numpy(dtype=bool) | (num.abs() > MAX_MINOR).to_numpy(dtype=bool)
        self._reject_mask(
            frame, bad, c.QUANTITY, _QUANTITY_KEY, "not a valid quantity", relative=True
        )
        return num.where(~bad, 0.0).astype("float64")

    def _amounts(self, frame: pd.DataFrame, currency: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Net amounts and comp bases in minor units (0 where absent); bad ones reject the record.

        Both columns go through one :func:`parse_money` call (its set-up dominates small files).
        """
        columns = [(_COMP_BASIS, _COMP_BASIS_KEY)]
        if not self.minor_units:
            columns.insert(0, (_AMOUNT, _AMOUNT_KEY))
        texts = [frame[value_col] for value_col, _ in columns]
        present = [t.notna().to_numpy(dtype=bool) for t in texts]
        results = [np.zeros(len(frame), dtype=np.int64) for _ in columns]
        if any(p.any() for p in present):
            exponent = exponent_of(currency)
            parsed, bad_s = parse_money(
                pd.concat([t[p] for t, p in zip(texts, present, strict=True)], ignore_index=True),
                pd.concat([exponent[p] for p in present], ignore_index=True),
            )
            start = 0
            for (value_col, field_col), p, result in zip(columns, present, results, strict=True):
                stop = start + int(p.sum())
                bad = np.zeros(len(frame), dtype=bool)
                bad[p] = bad_s[start:stop]
                self._reject_mask(
                    frame, bad, value_col, field_col, "not a valid amount", relative=True
                )
                result[p] = parsed.to_numpy(dtype=np.int64)[start:stop]
                result[bad] = 0
                start = stop
        if self.minor_units:  # amounts were checked to be whole minor units while walking
            results.insert(0, frame[_AMOUNT].to_numpy(dtype=np.int64))
        amount, basis = (pd.Series(r, index=frame.index, dtype=np.int64) for r in results)
        return amount, basis

    def _order_nets(self, orders: pd.DataFrame) -> pd.Series:
        """Order-level net sales in minor units (NA where absent); bad ones reject the record."""
        values = orders[_NET]
        present = values.notna().to_numpy(dtype=bool)
        out = pd.Series(pd.NA, index=orders.index, dtype="Int64")
        if not present.any():
            return out
        if self.minor_units:
            out[present] = values[present].astype(np.int64).to_numpy()
            return out
        currency = currency_of(orders[c.RESTAURANT_ID][present], self.directory)
        parsed, bad_s = parse_money(values[present].astype("string"), exponent_of(currency))
        bad = np.zeros(len(orders), dtype=bool)
        bad[present] = bad_s
        self._reject_mask(orders, bad, _NET, _NET_FIELD, "not a valid amount")
        out[present] = parsed.to_numpy(dtype=np.int64)
        return out.where(~bad, pd.NA)

    def _order_frame(
        self, orders: pd.DataFrame, opened_utc: pd.Series, net: pd.Series
    ) -> pd.DataFrame:
        bdate = date_from_utc(opened_utc, orders[c.RESTAURANT_ID], self.directory)
        out = pd.DataFrame(
            {
                c.RESTAURANT_ID: orders[c.RESTAURANT_ID].astype(object),
                c.SOURCE: pd.Series(self.source, index=orders.index, dtype=object),
                c.ORDER_ID: orders[c.ORDER_ID].astype(object),
                c.OPENED_AT_UTC: opened_utc.astype("datetime64[ns, UTC]"),
                c.BUSINESS_DATE: bdate.astype("datetime64[ns]"),
                c.COVERS: pd.array(orders[c.COVERS].to_list(), dtype="Int64"),
                c.NET_AMOUNT_MINOR: net.astype("Int64"),
            },
            index=orders.index,
        )
        return out.loc[:, list(ORDER_COLUMNS)].reset_index(drop=True)

    def _line_frame(
        self,
        lines: pd.DataFrame,
        *,
        ts_utc: pd.Series,
        quantity: pd.Series,
        amount: pd.Series,
        basis: pd.Series,
        currency: pd.Series,
    ) -> pd.DataFrame:
        kind = lines[c.KIND].to_numpy(dtype=object)
        comp = (kind == c.KIND_SALE) & (amount.to_numpy() == 0) & (basis.to_numpy() != 0)
        kind = np.where(comp, c.KIND_COMP, kind)
        refund = kind == c.KIND_REFUND
        amt = amount.to_numpy(dtype=np.int64)
        qty = quantity.to_numpy(dtype=np.float64)
        amt = np.where(refund & (amt > 0), -amt, amt)
        qty = np.where(refund & (qty > 0), -qty, qty)
        bdate = date_from_utc(ts_utc, lines[c.RESTAURANT_ID], self.directory)
        out = pd.DataFrame(
            {
                c.RESTAURANT_ID: lines[c.RESTAURANT_ID].astype(object),
                c.SOURCE: pd.Series(self.source, index=lines.index, dtype=object),
                c.ORDER_ID: lines[c.ORDER_ID].astype(object),
                c.LINE_ID: lines[c.LINE_ID].astype(object),
                c.PARENT_LINE_ID: lines[c.PARENT_LINE_ID].astype(object),
                c.TS_UTC: ts_utc.astype("datetime64[ns, UTC]"),
                c.BUSINESS_DATE: bdate.astype("datetime64[ns]"),
                c.ITEM: lines[c.ITEM].astype(object),
                c.CATEGORY: lines[c.CATEGORY].astype(object),
                c.QUANTITY: pd.Series(qty, index=lines.index, dtype="float64"),
                c.NET_AMOUNT_MINOR: pd.Series(amt, index=lines.index, dtype="int64"),
                c.CURRENCY: currency.astype(object),
                c.KIND: pd.Series(kind, index=lines.index, dtype=object),
            },
            index=lines.index,
        )
        return out.loc[:, list(LINE_COLUMNS)].reset_index(drop=True)


def sniff_json(path: Path, head: str, opener: str, markers: Sequence[Sequence[str]]) -> bool:
    """Whether ``head`` starts a JSON document with ``opener`` and has every key of one group.

    Args:
        path: The file (a ``.csv`` or ``.parquet`` name is never JSON).
        head: The first few KB of text.
        opener: ``[`` or ``{``.
        markers: Groups of key names; the file matches if all keys of any group appear quoted.
    """
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".parquet")):
        return False
    text = head.lstrip("\ufeff \t\r\n")
    if not text.startswith(opener):
        return False
    return any(all(f'"{key}"' in text for key in group) for group in markers)
