"""Exogenous drivers, format ``regressors``: weather, reservations, promotions, local events with a
size; one value per restaurant (or every restaurant), day or 15-minute slot, and name.

Columns: ``restaurant_id`` (a Flux id; ``*`` or blank: every restaurant), ``ts`` (a date,
``2026-03-06``, or a 15-minute slot's local start, ``2026-03-06 18:15``), ``name`` (a letter, then
letters, digits or ``_``, up to 64), ``value`` (a number; it may be negative, e.g. a temperature)
and ``known_in_advance`` (``true``/``false``: whether the value is known before its day, like a
booked promotion or reservations, or only after, like the rain that fell). One name has one
``known_in_advance`` throughout the file.

Unlike sales files, a regressors file is all or nothing: a bad row fails the import (exit 2,
naming the file, row and field) and nothing is written, because a driver silently missing on
some days would bias every model that uses it. Re-importing updates values in place (natural
key: restaurant, name, date and slot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._csv_common import (
    RowChecks,
    assemble,
    header_fields,
    is_blank,
    is_match,
    sorted_rejects,
    table_result,
    text,
)
from pipelines.io.adapters.base import ParseContext, ParsedFile
from pipelines.io.adapters.common import display_path, parse_number, read_csv_table

NAME: Final = "regressors"
TS: Final = "ts"
COLUMNS: Final = (c.RESTAURANT_ID, TS, c.NAME, c.VALUE, c.KNOWN_IN_ADVANCE)
"""The file's header."""

NAME_PATTERN: Final = r"[A-Za-z][A-Za-z0-9_]{0,63}"
"""Regressor names: they become model columns and feature names."""

_DATE: Final = r"\d{4}-\d{2}-\d{2}"
_SLOT: Final = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:00)?"
_TRUE: Final = ("true", "t", "yes", "y", "1")
_FALSE: Final = ("false", "f", "no", "n", "0")
_DTYPES: Final = {c.DATE: "datetime64[ns]", c.VALUE: "float64", c.KNOWN_IN_ADVANCE: "bool"}


class RegressorsAdapter:
    """Reads a regressors CSV."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """Whether the header has the regressors columns (``known_in_advance`` among them)."""
        fields = header_fields(head)
        return {c.KNOWN_IN_ADVANCE, c.NAME, c.VALUE} <= fields and TS in fields

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the values.

        Raises:
            ImportFileError: unreadable file, a column missing, or any bad row (the first one,
                with its row and field).
        """
        table = read_csv_table(path, COLUMNS, encoding=ctx.encoding)
        f = table.frame
        checks = RowChecks.for_table(table)
        rid = text(f[c.RESTAURANT_ID])
        rid = rid.where(rid != "", c.ALL_RESTAURANTS)
        known = {info.id for info in ctx.directory} | {c.ALL_RESTAURANTS}
        checks.reject(
            ~rid.isin(list(known)).to_numpy(dtype=bool),
            c.RESTAURANT_ID,
            "unknown restaurant (import its restaurants.csv row first; * or blank means every "
            "restaurant)",
            rid,
        )
        day, slot = _timestamps(f[TS], checks)
        name = text(f[c.NAME])
        checks.reject(
            ~is_match(name, NAME_PATTERN),
            c.NAME,
            "not a regressor name: a letter, then up to 63 letters, digits or '_'",
            name,
        )
        value, bad_value = parse_number(f[c.VALUE])
        checks.reject(is_blank(f[c.VALUE]), c.VALUE, "missing value")
        checks.reject(bad_value.to_numpy(dtype=bool), c.VALUE, "not a number", f[c.VALUE])
        flag = text(f[c.KNOWN_IN_ADVANCE]).str.lower()
        checks.reject(
            ~flag.isin([*_TRUE, *_FALSE]).to_numpy(dtype=bool),
            c.KNOWN_IN_ADVANCE,
            "not true or false",
            f[c.KNOWN_IN_ADVANCE],
        )
        known_in_advance = flag.isin(_TRUE)
        first = known_in_advance.groupby(name).transform("first")
        checks.reject(
            (known_in_advance != first).to_numpy(dtype=bool),
            c.KNOWN_IN_ADVANCE,
            "differs from this name's first row (a regressor is known in advance or not, "
            "throughout)",
            f[c.KNOWN_IN_ADVANCE],
        )
        frame = assemble(
            checks,
            {
                c.RESTAURANT_ID: rid,
                c.DATE: day,
                c.SLOT: slot,
                c.NAME: name,
                c.VALUE: value,
                c.KNOWN_IN_ADVANCE: known_in_advance,
            },
            c.REGRESSOR_COLUMNS,
            _DTYPES,
        )
        if len(table.rejects):
            bad = sorted_rejects(table.rejects).iloc[0]
            raise ImportFileError(
                display_path(path),
                f"{bad[c.REJECT_REASON]} (a regressors file is imported whole or not at all: "
                "nothing was imported)",
                row=int(bad[c.REJECT_ROW]),
                field=str(bad[c.REJECT_FIELD]),
            )
        frame[c.SLOT] = frame[c.SLOT].fillna("")
        return table_result(table, NAME, regressors=frame)


def _timestamps(values: pd.Series, checks: RowChecks) -> tuple[pd.Series, pd.Series]:
    """Each row's date and slot (``HH:MM``, or ``""`` for a date); bad ones are rejected."""
    raw = text(values)
    is_day = is_match(raw, _DATE)
    is_slot = is_match(raw, _SLOT)
    stamp = pd.to_datetime(raw.str.replace("T", " ", regex=False), errors="coerce", format="mixed")
    bad = ~(is_day | is_slot) | stamp.isna().to_numpy(dtype=bool)
    checks.reject(
        bad, TS, "not a date (YYYY-MM-DD) or a local slot time (YYYY-MM-DD HH:MM)", values
    )
    minutes = stamp.dt.minute.fillna(0).to_numpy()
    checks.reject(
        is_slot & ~bad & (minutes % 15 != 0), TS, "not the start of a 15-minute slot", values
    )
    slot = pd.Series(np.where(is_slot & ~bad, stamp.dt.strftime("%H:%M"), ""), index=raw.index)
    return stamp.dt.normalize(), slot


ADAPTER: Final = RegressorsAdapter()
