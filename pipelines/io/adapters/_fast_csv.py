"""A fast path for :func:`pipelines.io.adapters.common.read_csv_table`: plain CSV text via pyarrow.

Python's ``csv`` module reads a few hundred thousand rows a second; pyarrow is many times faster
but cannot say which line each record came from, and rejects need that. Most exports are
*plain*: each record is one line, and every quote character belongs to a field quoted whole (like
``"1,234.50"`` or ``"a ""b"" c"``). In plain text line *i* is record *i*, so pyarrow's columns
line up with row numbers and raw lines exactly, and both parsers agree on every field.

:func:`read_plain` checks that with a few vectorised passes and returns None for anything else (a
line break inside quotes, a stray quote, a lone carriage return, a NUL byte, a one-column file):
the caller then reads the text with the ``csv`` module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

_QUOTED_FIELD = r'"(?:[^"]|"")*"'
"""A quoted field on one line (RE2 syntax)."""

_MARK = "\x00"
"""Replaces each quoted field while checking where quotes sit (text with NUL is not plain)."""

_MARK_NOT_A_FIELD = r"[^,]\x00|\x00[^,]"
"""A quoted field that does not stand between commas or line ends."""

_BLOCK_SIZE = 1 << 24


def read_plain(
    text: str, header: list[str], row_column: str, raw_column: str
) -> tuple[pd.DataFrame, list[tuple[int, str]]] | None:
    """Splits plain CSV text into rows, or returns None when the text is not plain.

    Args:
        text: The whole file; its first line is the header.
        header: The header's field names (already read and checked by the caller).
        row_column: Name of the row-number column to add (the header is row 1).
        raw_column: Name of the raw-text column to add (each row's line, without line end).

    Returns:
        (the rows with as many fields as the header, as string columns named after the header
        plus the row-number and raw-text columns; the (row number, line) of every other line,
        including blank ones, for the caller to skip or reject), or None.
    """
    width = len(header)
    line_end = _line_end(text)
    if width < 2 or _MARK in text or line_end is None:
        return None
    # The text is copied as few times as it can be: the peak memory of a chunk is a few times
    # its text.
    whole = pa.array([text], type=pa.large_string())
    lines = pc.split_pattern(whole, line_end).flatten()  # no Python string per line
    if '"' in text:  # without a quote every line is plain: nothing to check
        masked = pc.replace_substring_regex(lines, _QUOTED_FIELD, _MARK)
        if (
            pc.any(pc.match_substring(masked, '"')).as_py()
            or pc.any(pc.match_substring_regex(masked, _MARK_NOT_A_FIELD)).as_py()
        ):
            return None
    else:
        masked = lines
    fits = pc.count_substring(masked, ",").to_numpy(zero_copy_only=False) == width - 1
    del masked
    fits[0] = False  # the header
    rows = np.flatnonzero(fits)
    other_lines = [(int(i) + 1, str(lines[int(i)].as_py())) for i in np.flatnonzero(~fits)[1:]]
    if len(rows) and rows[-1] == len(rows):  # lines 1..n fit: one stretch of the text as is
        good = lines.slice(1, len(rows))
        ends = np.frombuffer(lines.buffers()[1], np.int64)[lines.offset :][: len(lines) + 1]
        at = ends - ends[0] + np.arange(len(ends)) * len(line_end)  # where each line starts
        first, last = int(at[1]), int(at[len(rows) + 1]) - len(line_end)
        data = whole.buffers()[2].slice(first, last - first)
    else:
        good = lines.filter(pa.array(fits))
        data = _joined(good)
    del lines, whole
    columns = _parse_lines(data, len(good), width)
    if columns is None:
        return None
    frame = pd.DataFrame(dict(zip(header, columns, strict=True)), copy=False)
    del columns, data
    frame[row_column] = rows.astype(np.int64) + 1
    frame[raw_column] = good.to_pandas().astype("str")
    return frame, other_lines


def _line_end(text: str) -> str | None:
    """The file's one line end, LF or CRLF; None when it mixes them or has a lone CR."""
    if "\r" not in text:
        return "\n"
    crlf = text.count("\r\n")
    return "\r\n" if crlf == text.count("\r") == text.count("\n") else None


def _joined(lines: pa.Array) -> pa.Buffer:
    """The lines as one text, one per line."""
    offsets = pa.array([0, len(lines)], type=pa.int64())
    newline = pa.scalar("\n", type=pa.large_string())
    return pc.binary_join(pa.LargeListArray.from_arrays(offsets, lines), newline)[0].as_buffer()


def _parse_lines(data: pa.Buffer, rows: int, width: int) -> list[pd.Series] | None:
    """Parses ``rows`` plain lines that each have ``width`` fields; None if pyarrow disagrees."""
    if rows == 0:
        return [pd.Series([], dtype="str") for _ in range(width)]
    names = [f"f{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=_BLOCK_SIZE, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_rows != rows:
        return None
    return [table.column(i).to_pandas().astype("str") for i in range(width)]
