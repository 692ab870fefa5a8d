"""Shared reading and normalising helpers for the adapters.

Everything here is vectorised over pandas Series, so a million-line export normalises in seconds.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters.base import REJECT_COLUMNS, Directory, RestaurantInfo

# ISO 4217 minor-unit exponents that are not 2.
_CURRENCY_EXPONENT: dict[str, int] = {
    "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "XAF": 0, "XOF": 0, "XPF": 0, "UGX": 0,
    "PYG": 0, "RWF": 0, "KMF": 0, "GNF": 0, "DJF": 0, "VUV": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return _CURRENCY_EXPONENT.get(currency.upper(), 2)


def display_path(path: Path) -> str:
    """The path as the user should see it in messages."""
    return str(path)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ImportFileError(display_path(path), f"cannot read the file: {exc}") from exc
    return raw


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
        row = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise ImportFileError(
            display_path(path),
            f"not valid {enc.removesuffix('-sig').upper()} text (byte 0x{bad}); "
            "if the file uses another encoding, pass --encoding",
            row=row,
        ) from exc
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
            display_path(path), f"not valid JSON ({exc.msg}); is the file truncated?", row=exc.lineno
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
        idx = np.flatnonzero(mask.to_numpy())
        for i in idx:
            self.add(int(frame[_ROW].iat[i]), field_name, reason, str(frame[_RAW].iat[i]))

    def frame(self) -> pd.DataFrame:
        """The rejects as a frame with :data:`REJECT_COLUMNS`."""
        return pd.DataFrame(
            dict(zip(REJECT_COLUMNS, [self.rows, self.fields, self.reasons, self.raws], strict=True))
        )

    def __len__(self) -> int:
        return len(self.rows)


_ROW = "__row__"
_RAW = "__raw__"
ROW_COLUMN = _ROW
RAW_COLUMN = _RAW


@dataclass
class CsvTable:
    """A CSV file read as strings: one column per header field plus its row number and raw text."""

    path: Path
    header: list[str]
    frame: pd.DataFrame


def _raw_line(fields: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def read_csv_table(
    path: Path, required: tuple[str, ...], rejects: Rejects, encoding: str | None = None
) -> CsvTable:
    """Reads a CSV file as strings. Rows with the wrong number of fields become rejects.

    Args:
        path: The file (``.gz`` is gunzipped).
        required: Columns that must be in the header.
        rejects: Where malformed rows go.
        encoding: The text encoding (default UTF-8).

    Raises:
        ImportFileError: unreadable file, empty file, or a required column missing.
    """
    text = read_text(path, encoding)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise ImportFileError(display_path(path), "the file is empty (no header row)", row=1)
        header = [h.strip() for h in header]
        missing = [name for name in required if name not in header]
        if missing:
            raise ImportFileError(
                display_path(path), "required column missing from the header", row=1,
                field=missing[0],
            )
        width = len(header)
        good: list[list[str]] = []
        numbers: list[int] = []
        row_no = 1
        for fields in reader:
            row_no += 1
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != width:
                rejects.add(
                    row_no, header[min(len(fields), width) - 1] if fields else header[0],
                    f"expected {width} fields, found {len(fields)} (truncated or garbled row)",
                    _raw_line(fields),
                )
                continue
            good.append(fields)
            numbers.append(row_no)
    except csv.Error as exc:
        raise ImportFileError(display_path(path), f"not a readable CSV file: {exc}") from exc
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise ImportFileError(display_path(path), "column appears twice in the header", row=1,
                              field=dup)
    frame = pd.DataFrame(good, columns=header, dtype=object) if good else pd.DataFrame(
        {h: pd.Series(dtype=object) for h in header}
    )
    frame[_ROW] = np.asarray(numbers, dtype=np.int64)
    frame[_RAW] = [_raw_line(f) for f in good]
    return CsvTable(path=path, header=header, frame=frame)


# ----------------------------------------------------------------------------------- money

_MONEY_RE = (
    r"^\s*(?P<s1>[-−])?\s*(?P<p1>\()?\s*(?P<s2>[-−])?\s*"
    r"(?:[A-Z]{0,3}[$€£¥₩]|[A-Z]{3}\s?)?\s*(?P<s3>[-−])?\s*"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d*))?\s*(?P<p2>\))?\s*$"
)


def parse_money(values: pd.Series, exponent: int | pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parses money strings into integer minor units, rounding half away from zero.

    Accepts ``12.5``, ``-3``, ``$1,234.50``, ``-$2.00``, ``($2.00)``, ``€12.00``, ``C$4``,
    ``JPY 1200``. Decimal commas are not accepted (they are ambiguous with thousands separators).

    Returns:
        (minor units as int64 with 0 where bad, a boolean mask of the values that failed).
    """
    s = values.astype("string").fillna("")
    m = s.str.extract(_MONEY_RE)
    int_part = m["int"].fillna("").str.replace(",", "", regex=False)
    frac = m["frac"].fillna("")
    has_digits = (int_part.str.len() > 0) | (frac.str.len() > 0)
    unbalanced = m["p1"].notna() != m["p2"].notna()
    bad = m["int"].isna() & m["frac"].isna() | ~has_digits | unbalanced
    bad = bad.fillna(True).astype(bool)
    signs = (m["s1"].notna().astype(int) + m["s2"].notna().astype(int)
             + m["s3"].notna().astype(int) + m["p1"].notna().astype(int))
    bad |= (signs > 1).to_numpy()
    exp = exponent if isinstance(exponent, pd.Series) else pd.Series(exponent, index=s.index)
    exp = exp.astype(np.int64)
    too_long = int_part.str.len() > 15
    bad |= too_long
    int_part = int_part.where(~bad & (int_part.str.len() > 0), "0")
    whole = int_part.astype(np.int64)
    result = np.zeros(len(s), dtype=np.int64)
    frac_pad = frac.where(~bad, "").str.pad(4, side="right", fillchar="0")
    for e in np.unique(exp.to_numpy()):
        sel = (exp == e).to_numpy()
        digits = frac_pad[sel].str.slice(0, int(e))
        digits = digits.where(digits.str.len() > 0, "0").astype(np.int64)
        nxt = frac_pad[sel].str.slice(int(e), int(e) + 1)
        nxt = nxt.where(nxt.str.len() > 0, "0").astype(np.int64)
        result[sel] = whole[sel].to_numpy() * (10 ** int(e)) + digits.to_numpy() + (
            nxt.to_numpy() >= 5
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


def parse_timestamps(
    values: pd.Series, fmt: str | None = None, *, utc: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Parses timestamps; unparseable ones are NaT and flagged.

    Args:
        values: Strings.
        fmt: strptime format, or None for ISO 8601.
        utc: Parse offsets and return UTC-aware values; otherwise naive wall-clock values.
    """
    s = values.astype("string").str.strip()
    if fmt is None:
        parsed = pd.to_datetime(s, errors="coerce", utc=utc, format="ISO8601")
    else:
        parsed = pd.to_datetime(s, errors="coerce", utc=utc, format=fmt)
    return parsed, parsed.isna()


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


def per_restaurant(
    restaurant_ids: pd.Series, directory: Directory
) -> dict[str, tuple[RestaurantInfo, np.ndarray]]:
    """Groups row positions by restaurant, for per-time-zone conversions."""
    groups: dict[str, tuple[RestaurantInfo, np.ndarray]] = {}
    codes, uniques = pd.factorize(restaurant_ids)
    for k, rid in enumerate(uniques):
        info = directory.by_id(str(rid))
        if info is not None:
            groups[str(rid)] = (info, np.flatnonzero(codes == k))
    return groups


def localize_and_date(
    naive: pd.Series, restaurant_ids: pd.Series, directory: Directory
) -> tuple[pd.Series, pd.Series]:
    """Wall-clock times of several restaurants to (UTC, business date)."""
    utc = pd.Series(pd.NaT, index=naive.index, dtype="datetime64[ns, UTC]")
    bdate = pd.Series(pd.NaT, index=naive.index, dtype="datetime64[ns]")
    for info, pos in per_restaurant(restaurant_ids, directory).values():
        part = localize(naive.iloc[pos].astype("datetime64[ns]"), info.timezone)
        utc.iloc[pos] = part.to_numpy()
        bdate.iloc[pos] = business_date(part, info.timezone, info.cutoff_hour).to_numpy()
    return utc, bdate


def date_from_utc(
    utc: pd.Series, restaurant_ids: pd.Series, directory: Directory
) -> pd.Series:
    """Business dates of UTC instants for rows of several restaurants."""
    bdate = pd.Series(pd.NaT, index=utc.index, dtype="datetime64[ns]")
    for info, pos in per_restaurant(restaurant_ids, directory).values():
        part = utc.iloc[pos].astype("datetime64[ns, UTC]")
        bdate.iloc[pos] = business_date(part, info.timezone, info.cutoff_hour).to_numpy()
    return bdate


def blank_to_none(values: pd.Series) -> pd.Series:
    """Strips strings; blanks become None."""
    s = values.astype("string").str.strip()
    return s.where(s.notna() & (s != ""), None).astype(object)


def resolve_locations(
    locations: pd.Series, provider: str, directory: Directory
) -> pd.Series:
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
    return currencies.map(lambda cur: currency_exponent(str(cur))).astype(np.int64)


LINE_REQUIRED_NOTNULL = (c.RESTAURANT_ID, c.ORDER_ID, c.LINE_ID, c.TS_UTC, c.BUSINESS_DATE)
