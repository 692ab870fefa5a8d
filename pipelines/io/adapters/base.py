"""The contract every import adapter follows.

An adapter turns one file (a vendor's export, a mapped CSV, a series, restaurant metadata or
calendar events) into normalised frames. It never touches the database: what it needs to know
about restaurants (time zone, cutoff, currency, POS location) comes in a :class:`Directory`.

Frames an adapter returns (columns from :mod:`models.columns`):

- ``orders``: restaurant_id, source, order_id, opened_at_utc (UTC), business_date, covers (Int64,
  NA where the source has no guest count), net_amount_minor (Int64: the order's net sales, after
  discounts and before tax, for sources that give order totals; NA where the order's lines carry
  the money, and for orders that are not demand, e.g. voided). An order with no lines at all
  counts as demand when its ``net_amount_minor`` is set; once it has lines, the lines decide.
- ``lines``: restaurant_id, source, order_id, line_id, parent_line_id (None for top-level lines),
  ts_utc (UTC), business_date, item, category, quantity (float), net_amount_minor (int64, after
  discounts, before tax; negative for refunds), currency, kind (sale | void | refund | comp).
- ``observations``: restaurant_id, date, target, value (pre-aggregated series).
- ``restaurants`` and ``events``: metadata, see :data:`RESTAURANT_COLUMNS` and
  :data:`EVENT_COLUMNS`.
- ``regressors``: exogenous drivers, :data:`models.columns.REGRESSOR_COLUMNS`.
- ``rejects``: row (1-based; the CSV header is row 1, a JSON file's first record is row 1),
  field, reason, raw (the original row as text).

``business_date`` is a ``datetime64`` at midnight (the local business day: local wall time minus
the restaurant's cutoff hour).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError

ORDER_COLUMNS: tuple[str, ...] = (
    c.RESTAURANT_ID,
    c.SOURCE,
    c.ORDER_ID,
    c.OPENED_AT_UTC,
    c.BUSINESS_DATE,
    c.COVERS,
    c.NET_AMOUNT_MINOR,
)
LINE_COLUMNS: tuple[str, ...] = (
    c.RESTAURANT_ID,
    c.SOURCE,
    c.ORDER_ID,
    c.LINE_ID,
    c.PARENT_LINE_ID,
    c.TS_UTC,
    c.BUSINESS_DATE,
    c.ITEM,
    c.CATEGORY,
    c.QUANTITY,
    c.NET_AMOUNT_MINOR,
    c.CURRENCY,
    c.KIND,
)
OBSERVATION_COLUMNS: tuple[str, ...] = (c.RESTAURANT_ID, c.DATE, c.TARGET, c.VALUE)
RESTAURANT_COLUMNS: tuple[str, ...] = (
    c.RESTAURANT_ID,
    c.NAME,
    c.TIMEZONE,
    c.COUNTRY,
    c.SUBDIVISION,
    c.CUTOFF_HOUR,
    c.POS_PROVIDER,
    c.POS_LOCATION_ID,
    c.CURRENCY,
)
EVENT_COLUMNS: tuple[str, ...] = c.EVENT_COLUMNS
GENERIC_PROVIDER = "csv"
"""The provider of Flux's own formats (mapped CSV, series): their restaurant column may hold any
restaurant's Flux id."""

REJECT_COLUMNS: tuple[str, ...] = (c.REJECT_ROW, c.REJECT_FIELD, c.REJECT_REASON, c.REJECT_RAW)


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    """An empty frame with the given columns."""
    return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})


@dataclass(frozen=True)
class RestaurantInfo:
    """What an adapter needs to know about one restaurant."""

    id: str
    timezone: str
    cutoff_hour: int
    currency: str = "USD"
    pos_provider: str | None = None
    pos_location_id: str | None = None


class Directory:
    """Looks restaurants up by id or by their POS provider and location id."""

    def __init__(self, restaurants: Iterable[RestaurantInfo]) -> None:
        self._by_id: dict[str, RestaurantInfo] = {}
        self._by_location: dict[tuple[str, str], RestaurantInfo] = {}
        for info in restaurants:
            self.add(info)

    def add(self, info: RestaurantInfo) -> None:
        """Adds or replaces one restaurant."""
        self._by_id[info.id] = info
        if info.pos_provider and info.pos_location_id:
            self._by_location[(info.pos_provider, info.pos_location_id)] = info

    def by_id(self, restaurant_id: str) -> RestaurantInfo | None:
        """The restaurant with this Flux id, if known."""
        return self._by_id.get(restaurant_id)

    def by_location(self, provider: str, location: str) -> RestaurantInfo | None:
        """The restaurant a POS location belongs to, if known.

        A Flux restaurant id also matches: in Flux's own formats (mapped CSV and series, provider
        ``csv``) any restaurant's; in a vendor's file only a restaurant of that vendor (or of
        none), so one vendor's file can never land in another vendor's restaurant.
        """
        found = self._by_location.get((provider, location))
        if found is not None:
            return found
        info = self._by_id.get(location)
        if info is not None and (
            provider == GENERIC_PROVIDER or info.pos_provider in (None, "", provider)
        ):
            return info
        return None

    def of_provider(self, provider: str) -> list[RestaurantInfo]:
        """The restaurants whose POS provider is ``provider``."""
        return [info for info in self._by_id.values() if info.pos_provider == provider]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass(frozen=True)
