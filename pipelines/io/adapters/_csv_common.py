"""Machinery shared by the CSV-shaped adapters: Square, Revel, generic, series and metadata.

Each adapter reads its file into a frame of strings (:func:`common.read_csv_table`, or a chunk at a
time with :func:`read_csv_chunks` for the adapters that stream), then checks
and converts whole columns at once. A row with a bad value is rejected through :class:`RowChecks`
with the file's column name and a plain reason; a row is rejected once, for its first problem, and
the rest of the file still loads. :func:`line_frame` and :func:`orders_from_lines` give the
normalised frames of :mod:`pipelines.io.adapters.base` their exact columns and dtypes.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters import _fast_csv, limits
from pipelines.io.adapters.base import LINE_COLUMNS, ORDER_COLUMNS, Directory, ParsedFile
from pipelines.io.adapters.common import (
    RAW_COLUMN,
    ROW_COLUMN,
    CsvTable,
    Rejects,
    check_header,
    check_width,
    date_from_utc,
    display_path,
    not_in_encoding,
    parse_money,
    resolve_locations,
    too_large,
)
from pipelines.io.keyindex import KeyIndex, grown, key_hashes

MAX_COUNT = 100_000
"""Guest counts above this are not believable."""

MAX_QUANTITY = 1e9
"""Quantities above this (in absolute value) are not believable."""

_OFFSET_RE = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"


# ------------------------------------------------------------------------------ sniffing


def header_fields(head: str) -> set[str]:
    """The column names in the first line of ``head`` (empty when it is not CSV-like).

    NUL bytes and a leading byte-order mark are ignored, so a file in the wrong encoding (UTF-16)
    is still recognised, and then fails to import with a message about its encoding.
    """
    text = head.replace("\x00", "").lstrip("\ufeff\ufffd\ufffe")
    first = text.splitlines()[0] if text.strip() else ""
    try:
        row = next(csv.reader(io.StringIO(first)), [])
    except csv.Error:
        return set()
    return {name.strip() for name in row}


SNIFF_SHARE: Final = 0.6
"""The share of a format's columns a header must have to be recognised as that format.

