"""Restaurant metadata (``restaurants.csv``, format ``restaurants``) and calendar events
(``events.csv``, format ``events``).

Restaurants: ``restaurant_id, name, timezone, country, subdivision, cutoff_hour, pos_provider,
pos_location_id, currency``. The time zone must be an IANA name, the country one the ``holidays``
package knows (and the subdivision one of its subdivisions), the cutoff a whole hour 0–12, the
provider a known POS (or blank) and the currency three letters. ``subdivision``,
``pos_provider`` and ``pos_location_id`` may be left out of the header; a blank name is the id.
A restaurant id, or a (provider, location) pair, that appears again is rejected (the first
row stands). An optional ``tenant`` column names each restaurant's tenant (restaurant group;
blank or absent: the tenant the import is for, ``default`` unless ``--tenant`` says); a row for
another tenant than the import's is rejected (see docs/tenancy.md).

Events: ``restaurant_id`` (blank or absent: every restaurant), ``kind`` (``closure | holiday |
event``), ``name`` (blank: the kind), ``start_date``, ``end_date`` (ISO dates, inclusive; blank:
the start date), ``lower_window`` and ``upper_window`` (whole days, ``lower ≤ 0 ≤ upper``; blank:
0).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Final

import holidays
import numpy as np
import pandas as pd

from models import columns as c
from pipelines.io.adapters._csv_common import (
    RowChecks,
    assemble,
    is_blank,
    is_match,
    looks_like,
    optional_column,
    table_result,
    text,
)
from pipelines.io.adapters.base import (
    EVENT_COLUMNS,
    RESTAURANT_COLUMNS,
    Directory,
    ParseContext,
    ParsedFile,
)
from pipelines.io.adapters.common import (
    CsvTable,
    is_currency,
    parse_timestamps,
    read_csv_table,
)
from pipelines.io.tenancy import DEFAULT_TENANT, TENANT_PATTERN

RESTAURANT_ID_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
"""Restaurant ids: they name artefact files and folders, so only these characters."""

POS_PROVIDERS: Final = ("toast", "square", "lightspeed", "clover", "revel", "csv")
"""The ``pos_provider`` values Flux knows."""

MAX_CUTOFF_HOUR: Final = 12
MAX_WINDOW_DAYS: Final = 366
_DATE_FORMAT: Final = "%Y-%m-%d"
_DATE_PATTERN: Final = r"\d{4}-\d{2}-\d{2}"
_HOUR_PATTERN: Final = r"\d{1,2}"
_WINDOW_PATTERN: Final = r"[+-]?\d{1,3}"


class RestaurantCol:
    """Columns of ``restaurants.csv``."""

    ID: Final = c.RESTAURANT_ID
    NAME: Final = c.NAME
    TIMEZONE: Final = c.TIMEZONE
    COUNTRY: Final = c.COUNTRY
    SUBDIVISION: Final = c.SUBDIVISION
    CUTOFF_HOUR: Final = c.CUTOFF_HOUR
    PROVIDER: Final = c.POS_PROVIDER
    LOCATION: Final = c.POS_LOCATION_ID
    CURRENCY: Final = c.CURRENCY
    TENANT: Final = "tenant"
    REQUIRED: Final = (ID, NAME, TIMEZONE, COUNTRY, CUTOFF_HOUR, CURRENCY)


class EventCol:
    """Columns of ``events.csv``."""

    RESTAURANT_ID: Final = c.RESTAURANT_ID
    KIND: Final = c.EVENT_KIND
    NAME: Final = c.NAME
    START: Final = c.START_DATE
    END: Final = c.END_DATE
    LOWER: Final = c.LOWER_WINDOW
    UPPER: Final = c.UPPER_WINDOW
    REQUIRED: Final = (KIND, NAME, START)


@functools.cache
def _time_zones() -> frozenset[str]:
    """The IANA time zone names this system knows."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def _subdivisions() -> dict[str, dict[str, str]]:
    """Country code → {upper-case subdivision code → its spelling in ``holidays``}."""
    return {
        country: {code.upper(): code for code in codes}
        for country, codes in holidays.list_supported_countries().items()
    }