class ColumnMapping:
    """A mapping from Flux's canonical fields to a file's columns (generic CSV and series).

    Attributes:
        columns: canonical field name -> the file's column name.
        source: the source-system label stored with each line.
        restaurant: a fixed restaurant id for files without a restaurant column.
        timestamp_format: strptime format of the timestamp column; None means ISO 8601.
        timezone: "local" (naive times in the restaurant's zone), "utc", or "offset" (the
            strings carry their UTC offset).
        money: "decimal" (e.g. "12.50") or "minor" (integer minor units, e.g. cents).
        kinds: the file's kind values -> sale | void | refund | comp.
        target: for series files without a target column, the target name (e.g. "visitors").
    """

    columns: dict[str, str]
    source: str = "csv"
    restaurant: str | None = None
    timestamp_format: str | None = None
    timezone: str = "local"
    money: str = "decimal"
    kinds: dict[str, str] = field(default_factory=dict)
    target: str | None = None


@dataclass(frozen=True)
class ParseContext:
    """Everything an adapter may use besides the file itself.

    Attributes:
        directory: The known restaurants.
        mapping: Column mapping for generic CSV and series files.
        encoding: Text encoding (None: UTF-8 with or without BOM).
        restaurant: The one restaurant named with ``--restaurant`` (None when none or several
            were named): the restaurant of a file whose body does not say.
        tenant: The tenant the import is for (None: all tenants, ``--all-tenants``); the
            directory holds only its restaurants.
    """

    directory: Directory
    mapping: ColumnMapping | None = None
    encoding: str | None = None
    restaurant: str | None = None
    tenant: str | None = "default"


def resolve_file_restaurant(
    path: Path,
    ctx: ParseContext,
    provider: str,
    *,
    carried: Sequence[tuple[str, str]] = (),
    why: str = "",
) -> RestaurantInfo:
    """The restaurant of a whole file whose records do not name it.

    Tried in order: each location id the file carries (``carried``: (field, value) pairs, e.g.
    a Clover ``href``'s merchant id) against ``pos_location_id``; the restaurant named with
    ``--restaurant``; then the file's folder and file names against the ``pos_location_id`` of
    the provider's restaurants (a Toast export folder is named after its restaurant). Nothing is
    guessed beyond that.

    Args:
        path: The file.
        ctx: The parse context.
        provider: The POS provider (``toast``, ``clover``...).
        carried: Location ids the file itself carries, with the field each came from.
        why: Why the file cannot name its restaurant, for the error message (e.g. "Toast's
            ordersBulk response names the restaurant only in a request header").

    Raises:
        ImportFileError: no restaurant matches; the message says what was tried.
    """
    unknown: list[str] = []
    for field_name, value in carried:
        info = ctx.directory.by_location(provider, value)
        if info is not None:
            return info
        unknown.append(f"{field_name} {value!r}")
    if ctx.restaurant is not None:
        info = ctx.directory.by_id(ctx.restaurant)
        if info is not None and info.pos_provider not in (None, "", provider):
            raise ImportFileError(
                str(path),
                f"this is a {provider} file, but restaurant {info.id} (--restaurant) takes its "
                f"sales from {info.pos_provider} (restaurants.csv pos_provider)",
            )
        if info is None:
            raise ImportFileError(
                str(path), f"unknown restaurant {ctx.restaurant!r} (--restaurant)"
            )
        return info
    if not unknown:
        parts = {p.split(".")[0] for p in path.parts} | set(path.parts)
        matches = [
            info
            for info in ctx.directory.of_provider(provider)
            if info.pos_location_id and info.pos_location_id in parts
        ]
        if len(matches) == 1:
            return matches[0]
    said = (
        f"the file names location {', '.join(unknown)}, which no restaurant with "
        f"pos_provider {provider} has as its pos_location_id"
        if unknown
        else (why or "the file does not name its restaurant")
    )
    raise ImportFileError(
        str(path),
        f"cannot tell which restaurant this file belongs to: {said}; pass --restaurant ID, "
        f"or put the file in a folder named after the restaurant's pos_location_id "
        f"(restaurants.csv, pos_provider {provider})",
        field=carried[0][0] if carried else None,
    )


@dataclass
class ParsedFile:
    """What one file yielded: normalised frames plus the rows rejected, with reasons.

    ``orders_fill_in``: the file's orders only fill in what is not stored yet (e.g. Toast's
    CheckDetails, whose party sizes must not overwrite OrderDetails' guest counts), so any
    subset of a vendor's files gives the same figures in any import order.
    """

    path: str
    format: str
    rows_read: int
    orders: pd.DataFrame = field(default_factory=lambda: empty_frame(ORDER_COLUMNS))
    lines: pd.DataFrame = field(default_factory=lambda: empty_frame(LINE_COLUMNS))
    observations: pd.DataFrame = field(default_factory=lambda: empty_frame(OBSERVATION_COLUMNS))
    restaurants: pd.DataFrame = field(default_factory=lambda: empty_frame(RESTAURANT_COLUMNS))
    events: pd.DataFrame = field(default_factory=lambda: empty_frame(EVENT_COLUMNS))
    regressors: pd.DataFrame = field(default_factory=lambda: empty_frame(c.REGRESSOR_COLUMNS))
    rejects: pd.DataFrame = field(default_factory=lambda: empty_frame(REJECT_COLUMNS))
    orders_fill_in: bool = False


class Adapter(Protocol):
    """One file format."""

    name: str
    """The ``--format`` value, e.g. ``toast``."""

    def sniff(self, path: Path, head: str) -> bool:
        """Whether this adapter reads the file, from its name and first few KB of text."""
        ...

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads and normalises the file.

        Raises:
            ImportFileError: the file cannot be read at all, or a required column or field is
                missing. Row-level problems are rejects, not errors.
        """
        ...
