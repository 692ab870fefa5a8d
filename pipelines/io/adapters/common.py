"""Shared reading and normalising helpers for the adapters.

Everything here is vectorised over pandas Series, so a million-line export normalises in seconds.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters import _fast_csv, limits
from pipelines.io.adapters.base import REJECT_COLUMNS, Directory


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit (USD 2, JPY 0, KWD 3), from
    the ISO 4217 list (the ``iso4217`` package).

    Raises:
        ValueError: not an ISO 4217 currency with a minor unit (e.g. ``XXX``, ``XAU`` or a typo);
            restaurants.csv refuses those, so this is never guessed.
    """
    from iso4217 import Currency

    try:
        exponent = Currency(currency.strip().upper()).exponent
    except ValueError:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{currency!r} has no minor unit (ISO 4217): not a currency for sales")
    return int(exponent)


def is_currency(currency: str) -> bool:
    """Whether ``currency`` is an ISO 4217 code with a minor unit."""
    try:
        currency_exponent(currency)
    except ValueError:
        return False
    return True


def display_path(path: Path) -> str:
    """The path as the user should see it in messages."""
    return str(path)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``.

    Raises:
        ImportFileError: unreadable, or larger than ``limits.max_file_mb`` once gunzipped (read
            in bounded steps, so a gzip bomb never fills the memory).
    """
    cap = limits.current().max_file_bytes
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
            raw = fh.read(cap + 1)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ImportFileError(display_path(path), f"cannot read the file: {exc}") from exc
    if len(raw) > cap:
        raise too_large(path, cap)
    return raw


def too_large(path: Path, cap: int) -> ImportFileError:
    """The error for a file over ``limits.max_file_mb`` once gunzipped."""
    return ImportFileError(
        display_path(path),
        f"larger than limits.max_file_mb = {cap / 2**20:,.0f} MB"
        + (" once gunzipped" if path.suffix == ".gz" else "")
        + "; split the export, or raise the limit (FLUX_LIMITS__MAX_FILE_MB)",
    )


def not_in_encoding(path: Path, enc: str, exc: UnicodeDecodeError, row: int) -> ImportFileError:
    """The error for bytes that are not valid text in the encoding ``enc``, on file row ``row``."""
    bad = exc.object[exc.start : exc.start + 1].hex()
    return ImportFileError(
        display_path(path),
        f"not valid {enc.removesuffix('-sig').upper()} text (byte 0x{bad}); "
        "if the file uses another encoding, pass --encoding",
        row=row,
    )


def read_text(path: Path, encoding: str | None = None) -> str:
    """The file's text. UTF-8 (a BOM is allowed) unless ``encoding`` says otherwise.

    Raises:
        ImportFileError: the bytes are not valid in the encoding; names the row.
    """
    raw = read_bytes(path)
    enc = encoding or "utf-8-sig"
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        raise not_in_encoding(path, enc, exc, raw[: exc.start].count(b"\n") + 1) from exc
    except LookupError as exc:
        raise ImportFileError(display_path(path), f"unknown encoding {enc!r}") from exc


def head_text(path: Path, size: int = 8192) -> str:
    """The first ``size`` bytes of the (gunzipped) file as text, for format sniffing."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read(size)
        else:
            with path.open("rb") as fh:
                raw = fh.read(size)
    except (OSError, EOFError) as exc:
        raise ImportFileError(display_path(path), f"cannot read the file: {exc}") from exc
    return raw.decode("utf-8-sig", errors="replace")


def load_json(path: Path, encoding: str | None = None) -> Any:
    """Parses a JSON file.

    Raises:
        ImportFileError: invalid or truncated JSON; names the row (line) it broke on.
    """
    text = read_text(path, encoding)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            display_path(path),
            f"not valid JSON ({exc.msg}); is the file truncated?",
            row=exc.lineno,
        ) from exc