def _lookup(values: pd.Series, valid: Callable[[str], bool]) -> np.ndarray:
    """Where ``valid`` is false for a value (checked once per distinct value)."""
    verdict = {value: not valid(value) for value in values.unique()}
    return values.map(verdict).to_numpy(dtype=bool)


def _duplicated(*keys: pd.Series) -> np.ndarray:
    """Rows whose keys appeared on an earlier row."""
    return pd.DataFrame(dict(enumerate(keys))).duplicated().to_numpy(dtype=bool)


# --------------------------------------------------------------------------- restaurants


class RestaurantsAdapter:
    """Reads ``restaurants.csv``."""

    name = "restaurants"

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header has most of the restaurants columns."""
        return looks_like(head, RESTAURANT_COLUMNS)

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the restaurants; rows with bad values become rejects.

        Raises:
            ImportFileError: unreadable file or a required column missing.
        """
        table = read_csv_table(path, RestaurantCol.REQUIRED, encoding=ctx.encoding)
        frame = _restaurants(table, RowChecks.for_table(table), ctx.directory, ctx.tenant)
        return table_result(table, self.name, restaurants=frame)


def _tenants(f: pd.DataFrame, checks: RowChecks, tenant: str | None) -> pd.Series:
    """Each row's tenant: its ``tenant`` value, or the import's (``default`` for an import for
    all tenants); a row for another tenant than the import's is rejected."""
    given = text(optional_column(f, RestaurantCol.TENANT))
    fallback = DEFAULT_TENANT if tenant is None else tenant
    values = given.where(given != "", fallback)
    checks.reject(
        ~is_match(values, TENANT_PATTERN),
        RestaurantCol.TENANT,
        "not a tenant id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
        "digit",
        given,
    )
    if tenant is not None:
        checks.reject(
            (values != tenant).to_numpy(dtype=bool) & is_match(values, TENANT_PATTERN),
            RestaurantCol.TENANT,
            f"this import is for tenant {tenant!r}: import another tenant's restaurants with "
            "--tenant (or --all-tenants)",
            given,
        )
    return values


def _restaurants(
    table: CsvTable, checks: RowChecks, known: Directory, tenant: str | None
) -> pd.DataFrame:
    """The ``restaurants`` frame of a file; bad rows are rejected."""
    f = table.frame
    tenants = _tenants(f, checks, tenant)
    rid = text(f[RestaurantCol.ID])
    checks.reject(is_blank(rid), RestaurantCol.ID, "missing restaurant id")
    checks.reject(
        ~is_match(rid, RESTAURANT_ID_PATTERN) & ~is_blank(rid),
        RestaurantCol.ID,
        "not a restaurant id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
        "or digit (it names files and folders)",
        rid,
    )
    zone = text(f[RestaurantCol.TIMEZONE])
    checks.reject(
        _lookup(zone, lambda z: z in _time_zones()),
        RestaurantCol.TIMEZONE,
        "not an IANA time zone (e.g. America/New_York)",
        zone,
    )
    country, subdivision = _places(f, checks)
    hour = text(f[RestaurantCol.CUTOFF_HOUR])
    hour_ok = is_match(hour, _HOUR_PATTERN)
    hour_num = pd.to_numeric(hour.where(hour_ok, "0")).astype(np.int64)
    checks.reject(
        ~hour_ok | (hour_num > MAX_CUTOFF_HOUR).to_numpy(),
        RestaurantCol.CUTOFF_HOUR,
        f"not a whole hour from 0 to {MAX_CUTOFF_HOUR}",
        hour,
    )
    provider = text(optional_column(f, RestaurantCol.PROVIDER)).str.lower()
    checks.reject(
        ~(provider.isin(POS_PROVIDERS) | (provider == "")).to_numpy(dtype=bool),
        RestaurantCol.PROVIDER,
        f"unknown POS provider (expected one of {', '.join(POS_PROVIDERS)}, or blank)",
        provider,
    )
    location = text(optional_column(f, RestaurantCol.LOCATION))
    currency = text(f[RestaurantCol.CURRENCY])
    real = {code: is_currency(code) for code in currency.unique()}
    checks.reject(
        ~currency.map(real).fillna(False).astype(bool).to_numpy(dtype=bool),
        RestaurantCol.CURRENCY,
        "not an ISO 4217 currency code (with a minor unit, e.g. USD, EUR, JPY)",
        currency,
    )
    _reject_repeats(rid, provider, location, checks)
    _reject_claimed(rid, provider, location, checks, known)
    name = text(f[RestaurantCol.NAME])
    return assemble(
        checks,
        {
            c.RESTAURANT_ID: rid,
            c.NAME: name.where(name != "", rid),
            c.TIMEZONE: zone,
            c.COUNTRY: country,
            c.SUBDIVISION: subdivision,
            c.CUTOFF_HOUR: hour_num,
            c.POS_PROVIDER: provider,
            c.POS_LOCATION_ID: location,
            c.CURRENCY: currency.str.upper(),
            c.TENANT_ID: tenants,
        },
        (*RESTAURANT_COLUMNS, c.TENANT_ID),
        {c.CUTOFF_HOUR: "int64"},
    )


