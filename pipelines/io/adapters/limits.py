"""Import limits: how big a file and a text field may be, and the checks every record gets.

Every record an adapter builds passes :func:`text_problems` once, where it is built (the CSV
``assemble`` and the JSON builder), so SQLite and PostgreSQL answer the same: an id longer than
its column, a name longer than ``max_text_chars`` or any text holding a NUL byte rejects the row
(PostgreSQL cannot store NUL bytes at all; SQLite would store them silently).

The limits come from the settings (``[limits]``), set for the duration of an import with
:func:`using` by the pipeline; adapters read them with :func:`current`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from models import columns as c


@dataclass(frozen=True)
class ImportLimits:
    """Limits of one import.

    Attributes:
        max_file_bytes: A file's size once gunzipped (guards against gzip bombs).
        max_text_chars: The longest item, category, restaurant or event name.
    """

    max_file_bytes: int = 2 * 1024**3
    max_text_chars: int = 1_000


DEFAULT: Final = ImportLimits()
_CURRENT: ContextVar[ImportLimits | None] = ContextVar("flux_import_limits", default=None)


def current() -> ImportLimits:
    """The limits of the import in progress (the defaults outside one)."""
    return _CURRENT.get() or DEFAULT


@contextmanager
def using(limits: ImportLimits) -> Iterator[ImportLimits]:
    """Applies ``limits`` to every file parsed inside the block."""
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


ID_CHARS: Final[dict[str, int]] = {
    c.RESTAURANT_ID: 64,
    c.SOURCE: 32,
    c.ORDER_ID: 128,
    c.LINE_ID: 160,
    c.PARENT_LINE_ID: 160,
    c.POS_PROVIDER: 32,
    c.POS_LOCATION_ID: 128,
    c.TARGET: 64,
}
"""The longest value of each id column (the database's column widths; a test checks they agree
with ``pipelines.io.schema``)."""

NAME_COLUMNS: Final = (c.ITEM, c.CATEGORY, c.NAME)
"""Free-text columns, limited by ``max_text_chars``."""


def text_problems(values: pd.Series, column: str) -> list[tuple[np.ndarray, str]]:
    """Where a text column's values cannot be stored, and why.

    Args:
        values: The column (strings, None or NA for missing).
        column: Its canonical name (decides its length limit).

    Returns:
        (bad mask, reason) pairs; empty when every value is fine.
    """
    if values.empty or not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return []
    text = values.astype("string")
    problems: list[tuple[np.ndarray, str]] = []
    nul = text.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
    if nul.any():
        problems.append((nul, "contains a NUL byte (\\x00)"))
    limit = ID_CHARS.get(column)
    what = "longer than the"
    if limit is None and column in NAME_COLUMNS:
        limit = current().max_text_chars
        what = "longer than limits.max_text_chars ="
    if limit is not None:
        long = (text.str.len() > limit).fillna(False).to_numpy(dtype=bool)
        if long.any():
            problems.append((long, f"{what} {limit:,} characters"))
    return problems