@dataclass
class Rejects:
    """Collects rejected rows with their reasons."""

    rows: list[int] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)

    def add(self, row: int, field_name: str, reason: str, raw: str) -> None:
        """Rejects one row."""
        self.rows.append(row)
        self.fields.append(field_name)
        self.reasons.append(reason)
        self.raws.append(raw)

    def add_mask(
        self, table: CsvTable | pd.DataFrame, mask: pd.Series, field_name: str, reason: str
    ) -> None:
        """Rejects every row of ``table`` where ``mask`` is true (rows already rejected stay)."""
        if not mask.any():
            return
        frame = table.frame if isinstance(table, CsvTable) else table
        rows = frame[_ROW].to_numpy(dtype=np.int64)
        raws = frame[_RAW].to_numpy(dtype=object)
        for i in np.flatnonzero(mask.to_numpy(dtype=bool)):
            self.add(int(rows[i]), field_name, reason, str(raws[i]))

    def frame(self) -> pd.DataFrame:
        """The rejects as a frame with :data:`REJECT_COLUMNS`."""
        return pd.DataFrame(
            dict(
                zip(REJECT_COLUMNS, [self.rows, self.fields, self.reasons, self.raws], strict=True)
            )
        )

    def __len__(self) -> int:
        return len(self.rows)


_ROW = "__row__"
_RAW = "__raw__"
ROW_COLUMN = _ROW
RAW_COLUMN = _RAW


@dataclass
class CsvTable:
    """A CSV file read as strings: one column per header field plus its row number and raw text,
    and the rows rejected so far (malformed rows first, then each adapter's checks)."""

    path: Path
    header: list[str]
    frame: pd.DataFrame
    rejects: Rejects = field(default_factory=Rejects)
    malformed: int = 0

    @property
    def rows_read(self) -> int:
        """Every data row of the file: those read and those rejected as malformed."""
        return len(self.frame) + self.malformed


def read_csv_table(
    path: Path,
    required: tuple[str, ...],
    rejects: Rejects | None = None,
    encoding: str | None = None,
) -> CsvTable:
    """Reads a CSV file as strings. Rows with the wrong number of fields become rejects.

    Plain files (one line per record) are split by pyarrow, anything else by the ``csv`` module;
    both give the same rows. A row's raw text is its line(s) in the file, without the line end.

    Args:
        path: The file (``.gz`` is gunzipped).
        required: Columns that must be in the header.
        rejects: Where malformed rows go.
        encoding: The text encoding (default UTF-8).

    Raises:
        ImportFileError: unreadable file, empty file, or a required column missing.
    """
    rejects = Rejects() if rejects is None else rejects
    before = len(rejects)
    text = read_text(path, encoding)
    # A field may be as long as the file (its length is checked later, as a reject of its row).
    csv.field_size_limit(max(csv.field_size_limit(), min(len(text) + 1, 2**31 - 1)))
    try:
        header = _read_header(path, text, required)
        plain = _fast_csv.read_plain(text, header, _ROW, _RAW)
        if plain is None:
            frame = _read_rows(text, header, rejects)
        else:
            frame, others = plain
            for row_no, line in others:
                check_width(next(csv.reader([line]), []), header, row_no, line, rejects)
    except csv.Error as exc:
        raise ImportFileError(display_path(path), f"not a readable CSV file: {exc}") from exc
    return CsvTable(
        path=path, header=header, frame=frame, rejects=rejects, malformed=len(rejects) - before
    )


_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _read_header(path: Path, text: str, required: tuple[str, ...]) -> list[str]:
    """The first record's field names, stripped; checks that the required columns are there."""
    lines = (m.group() for m in _LINE_RE.finditer(text))  # lazily: no copy of a large text
    return check_header(path, next(csv.reader(lines), None), required)


def check_header(path: Path, header: list[str] | None, required: tuple[str, ...]) -> list[str]:
    """The first record's field names, stripped; checks that the required columns are there.

    Raises:
        ImportFileError: no header (an empty file), a required column missing, or a column twice.
    """
    if header is None or not any(h.strip() for h in header):
        raise ImportFileError(display_path(path), "the file is empty (no header row)", row=1)
    header = [h.strip() for h in header]
    missing = [name for name in required if name not in header]
    if missing:
        raise ImportFileError(
            display_path(path),
            "required column missing from the header",
            row=1,
            field=missing[0],
        )
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise ImportFileError(
            display_path(path), "column appears twice in the header", row=1, field=dup
        )
    return header


def _read_rows(text: str, header: list[str], rejects: Rejects) -> pd.DataFrame:
    """Every record after the header, with the ``csv`` module (line breaks inside quotes etc.)."""
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines)
    next(reader, None)
    good: list[list[str]] = []
    numbers: list[int] = []
    raws: list[str] = []
    row_no, start = 1, reader.line_num
    for fields in reader:
        row_no += 1
        end = reader.line_num
        raw = "".join(lines[start:end]).removesuffix("\n").removesuffix("\r")
        start = end
        if check_width(fields, header, row_no, raw, rejects):
            good.append(fields)
            numbers.append(row_no)
            raws.append(raw)
    frame = pd.DataFrame(good or None, columns=header, dtype=object).astype("str")
    frame[_ROW] = np.asarray(numbers, dtype=np.int64)
    frame[_RAW] = pd.Series(raws, dtype="str")
    return frame