def _places(f: pd.DataFrame, checks: RowChecks) -> tuple[pd.Series, pd.Series]:
    """Country codes and subdivision codes as ``holidays`` spells them."""
    known = _subdivisions()
    country = text(f[RestaurantCol.COUNTRY]).str.upper()
    checks.reject(
        ~country.isin(list(known)).to_numpy(dtype=bool),
        RestaurantCol.COUNTRY,
        "not a country code the holidays calendar knows (ISO 3166 alpha-2, e.g. US)",
        country,
    )
    given = text(optional_column(f, RestaurantCol.SUBDIVISION))
    pairs = country.str.cat(given.str.upper(), sep="\t")
    spelled = {
        pair: known.get(pair.split("\t")[0], {}).get(pair.split("\t")[1]) for pair in pairs.unique()
    }
    subdivision = pairs.map(spelled).astype(object)
    checks.reject(
        (given != "").to_numpy(dtype=bool) & subdivision.isna().to_numpy(dtype=bool),
        RestaurantCol.SUBDIVISION,
        "not a subdivision of that country in the holidays calendar",
        given,
    )
    return country, subdivision.where(subdivision.notna(), "")


def _reject_repeats(
    rid: pd.Series, provider: pd.Series, location: pd.Series, checks: RowChecks
) -> None:
    """Rejects a restaurant id, or a POS location, seen on an earlier row."""
    checks.reject(_duplicated(rid), RestaurantCol.ID, "restaurant id appears again", rid)
    placed = ((provider != "") & (location != "")).to_numpy(dtype=bool)
    checks.reject(
        _duplicated(provider.where(placed, rid), location.where(placed, rid)) & placed,
        RestaurantCol.LOCATION,
        "another restaurant already has this pos_provider and pos_location_id",
        location,
    )


def _reject_claimed(
    rid: pd.Series,
    provider: pd.Series,
    location: pd.Series,
    checks: RowChecks,
    known: Directory,
) -> None:
    """Rejects a POS location that an already imported restaurant holds: one (provider,
    location) must never feed two restaurants."""
    for i, (r, p, loc) in enumerate(zip(rid, provider, location, strict=True)):
        holder = known.by_location(p, loc) if p and loc else None
        if holder is not None and holder.id != r and holder.pos_location_id == loc:
            bad = np.zeros(len(rid), dtype=bool)
            bad[i] = True
            checks.reject(
                bad,
                RestaurantCol.LOCATION,
                f"pos_provider {p} and pos_location_id {loc!r} already belong to restaurant "
                f"{holder.id}",
            )