Less than all of them, so a file missing a column is still recognised, and then fails to import
with a message naming the missing column rather than being skipped.
"""


def header_share(head: str, columns: Collection[str]) -> float:
    """The share of ``columns`` that the first line of ``head`` has."""
    return len(header_fields(head) & set(columns)) / len(columns)


def looks_like(head: str, columns: Collection[str]) -> bool:
    """Whether the first line of ``head`` has most of ``columns`` (see :data:`SNIFF_SHARE`)."""
    return header_share(head, columns) >= SNIFF_SHARE


def data_stem(path: Path) -> str:
    """The file name without its data suffixes: ``lines.csv.gz`` → ``lines``."""
    name = path.name
    for suffix in (".gz", ".csv", ".parquet", ".json"):
        name = name.removesuffix(suffix) if name.lower().endswith(suffix) else name
    return name


# ------------------------------------------------------------------------- chunked reading

_BLOCK_BYTES: Final = 1 << 20
"""Bytes read (and decoded) at a time by :func:`read_csv_chunks`."""


def read_csv_chunks(
    path: Path, required: tuple[str, ...], size: int, encoding: str | None = None
) -> Iterator[CsvTable]:
    """Reads a CSV file as strings ``size`` records at a time: one :class:`CsvTable` per chunk
    (at least one), holding one chunk's rows in memory, never the file's.

    Each chunk is what :func:`common.read_csv_table` gives for those records: the same rows,
    row numbers (the file's, the header being row 1), raw texts, and rejects of rows with the
    wrong number of fields (each chunk has its own :class:`Rejects`). The text is decoded a
    block at a time; a chunk of plain lines (one record per line, see
    :func:`_fast_csv.read_plain`) is split by pyarrow, and from the first chunk that is not
    plain on (a line break inside quotes, a stray quote) the rest of the file is read with the
    ``csv`` module, which reads anything.

    Raises:
        ImportFileError: unreadable file, invalid text in the encoding (naming its row), larger
            than ``limits.max_file_mb``, empty file, or a required column missing.
    """
    cap = limits.current().max_file_bytes
    csv.field_size_limit(max(csv.field_size_limit(), min(cap + 1, 2**31 - 1)))
    lines = _text_lines(path, encoding)
    first = next(lines, None)
    try:
        if first is None or '"' in first:  # no header, or one that may span lines
            whole = itertools.chain(() if first is None else (first,), lines)
            yield from _csv_module_chunks(path, whole, required, size, None)
            return
        header = check_header(path, next(csv.reader([first]), None), required)
        consumed, yielded = 0, False  # data lines read so far
        while True:
            block = list(itertools.islice(lines, size))
            plain = _fast_csv.read_plain(first + "".join(block), header, ROW_COLUMN, RAW_COLUMN)
            if plain is None:
                rest = itertools.chain(block, lines)
                started = (header, consumed, yielded)
                yield from _csv_module_chunks(path, rest, required, size, started)
                return
            frame, others = plain
            frame[ROW_COLUMN] += consumed
            rejects = Rejects()
            for row_no, line in others:
                check_width(next(csv.reader([line]), []), header, row_no + consumed, line, rejects)
            if block or not yielded:
                yield CsvTable(path, header, frame, rejects, malformed=len(rejects))
                yielded = True
            consumed += len(block)
            if len(block) < size:
                return
    except csv.Error as exc:
        raise ImportFileError(display_path(path), f"not a readable CSV file: {exc}") from exc


def _csv_module_chunks(
    path: Path,
    lines: Iterator[str],
    required: tuple[str, ...],
    size: int,
    started: tuple[list[str], int, bool] | None,
) -> Iterator[CsvTable]:
    """The chunks of :func:`read_csv_chunks` read with the ``csv`` module: from the header
    (``started`` None), or after the header and the data lines already read (``started``:
    the header, how many lines, whether a chunk was yielded), the next line starting a
    record."""
    pending: list[str] = []  # the physical lines of the record being read

    def tracked() -> Iterator[str]:
        for line in lines:
            pending.append(line)
            yield line

    reader = csv.reader(tracked())
    if started is None:
        header = check_header(path, next(reader, None), required)
        row_no = 1
    else:
        header, row_no = started[0], started[1] + 1
    pending.clear()
    chunk, yielded = _Chunk(), started is not None and started[2]
    for fields in reader:
        row_no += 1
        raw = "".join(pending).removesuffix("\n").removesuffix("\r")
        pending.clear()
        chunk.add(fields, header, row_no, raw)
        if chunk.records >= size:
            yield chunk.table(path, header)
            chunk, yielded = _Chunk(), True
    if chunk.records or not yielded:
        yield chunk.table(path, header)


class _Chunk:
    """The records of one chunk of :func:`read_csv_chunks` as they are read."""

    def __init__(self) -> None:
        self.records = 0
        self.good: list[list[str]] = []
        self.numbers: list[int] = []
        self.raws: list[str] = []
        self.rejects = Rejects()

    def add(self, fields: list[str], header: list[str], row_no: int, raw: str) -> None:
        """One record: kept, skipped (blank) or rejected (wrong width), as the whole file is."""
        self.records += 1
        if check_width(fields, header, row_no, raw, self.rejects):
            self.good.append(fields)
            self.numbers.append(row_no)
            self.raws.append(raw)

    def table(self, path: Path, header: list[str]) -> CsvTable:
        frame = pd.DataFrame(self.good or None, columns=header, dtype=object).astype("str")
        frame[ROW_COLUMN] = np.asarray(self.numbers, dtype=np.int64)
        frame[RAW_COLUMN] = pd.Series(self.raws, dtype="str")
        return CsvTable(
            path=path,
            header=header,
            frame=frame,
            rejects=self.rejects,
            malformed=len(self.rejects),
        )


def _text_lines(path: Path, encoding: str | None) -> Iterator[str]:
    """The file's lines with their line ends (LF, CRLF or a lone CR, as ``newline=""`` splits),
    gunzipped and decoded a block at a time (UTF-8, a BOM allowed, unless ``encoding``)."""
    where = display_path(path)
    enc = encoding or "utf-8-sig"
    try:
        decoder = codecs.getincrementaldecoder(enc)()
    except LookupError as exc:
        raise ImportFileError(where, f"unknown encoding {enc!r}") from exc
    cap = limits.current().max_file_bytes
    seen = newlines = 0
    carry = ""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
            while True:
                block = fh.read(_BLOCK_BYTES)
                seen += len(block)
                if seen > cap:
                    raise too_large(path, cap)
                try:
                    decoded = decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    row = newlines + exc.object[: exc.start].count(b"\n") + 1
                    raise not_in_encoding(path, enc, exc, row) from exc
                newlines += block.count(b"\n")
                lines = io.StringIO(carry + decoded, newline="").readlines()
                carry = ""
                # a last line without its end (or a CR that a LF may follow) waits for the next
                if block and lines and (lines[-1][-1] not in "\r\n" or lines[-1][-1] == "\r"):
                    carry = lines.pop()
                yield from lines
                if not block:
                    return
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ImportFileError(where, f"cannot read the file: {exc}") from exc


# --------------------------------------------------------------------------------- rejects


class RowChecks:
    """Rejects rows one problem at a time; a row is rejected once, for its first problem.

    Args:
        rows: Each row's number in the file (for rejects).
        raw: Gives the original text of the row at a position (called only for rejected rows).
        rejects: Where rejected rows go.
    """

    def __init__(self, rows: np.ndarray, raw: Callable[[int], str], rejects: Rejects) -> None:
        self.rows = rows
        self.raw = raw
        self.rejects = rejects
        self.ok = np.ones(len(rows), dtype=bool)

    @classmethod
    def for_table(cls, table: CsvTable, rejects: Rejects | None = None) -> RowChecks:
        """Checks for the rows of a CSV table (its rejects go with the table's by default)."""
        rejects = table.rejects if rejects is None else rejects
        raws = table.frame[RAW_COLUMN]
        return cls(
            table.frame[ROW_COLUMN].to_numpy(dtype=np.int64), lambda i: str(raws.iat[i]), rejects
        )

    def reject(
        self,
        bad: pd.Series | np.ndarray,
        field: str,
        reason: str,
        values: pd.Series | None = None,
    ) -> None:
        """Rejects the rows where ``bad`` is true and that are not rejected yet.

        Args:
            bad: One flag per row.
            field: The file's column name.
            reason: What is wrong, in plain words.
            values: The offending values, quoted after the reason when given.
        """
        flags = np.asarray(bad, dtype=bool) & self.ok
        for i in np.flatnonzero(flags):
            why = reason if values is None else f"{reason}: {_shown(values.iat[int(i)])}"
            self.rejects.add(int(self.rows[i]), field, why, self.raw(int(i)))
        self.ok &= ~flags

    def skip(self, rows: pd.Series | np.ndarray) -> None:
        """Leaves rows out without rejecting them (rows that are not demand, e.g. gift cards)."""
        self.ok &= ~np.asarray(rows, dtype=bool)

    def screen(self, columns: Mapping[str, pd.Series | str | None]) -> None:
        """Rejects rows whose text cannot be stored (:func:`limits.text_problems`): an id longer
        than its column, a name over the limit, a NUL byte. Keys are canonical column names."""
        for name, value in columns.items():
            if isinstance(value, pd.Series):
                for bad, reason in limits.text_problems(value, name):
                    self.reject(bad, name, reason, value)


def _shown(value: object) -> str:
    """A value quoted for a reject's reason (long values shortened)."""
    text = "" if value is None or value is pd.NA else str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def sorted_rejects(rejects: Rejects) -> pd.DataFrame:
    """The rejects as a frame in row order."""
    return rejects.frame().sort_values(c.REJECT_ROW, kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------- values


def text(values: pd.Series) -> pd.Series:
    """Strings, stripped; missing values become empty strings."""
    return values.astype("str").fillna("").str.strip()


def is_blank(values: pd.Series) -> np.ndarray:
    """Where a text column is blank."""
    return (text(values) == "").to_numpy(dtype=bool)


def optional_column(frame: pd.DataFrame, name: str | None) -> pd.Series:
    """A column of the file, or blanks when the file (or mapping) has none."""
    if name is None or name not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[name]


def parse_quantity(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Decimal quantities. Returns (float64 values with 0 where bad, bad mask)."""
    num = _distinct(text(values), lambda u: pd.to_numeric(u, errors="coerce").astype("float64"))
    bad = ~np.isfinite(num.to_numpy()) | (num.abs() > MAX_QUANTITY).to_numpy()
    return num.where(~bad, 0.0), bad


def _distinct(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Converts each distinct value once (exports repeat the same few values)."""
    codes, uniques = pd.factorize(values)
    if len(uniques) == 0:  # every value missing
        return pd.Series(np.nan, index=values.index, dtype="float64")
    converted = convert(pd.Series(uniques)).to_numpy()
    out = np.where(codes >= 0, converted[np.maximum(codes, 0)], np.nan)
    return pd.Series(out, index=values.index)


def parse_count(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Guest counts: whole numbers from 0, blank is unknown. Returns (Int64 values, bad mask)."""
    s = text(values)
    blank = (s == "").to_numpy(dtype=bool)
    num = _distinct(s.where(~blank), lambda u: pd.to_numeric(u, errors="coerce").astype("float64"))
    whole = num.notna() & (num == num.round()) & (num >= 0) & (num <= MAX_COUNT)
    bad = ~blank & ~whole.to_numpy(dtype=bool)
    counts = num.where(whole).astype("Int64")
    return counts, bad


def optional_amount(values: pd.Series, exponent: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Like :func:`parse_money` for decimal text, with blanks counting as 0."""
    blank = is_blank(values)
    amount, bad = parse_money(values, exponent)
    return amount.where(~blank, 0), bad & ~blank


def resolve_restaurants(
    values: pd.Series, provider: str, directory: Directory
) -> tuple[pd.Series, np.ndarray]:
    """POS location ids (or Flux ids) to Flux restaurant ids. Returns (ids, unknown mask)."""
    ids = resolve_locations(text(values), provider, directory)
    return ids, ids.isna().to_numpy(dtype=bool)


# ---------------------------------------------------------------------------------- time


# ------------------------------------------------------------------------------- frames


def number_within(*keys: pd.Series, carry: Numbering | None = None) -> pd.Series:
    """Numbers rows 1, 2, 3... within each group of equal keys, in file order.

    Args:
        keys: The grouping columns (text, no missing values).
        carry: The rows of each group in earlier chunks of the file, updated with this chunk's,
            so numbering goes on across chunks as in one; None for a whole file.
    """
    numbers = keys[0].groupby(list(keys), sort=False).cumcount() + 1
    if carry is None or numbers.empty:
        return numbers
    return carry.go_on(keys, numbers)


class Numbering:
    """The rows each group of equal keys had in a file's earlier chunks (:func:`number_within`),
    by slot of a :class:`~pipelines.io.keyindex.KeyIndex`: 24 bytes a group."""

    def __init__(self) -> None:
        self._index = KeyIndex()
        self._last = np.zeros(0, dtype=np.int64)

    def go_on(self, keys: tuple[pd.Series, ...], numbers: pd.Series) -> pd.Series:
        """This chunk's numbers (``numbers``, from 1 in each group) after the earlier chunks'."""
        slots = self._index.add(key_hashes(*keys))
        self._last = grown(self._last, self._index.size, 0)
        out: pd.Series = numbers + self._last[slots]
        np.maximum.at(self._last, slots, out.to_numpy(dtype=np.int64))  # a group's last row
        return out


def _objects(values: pd.Series) -> pd.Series:
    """Strings as object dtype with None for missing or blank."""
    blank = (values.isna() | (values.astype("str") == "")).to_numpy(dtype=bool)
    out = values.astype(object)
    out[blank] = None
    return out


_LINE_DTYPES: Mapping[str, Any] = {
    c.TS_UTC: "datetime64[ns, UTC]",
    c.BUSINESS_DATE: "datetime64[ns]",
    c.QUANTITY: "float64",
    c.NET_AMOUNT_MINOR: "int64",
}


def line_frame(
    keep: np.ndarray | RowChecks,
    columns: Mapping[str, pd.Series | str | None],
    checks: RowChecks | None = None,
) -> pd.DataFrame:
    """The ``lines`` frame: the kept rows, :data:`LINE_COLUMNS` in order, with their dtypes.

    Refunds get negative quantities and amounts whatever sign the file used.

    Args:
        keep: Which rows to keep, or the file's row checks (see :func:`assemble`).
        columns: A Series per line column (same index), or one value for every row.
        checks: The file's row checks, when ``keep`` is a mask of its own.
    """
    out = assemble(keep, columns, LINE_COLUMNS, _LINE_DTYPES, checks)
    refund = (out[c.KIND] == c.KIND_REFUND).to_numpy(dtype=bool)
    out[c.QUANTITY] = np.where(refund, -out[c.QUANTITY].abs(), out[c.QUANTITY])
    out[c.NET_AMOUNT_MINOR] = np.where(
        refund, -out[c.NET_AMOUNT_MINOR].abs(), out[c.NET_AMOUNT_MINOR]
    ).astype(np.int64)
    return out


def assemble(
    keep: np.ndarray | RowChecks,
    columns: Mapping[str, pd.Series | str | None],
    names: tuple[str, ...],
    dtypes: Mapping[str, Any],
    checks: RowChecks | None = None,
) -> pd.DataFrame:
    """A normalised frame: the kept rows of ``columns``, in the order of ``names``.

    Given the file's :class:`RowChecks` (as ``keep`` or ``checks``), every text value is checked
    first (an id longer than its column, a name over the limit, a NUL byte:
    :func:`limits.text_problems`) and its row rejected, so no value reaches the database that one
    backend would store and another refuse.

    Args:
        keep: Which rows to keep, or the file's row checks (its ``ok`` rows are kept).
        columns: A Series per column (same index), or one value for every row.
        names: The frame's columns, in order.
        dtypes: Each non-text column's dtype; text columns become object with None for blanks.
        checks: The file's row checks, when ``keep`` is a mask of its own.
    """
    if isinstance(keep, RowChecks):
        checks, keep = keep, keep.ok
    if checks is not None:
        before = checks.ok.copy()
        checks.screen({name: columns[name] for name in names if name not in dtypes})
        keep = keep & ~(before & ~checks.ok)
    n = int(keep.sum())
    data: dict[str, pd.Series] = {}
    for name in names:
        value = columns[name]
        if isinstance(value, pd.Series):
            part = value[keep].reset_index(drop=True)
        else:
            part = pd.Series([value] * n, dtype=object)
        dtype = dtypes.get(name)
        data[name] = part.astype(dtype) if dtype else _objects(part)
    return pd.DataFrame(data, columns=list(names))


_NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


def _nanoseconds(values: pd.Series) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(values).as_unit("ns").asi8, dtype=np.int64)


class OrderCarry:
    """What :func:`orders_from_lines` knows of each order from a file's earlier chunks (its
    source, earliest sale and line times, first guest count), so that an order whose lines
    span chunks gets, in its last chunk, the row the whole file gives it (the last row wins).
    Kept in arrays by slot of a :class:`~pipelines.io.keyindex.KeyIndex`: about 50 bytes an
    order."""

    def __init__(self) -> None:
        self._index = KeyIndex()
        self._sources: list[Any] = []  # each distinct source once; arrays hold its position
        self._source = np.zeros(0, dtype=np.int32)
        self._sold = np.zeros(0, dtype=np.int64)
        self._any = np.zeros(0, dtype=np.int64)
        self._covers = np.zeros(0, dtype=np.int64)
        self._has_covers = np.zeros(0, dtype=bool)

    def merge(self, first: pd.DataFrame) -> pd.DataFrame:
        """This chunk's per-order figures combined with the earlier chunks' (and remembered)."""
        hashes = key_hashes(first[c.RESTAURANT_ID], first[c.ORDER_ID])
        prev = self._index.find(hashes)
        had = prev >= 0
        if had.any():
            first = first.copy()
            at = prev[had]
            source = first["source"].to_numpy(dtype=object).copy()
            source[had] = np.asarray(self._sources, dtype=object)[self._source[at]]
            first["source"] = pd.Series(source, index=first.index).astype(first["source"].dtype)
            for name, store in (("sold", self._sold), ("any", self._any)):
                ns = _nanoseconds(first[name]).copy()
                old, new = store[at], ns[had]
                ns[had] = np.where(
                    new == _NAT, old, np.where(old == _NAT, new, np.minimum(new, old))
                )
                times = pd.Series(ns.view("datetime64[ns]"), index=first.index)
                first[name] = times.dt.tz_localize("UTC").astype(first[name].dtype)
            use_old = np.zeros(len(first), dtype=bool)
            use_old[had] = self._has_covers[at]
            if use_old.any():
                dtype = first["covers"].dtype
                covers = first["covers"].astype(object).to_numpy().copy()
                covers[use_old] = self._covers[prev[use_old]].tolist()
                first["covers"] = pd.Series(covers, index=first.index).astype(dtype)
        slots = self._index.add(hashes)
        size = self._index.size
        self._source = grown(self._source, size, 0)
        self._sold, self._any = grown(self._sold, size, _NAT), grown(self._any, size, _NAT)
        self._covers = grown(self._covers, size, 0)
        self._has_covers = grown(self._has_covers, size, False)
        codes = {value: i for i, value in enumerate(self._sources)}
        for value in first["source"].unique().tolist():
            if value not in codes:
                codes[value] = len(self._sources)
                self._sources.append(value)
        self._source[slots] = [codes[v] for v in first["source"].tolist()]
        self._sold[slots] = _nanoseconds(first["sold"])
        self._any[slots] = _nanoseconds(first["any"])
        given = first["covers"]
        known = given.notna().to_numpy(dtype=bool)
        self._has_covers[slots] = known
        self._covers[slots[known]] = given[known].to_numpy(dtype=np.int64)
        return first


def orders_from_lines(
    lines: pd.DataFrame,
    covers: pd.Series | None,
    directory: Directory,
    carry: OrderCarry | None = None,
) -> pd.DataFrame:
    """The ``orders`` frame of a file that lists lines only.

    An order opens at its earliest line that is not a refund (its earliest refund if it has
    nothing else in the file); covers are the first guest count given on any of its lines.

    Args:
        lines: The finished ``lines`` frame.
        covers: Each line's guest count (Int64, aligned with ``lines``), or None when the file
            has no guest counts.
        directory: The known restaurants.
        carry: The orders of the file's earlier chunks (see :class:`OrderCarry`); None for a
            whole file.
    """
    if lines.empty:
        return assemble(
            np.zeros(0, dtype=bool), dict.fromkeys(ORDER_COLUMNS), ORDER_COLUMNS, _ORDER_DTYPES
        )
    keys = [c.RESTAURANT_ID, c.ORDER_ID]
    refund = lines[c.KIND] == c.KIND_REFUND
    work = pd.DataFrame(
        {
            c.RESTAURANT_ID: lines[c.RESTAURANT_ID],
            c.ORDER_ID: lines[c.ORDER_ID],
            c.SOURCE: lines[c.SOURCE],
            "sold": lines[c.TS_UTC].where(~refund),
            "any": lines[c.TS_UTC],
            c.COVERS: covers if covers is not None else pd.Series(pd.NA, index=lines.index),
        }
    )
    grouped = work.groupby(keys, sort=False)
    first = grouped.agg(
        source=(c.SOURCE, "first"),
        sold=("sold", "min"),
        any=("any", "min"),
        covers=(c.COVERS, "first"),
    ).reset_index()
    if carry is not None:
        first = carry.merge(first)
    opened = first["sold"].fillna(first["any"])
    columns: dict[str, pd.Series | str | None] = {
        c.RESTAURANT_ID: first[c.RESTAURANT_ID],
        c.SOURCE: first["source"],
        c.ORDER_ID: first[c.ORDER_ID],
        c.OPENED_AT_UTC: opened,
        c.BUSINESS_DATE: date_from_utc(opened, first[c.RESTAURANT_ID], directory),
        c.COVERS: first["covers"],
    }
    return order_frame(np.ones(len(first), dtype=bool), columns)


_ORDER_DTYPES: Mapping[str, Any] = {
    c.OPENED_AT_UTC: "datetime64[ns, UTC]",
    c.BUSINESS_DATE: "datetime64[ns]",
    c.COVERS: "Int64",
    c.NET_AMOUNT_MINOR: "Int64",
}


def order_frame(
    keep: np.ndarray | RowChecks,
    columns: Mapping[str, pd.Series | str | None],
    checks: RowChecks | None = None,
) -> pd.DataFrame:
    """The ``orders`` frame: the kept rows, :data:`ORDER_COLUMNS` in order, with their dtypes.

    ``net_amount_minor`` may be left out: it is NA then (the lines carry the money).
    """
    columns = {c.NET_AMOUNT_MINOR: None, **columns}
    return assemble(keep, columns, ORDER_COLUMNS, _ORDER_DTYPES, checks)


def table_result(table: CsvTable, name: str, **frames: pd.DataFrame) -> ParsedFile:
    """What a CSV file yielded: its frames by name (``orders=...``), rows read and rejects."""
    return parsed_file(table.path, name, table.rows_read, table.rejects, **frames)


def parsed_file(
    path: Path, name: str, rows_read: int, rejects: Rejects, **frames: pd.DataFrame
) -> ParsedFile:
    """The result of one file, rejects in row order; ``frames`` by name (``orders=...``)."""
    parsed = ParsedFile(
        path=display_path(path),
        format=name,
        rows_read=rows_read,
        rejects=sorted_rejects(rejects),
    )
    for frame_name, frame in frames.items():
        if frame_name not in _FRAMES:
            raise TypeError(f"parsed_file: unknown frame {frame_name!r}")
        setattr(parsed, frame_name, frame)
    return parsed


_FRAMES: Final = frozenset(
    {"orders", "lines", "observations", "restaurants", "events", "regressors"}
)


def is_match(values: pd.Series, pattern: str) -> np.ndarray:
    """Where a text column fully matches a regular expression."""
    return text(values).str.fullmatch(pattern).fillna(False).astype(bool).to_numpy(dtype=bool)