def check_width(
    fields: list[str], header: list[str], row_no: int, raw: str, rejects: Rejects
) -> bool:
    """Whether a record is a data row: blank ones are skipped, wrong widths rejected."""
    if not fields or (len(fields) == 1 and not fields[0].strip()):
        return False
    width = len(header)
    if len(fields) != width:
        rejects.add(
            row_no,
            header[min(len(fields), width) - 1],
            f"expected {width} fields, found {len(fields)} (truncated or garbled row)",
            raw,
        )
        return False
    return True


# ----------------------------------------------------------------------------------- money

_MONEY_RE = (
    r"^\s*(?P<s1>[-−])?\s*(?P<p1>\()?\s*(?P<s2>[-−])?\s*"
    r"(?:[A-Z]{0,3}[$€£¥₩]|[A-Z]{3}\s?)?\s*(?P<s3>[-−])?\s*"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d*))?\s*(?P<p2>\))?\s*$"
)


def parse_money(
    values: pd.Series, exponent: int | pd.Series, *, minor: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Parses money into integer minor units, rounding half away from zero.

    Accepts ``12.5``, ``-3``, ``$1,234.50``, ``-$2.00``, ``($2.00)``, ``€12.00``, ``C$4``,
    ``JPY 1200``; with ``minor``, whole minor units only (``1250``). Decimal commas are not
    accepted (they are ambiguous with thousands separators). Each distinct (value, exponent) pair
    is parsed once: the pattern match runs row by row, and exports repeat the same few prices
    millions of times.

    Returns:
        (minor units as int64 with 0 where bad, a boolean mask of the values that failed).
    """
    if minor:
        whole = values.astype("string").fillna("").str.strip()
        good = whole.str.fullmatch(r"[+-]?[0-9]{1,15}").fillna(False).astype(bool)
        return whole.where(good, "0").astype(np.int64), ~good.to_numpy(dtype=bool)
    text = values.astype("string").fillna("")
    exp = exponent if isinstance(exponent, pd.Series) else pd.Series(exponent, index=text.index)
    text_codes, _ = pd.factorize(text)
    exp_codes, exp_uniques = pd.factorize(exp)
    codes, _ = pd.factorize(text_codes.astype(np.int64) * len(exp_uniques) + exp_codes)
    first = np.unique(codes, return_index=True)[1]
    parsed, bad = _parse_money_distinct(
        text.iloc[first].reset_index(drop=True), exp.iloc[first].reset_index(drop=True)
    )
    return (
        pd.Series(parsed.to_numpy()[codes], index=text.index, dtype=np.int64),
        bad.to_numpy(dtype=bool)[codes],
    )


def _parse_money_distinct(values: pd.Series, exponent: pd.Series) -> tuple[pd.Series, pd.Series]:
    s = values.astype("string").fillna("")
    m = s.str.extract(_MONEY_RE)
    int_part = m["int"].fillna("").str.replace(",", "", regex=False)
    frac = m["frac"].fillna("")
    has_digits = (int_part.str.len() > 0) | (frac.str.len() > 0)
    unbalanced = m["p1"].notna() != m["p2"].notna()
    bad = m["int"].isna() & m["frac"].isna() | ~has_digits | unbalanced
    bad = bad.fillna(True).astype(bool)
    signs = (
        m["s1"].notna().astype(int)
        + m["s2"].notna().astype(int)
        + m["s3"].notna().astype(int)
        + m["p1"].notna().astype(int)
    )
    bad |= (signs > 1).to_numpy()
    exp = exponent if isinstance(exponent, pd.Series) else pd.Series(exponent, index=s.index)
    exp = exp.astype(np.int64)
    too_long = int_part.str.len() > 15
    bad |= too_long
    int_part = int_part.where(~bad & (int_part.str.len() > 0), "0")
    whole = int_part.astype(np.int64)
    result = np.zeros(len(s), dtype=np.int64)
    frac_pad = frac.where(~bad, "").str.pad(12, side="right", fillchar="0")
    for e in np.unique(exp.to_numpy()):
        sel = (exp == e).to_numpy()
        digits = frac_pad[sel].str.slice(0, int(e))
        digits = digits.where(digits.str.len() > 0, "0").astype(np.int64)
        nxt = frac_pad[sel].str.slice(int(e), int(e) + 1)
        nxt = nxt.where(nxt.str.len() > 0, "0").astype(np.int64)
        result[sel] = (
            whole[sel].to_numpy() * (10 ** int(e)) + digits.to_numpy() + (nxt.to_numpy() >= 5)
        )
    negative = (signs == 1).to_numpy()
    result = np.where(negative, -result, result)
    bad_np = bad.to_numpy(dtype=bool)
    result = np.where(bad_np, 0, result)
    return pd.Series(result, index=s.index, dtype=np.int64), pd.Series(bad_np, index=s.index)


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parses plain decimal numbers (quantities). Returns (float64 values, bad mask)."""
    num = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    num = num.astype("float64")
    bad = num.isna() | ~np.isfinite(num.fillna(0))
    return num.fillna(0.0), bad


def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parses true/false, yes/no, 1/0, t/f, y/n (blank is false). Returns (bool, bad mask)."""
    s = values.astype("string").fillna("").str.strip().str.lower()
    true = s.isin(["true", "t", "yes", "y", "1"])
    false = s.isin(["false", "f", "no", "n", "0", ""])
    return true, ~(true | false)


# ------------------------------------------------------------------------------------ time


_EARLIEST = pd.Timestamp("1970-01-01")
_LATEST = pd.Timestamp("2100-01-01")
_OFFSET_RE = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"


def parse_timestamps(
    values: pd.Series, fmt: str | None = None, *, utc: bool = False, need_offset: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Parses timestamps: local wall-clock times (naive), or instants (``utc``); unparseable ones
    are NaT and flagged. The one timestamp parser of every adapter.

    Values before 1970 or from 2100 on count as unparseable (typos; nanosecond timestamps cannot
    hold far dates). Without ``utc``, a value that carries a UTC offset is not a wall-clock time
    and counts as unparseable too; with ``utc``, naive values are taken as UTC unless
    ``need_offset``.

    Args:
        values: Strings.
        fmt: strptime format, or None for ISO 8601.
        utc: Parse offsets and return UTC-aware values; otherwise naive wall-clock values.
        need_offset: With ``utc`` and ISO 8601: every value must carry its UTC offset.

    Returns:
        (datetime64[ns] values, UTC-aware when ``utc``, NaT where bad; a boolean mask of the bad).
    """
    s = values.astype("string").str.strip()
    fmt = fmt or "ISO8601"
    try:
        parsed = pd.to_datetime(s, errors="coerce", utc=utc, format=fmt)
    except ValueError:  # naive times asked for, some carry an offset and some do not
        naive = s.where(~s.str.contains(_OFFSET_RE, regex=True).fillna(False).astype(bool))
        try:
            parsed = pd.to_datetime(naive, errors="coerce", format=fmt)
        except ValueError:
            parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if not utc and isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    lo, hi = _EARLIEST, _LATEST
    if utc:
        lo, hi = lo.tz_localize("UTC"), hi.tz_localize("UTC")
    parsed = parsed.where((parsed >= lo) & (parsed < hi))
    parsed = parsed.astype("datetime64[ns, UTC]" if utc else "datetime64[ns]")
    bad = parsed.isna().to_numpy(dtype=bool)
    if utc and need_offset and fmt == "ISO8601":
        has = s.str.contains(_OFFSET_RE, regex=True).fillna(False).astype(bool)
        bad = bad | ~has.to_numpy(dtype=bool)
        parsed = parsed.where(~bad)
    return parsed, bad


def epoch_ms_to_utc(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Epoch milliseconds to UTC timestamps. Returns (timestamps, bad mask)."""
    num = pd.to_numeric(values, errors="coerce")
    bad = num.isna() | (num < 0) | (num > 4_102_444_800_000)  # after 2100: garbage
    ts = pd.to_datetime(num.where(~bad), unit="ms", utc=True)
    return ts, bad


def localize(naive: pd.Series, tz: str) -> pd.Series:
    """Local wall-clock times in ``tz`` to UTC.

    Times that occur twice (the hour repeated when clocks go back) take the first occurrence;
    times that do not exist (skipped when clocks go forward) move forward to the first valid
    instant. Exports that carry only wall-clock times cannot say more.
    """
    if naive.empty:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), index=naive.index)
    idx = pd.DatetimeIndex(naive)
    ambiguous = np.ones(len(idx), dtype=bool)  # True: DST (the first occurrence)
    local = idx.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward")
    return pd.Series(local.tz_convert("UTC"), index=naive.index)


def business_date(utc: pd.Series, tz: str, cutoff_hour: int) -> pd.Series:
    """The business date of UTC instants: local wall time minus the cutoff hour, as a date.

    A sale at 01:30 local with a 04:00 cutoff belongs to the previous day. The subtraction is on
    the wall clock, so the 23- and 25-hour days of DST changes come out right.
    """
    if utc.empty:
        return pd.Series(pd.DatetimeIndex([]), index=utc.index)
    local = pd.DatetimeIndex(utc).tz_convert(tz).tz_localize(None)
    return pd.Series((local - pd.Timedelta(hours=cutoff_hour)).normalize(), index=utc.index)


def per_zone(restaurant_ids: pd.Series, directory: Directory) -> dict[tuple[str, int], np.ndarray]:
    """Row positions grouped by their restaurant's (time zone, cutoff hour), for the time-zone
    conversions: a fleet has many restaurants and few zones. Rows of unknown restaurants are in
    no group."""
    codes, uniques = pd.factorize(restaurant_ids)
    zone_of = np.full(len(uniques) + 1, -1, dtype=np.int64)  # code -1 (NA) stays -1
    zones: dict[tuple[str, int], int] = {}
    for k, rid in enumerate(uniques):
        info = directory.by_id(str(rid))
        if info is not None:
            zone_of[k] = zones.setdefault((info.timezone, info.cutoff_hour), len(zones))
    row_zone = zone_of[codes]
    return {zone: np.flatnonzero(row_zone == z) for zone, z in zones.items()}


def localize_and_date(
    naive: pd.Series, restaurant_ids: pd.Series, directory: Directory
) -> tuple[pd.Series, pd.Series]:
    """Wall-clock times of several restaurants to (UTC, business date)."""
    utc = pd.Series(pd.NaT, index=naive.index, dtype="datetime64[ns, UTC]")
    bdate = pd.Series(pd.NaT, index=naive.index, dtype="datetime64[ns]")
    for (tz, cutoff), pos in per_zone(restaurant_ids, directory).items():
        part = localize(naive.iloc[pos].astype("datetime64[ns]"), tz)
        utc.iloc[pos] = part.array  # not to_numpy(): that builds a Timestamp object per row
        bdate.iloc[pos] = business_date(part, tz, cutoff).to_numpy()
    return utc, bdate


def date_from_utc(utc: pd.Series, restaurant_ids: pd.Series, directory: Directory) -> pd.Series:
    """Business dates of UTC instants for rows of several restaurants."""
    bdate = pd.Series(pd.NaT, index=utc.index, dtype="datetime64[ns]")
    for (tz, cutoff), pos in per_zone(restaurant_ids, directory).items():
        part = utc.iloc[pos].astype("datetime64[ns, UTC]")
        bdate.iloc[pos] = business_date(part, tz, cutoff).to_numpy()
    return bdate


def blank_to_none(values: pd.Series) -> pd.Series:
    """Strips strings; blanks become None."""
    s = values.astype("string").str.strip()
    return s.where(s.notna() & (s != ""), None).astype(object)


def resolve_locations(locations: pd.Series, provider: str, directory: Directory) -> pd.Series:
    """POS location ids to Flux restaurant ids (None where unknown)."""
    uniques = locations.astype("string").fillna("").unique()
    lookup: dict[str, str | None] = {}
    for loc in uniques:
        info = directory.by_location(provider, str(loc).strip())
        lookup[str(loc)] = info.id if info else None
    return locations.astype("string").fillna("").map(lookup).astype(object)


def currency_of(restaurant_ids: pd.Series, directory: Directory) -> pd.Series:
    """Each row's restaurant currency."""
    lookup = {info.id: info.currency for info in directory}
    return restaurant_ids.map(lookup).fillna("USD").astype(object)


def exponent_of(currencies: pd.Series) -> pd.Series:
    """Each row's currency exponent."""
    lookup = {cur: currency_exponent(str(cur)) for cur in pd.unique(currencies)}
    return currencies.map(lookup).astype(np.int64)  # a dict: no Python call per row


LINE_REQUIRED_NOTNULL = (c.RESTAURANT_ID, c.ORDER_ID, c.LINE_ID, c.TS_UTC, c.BUSINESS_DATE)