# -------------------------------------------------------------------------------- events


class EventsAdapter:
    """Reads ``events.csv``."""

    name = "events"

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header has most of the events columns."""
        return looks_like(head, EVENT_COLUMNS)

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the events; rows with bad values become rejects.

        Raises:
            ImportFileError: unreadable file or a required column missing.
        """
        table = read_csv_table(path, EventCol.REQUIRED, encoding=ctx.encoding)
        frame = _events(table, RowChecks.for_table(table), ctx)
        return table_result(table, self.name, events=frame)


def _events(table: CsvTable, checks: RowChecks, ctx: ParseContext) -> pd.DataFrame:
    """The ``events`` frame of a file; bad rows are rejected."""
    f = table.frame
    rid = text(optional_column(f, EventCol.RESTAURANT_ID))
    known = {info.id for info in ctx.directory}
    checks.reject(
        ((rid != "") & ~rid.isin(list(known))).to_numpy(dtype=bool),
        EventCol.RESTAURANT_ID,
        "unknown restaurant (blank means every restaurant)",
        rid,
    )
    kind = text(f[EventCol.KIND]).str.lower()
    checks.reject(
        ~kind.isin(c.EVENT_KINDS).to_numpy(dtype=bool),
        EventCol.KIND,
        f"unknown kind (expected {' | '.join(c.EVENT_KINDS)})",
        f[EventCol.KIND],
    )
    start = _date(f[EventCol.START], EventCol.START, checks)
    end_text = text(optional_column(f, EventCol.END))
    end = _date(end_text.where(end_text != "", text(f[EventCol.START])), EventCol.END, checks)
    checks.reject(
        (end < start).to_numpy(dtype=bool), EventCol.END, "ends before it starts", end_text
    )
    lower = _window(f, EventCol.LOWER, checks)
    upper = _window(f, EventCol.UPPER, checks)
    checks.reject((lower > 0).to_numpy(), EventCol.LOWER, "must be 0 or negative (days before)")
    checks.reject((upper < 0).to_numpy(), EventCol.UPPER, "must be 0 or positive (days after)")
    name = text(f[EventCol.NAME])
    return assemble(
        checks,
        {
            c.RESTAURANT_ID: rid,
            c.EVENT_KIND: kind,
            c.NAME: name.where(name != "", kind),
            c.START_DATE: start,
            c.END_DATE: end,
            c.LOWER_WINDOW: lower,
            c.UPPER_WINDOW: upper,
        },
        EVENT_COLUMNS,
        {
            c.START_DATE: "datetime64[ns]",
            c.END_DATE: "datetime64[ns]",
            c.LOWER_WINDOW: "int64",
            c.UPPER_WINDOW: "int64",
        },
    )


def _date(values: pd.Series, column: str, checks: RowChecks) -> pd.Series:
    """ISO dates (``YYYY-MM-DD``) of a column; bad ones are rejected."""
    day, bad = parse_timestamps(values, _DATE_FORMAT)
    checks.reject(bad | ~is_match(values, _DATE_PATTERN), column, "not a date (YYYY-MM-DD)", values)
    return day


def _window(f: pd.DataFrame, column: str, checks: RowChecks) -> pd.Series:
    """Whole numbers of days of a window column (blank is 0); bad ones are rejected."""
    values = text(optional_column(f, column))
    given = values != ""
    ok = is_match(values, _WINDOW_PATTERN) | ~given.to_numpy(dtype=bool)
    checks.reject(~ok, column, "not a whole number of days", values)
    days = pd.to_numeric(values.where(given.to_numpy() & ok, "0")).astype(np.int64)
    checks.reject((days.abs() > MAX_WINDOW_DAYS).to_numpy(), column, "more than a year", values)
    return days


RESTAURANTS: Final = RestaurantsAdapter()
EVENTS: Final = EventsAdapter()
