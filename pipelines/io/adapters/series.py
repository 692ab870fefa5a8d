"""Pre-aggregated series, format ``series``: one value per restaurant, day and target.

A long CSV with ``restaurant_id, date, target, value`` (e.g. daily ``visitors``), or any CSV with a
mapping (``--map restaurant_id=air_store_id --map date=visit_date --map value=visitors --target
visitors``): a field the mapping leaves out is read from the column of its own name, and the
mapping's ``target`` (or ``restaurant``) setting stands for a missing column.

Targets are those of :data:`models.columns.SERIES_TARGETS` (``covers``, ``orders``, ``net_sales``
in currency units, ``visitors``); a demand target's series joins the one Flux rolls up from order
lines (the series wins on a day both have). Values are non-negative numbers. A missing day is a
closed day, not zero, so blank values are rejected rather than read as 0. Rows repeating a
(restaurant, date, target) are all returned in file order; storing them is the loader's job (the
last one wins there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pandas as pd

from models import columns as c
from pipelines.errors import ConfigError, ImportFileError
from pipelines.io.adapters._csv_common import (
    RowChecks,
    assemble,
    is_blank,
    looks_like,
    parse_quantity,
    resolve_restaurants,
    table_result,
    text,
)
from pipelines.io.adapters._mapping import Field
from pipelines.io.adapters.base import (
    OBSERVATION_COLUMNS,
    ColumnMapping,
    ParseContext,
    ParsedFile,
)
from pipelines.io.adapters.common import display_path, parse_timestamps, read_csv_table

NAME: Final = "series"
PROVIDER: Final = "csv"
"""The POS provider whose location ids a series' restaurant column may hold (else Flux ids)."""

LONG_COLUMNS: Final = (Field.RESTAURANT_ID, Field.DATE, Field.TARGET, Field.VALUE)
"""The long format's header (also each field's column when a mapping leaves it out)."""

_DTYPES: Final = {c.DATE: "datetime64[ns]", c.VALUE: "float64"}


class SeriesAdapter:
    """Reads pre-aggregated daily series."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header has most of the long format's columns."""
        return looks_like(head, LONG_COLUMNS)

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the observations; bad rows become rejects.

        Raises:
            ImportFileError: unreadable file, a needed column missing, or the mapping's fixed
                restaurant unknown.
        """
        mapping = ctx.mapping or ColumnMapping(columns={})
        check_target(mapping.target)
        columns = _columns(mapping)
        table = read_csv_table(path, tuple(columns.values()), encoding=ctx.encoding)
        f = table.frame
        checks = RowChecks.for_table(table)
        restaurant = _restaurants(path, f, columns=columns, mapping=mapping, checks=checks, ctx=ctx)
        target = _targets(f, columns, mapping, checks)
        day, bad_day = parse_timestamps(f[columns[Field.DATE]], mapping.timestamp_format)
        checks.reject(bad_day, columns[Field.DATE], "not a date", f[columns[Field.DATE]])
        value = _values(f[columns[Field.VALUE]], columns[Field.VALUE], checks)
        observations = assemble(
            checks,
            {
                c.RESTAURANT_ID: restaurant,
                c.DATE: day.dt.normalize(),
                c.TARGET: target,
                c.VALUE: value,
            },
            OBSERVATION_COLUMNS,
            _DTYPES,
        )
        return table_result(table, NAME, observations=observations)


def _columns(mapping: ColumnMapping) -> dict[str, str]:
    """Each field's file column; the restaurant and target may come from settings instead."""
    columns = {name: mapping.columns.get(name, name) for name in LONG_COLUMNS}
    if mapping.restaurant is not None and Field.RESTAURANT_ID not in mapping.columns:
        del columns[Field.RESTAURANT_ID]
    if mapping.target is not None and Field.TARGET not in mapping.columns:
        del columns[Field.TARGET]
    return columns


def _restaurants(
    path: Path,
    f: pd.DataFrame,
    *,
    columns: dict[str, str],
    mapping: ColumnMapping,
    checks: RowChecks,
    ctx: ParseContext,
) -> pd.Series:
    """Each row's restaurant: the mapping's fixed one, or the column's."""
    column = columns.get(Field.RESTAURANT_ID)
    if column is None:
        info = ctx.directory.by_location(PROVIDER, str(mapping.restaurant))
        if info is None:
            raise ImportFileError(
                display_path(path),
                f"unknown restaurant {mapping.restaurant!r} (the mapping's restaurant); import "
                "its restaurants.csv row first",
            )
        return pd.Series(info.id, index=f.index, dtype=object)
    restaurant, unknown = resolve_restaurants(f[column], PROVIDER, ctx.directory)
    checks.reject(unknown, column, "unknown restaurant", f[column])
    return restaurant


def _targets(
    f: pd.DataFrame, columns: dict[str, str], mapping: ColumnMapping, checks: RowChecks
) -> pd.Series:
    """Each row's target: the mapping's fixed one, or the column's."""
    column = columns.get(Field.TARGET)
    if column is None:
        return pd.Series(mapping.target, index=f.index, dtype=object)
    target = text(f[column])
    checks.reject(is_blank(target), column, "missing target")
    known = target.isin(c.SERIES_TARGETS).to_numpy(dtype=bool)
    checks.reject(~known, column, f"unknown target (one of {', '.join(c.SERIES_TARGETS)})", target)
    return target


def check_target(target: str | None) -> None:
    """Refuses a series target Flux cannot forecast (``--target`` or a mapping's ``target``).

    Raises:
        ConfigError: the target is not one of :data:`models.columns.SERIES_TARGETS`.
    """
    if target is not None and target not in c.SERIES_TARGETS:
        raise ConfigError(
            f"unknown series target {target!r}; choose one of: {', '.join(c.SERIES_TARGETS)}"
        )


def _values(values: pd.Series, column: str, checks: RowChecks) -> pd.Series:
    """Each row's value: a non-negative number."""
    checks.reject(is_blank(values), column, "missing value (leave a closed day out)")
    number, bad = parse_quantity(values)
    checks.reject(bad, column, "not a number", values)
    checks.reject((number < 0).to_numpy(dtype=bool), column, "negative value", values)
    return number


ADAPTER: Final = SeriesAdapter()
