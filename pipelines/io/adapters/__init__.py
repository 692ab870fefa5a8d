"""Import adapters, one module per file format, and format detection.

Each adapter module exposes ``ADAPTER`` (or, for metadata, ``RESTAURANTS`` and ``EVENTS``), an
object following :class:`pipelines.io.adapters.base.Adapter`. Modules are imported on first use,
so the registry (:data:`FORMATS`) loads nothing heavy (the CLI validates ``--format`` with it).
"""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import ImportFileError, UsageError

if TYPE_CHECKING:  # the adapters load pandas; the registry (FORMATS) must not
    from pipelines.io.adapters.base import Adapter, ParseContext, ParsedFile

# Detection order matters: metadata first, vendors next, mapped CSV, then plain series.
_REGISTRY: dict[str, str] = {
    "restaurants": "pipelines.io.adapters.metadata:RESTAURANTS",
    "events": "pipelines.io.adapters.metadata:EVENTS",
    "regressors": "pipelines.io.adapters.regressors:ADAPTER",
    "toast": "pipelines.io.adapters.toast:ADAPTER",
    "toast_export": "pipelines.io.adapters.toast_export:ADAPTER",
    "square": "pipelines.io.adapters.square:ADAPTER",
    "square_orders": "pipelines.io.adapters.square_orders:ADAPTER",
    "lightspeed": "pipelines.io.adapters.lightspeed:ADAPTER",
    "clover": "pipelines.io.adapters.clover:ADAPTER",
    "revel": "pipelines.io.adapters.revel:ADAPTER",
    "revel_api": "pipelines.io.adapters.revel_api:ADAPTER",
    "csv": "pipelines.io.adapters.generic:ADAPTER",
    "series": "pipelines.io.adapters.series:ADAPTER",
}

FORMATS: tuple[str, ...] = tuple(_REGISTRY)
DATA_SUFFIXES: tuple[str, ...] = (".csv", ".json", ".parquet", ".csv.gz", ".json.gz")
LOAD_ORDER: dict[str, int] = {"restaurants": 0, "events": 1, "regressors": 2}


def get(name: str) -> Adapter:
    """The adapter for a ``--format`` value."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}") from None
    module_name, attr = target.split(":")
    adapter: Adapter = getattr(importlib.import_module(module_name), attr)
    return adapter


def parse_chunks(
    adapter: Adapter, path: Path, ctx: ParseContext, size: int
) -> Iterator[ParsedFile]:
    """The file parsed in chunks of about ``size`` records, in file order (at least one chunk).

    Adapters that stream (a ``parse_chunks`` method) hold one chunk in memory at a time; the
    others yield the whole file as one chunk. Row numbers are the file's, whatever the chunk.
    """
    streaming = getattr(adapter, "parse_chunks", None)
    if streaming is None:
        yield adapter.parse(path, ctx)
    else:
        yield from streaming(path, ctx, size)


def is_data_file(path: Path) -> bool:
    """Whether a file found in a folder is one ``flux import`` should look at."""
    name = path.name.lower()
    return any(name.endswith(s) for s in DATA_SUFFIXES) and not name.startswith(".")


def describe(path: Path) -> str:
    """What a file looks like, in plain words, for "cannot tell the file's format" messages.

    E.g. "a JSON object with keys elements, href", "a CSV file with columns Date, Item, ...".
    """
    from pipelines.io.adapters.common import head_text

    if path.suffix.lower() == ".parquet":
        return "a Parquet file"
    try:
        head = head_text(path, 65536).lstrip("\ufeff \t\r\n")
    except ImportFileError:
        return "a file that cannot be read"
    if not head:
        return "an empty file"
    if head[0] in "[{":
        return _describe_json(head)
    first = head.splitlines()[0] if head else ""
    columns = [c.strip().strip('"') for c in next(csv.reader([first]), [])]
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    return f"a CSV file with columns {shown}" if len(columns) > 1 else "a text file"


def _describe_json(head: str) -> str:
    """The top-level shape of a JSON document from its first bytes (it may be cut short)."""
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(head)
    except ValueError:
        value = None
    if value is None:  # cut short: read the top-level keys with a scanner instead
        keys = _top_keys(head)
        kind = "a JSON array of objects" if head.startswith("[") else "a JSON object"
        return f"{kind} with keys {', '.join(keys)}" if keys else kind
    if isinstance(value, dict):
        return f"a JSON object with keys {', '.join(list(value)[:12])}"
    if isinstance(value, list):
        first = next((v for v in value if isinstance(v, dict)), None)
        if first is None:
            return "a JSON array" + ("" if value else " (empty)")
        return f"a JSON array of objects with keys {', '.join(list(first)[:12])}"
    return "a JSON document that is not an object or an array"


def _top_keys(head: str) -> list[str]:
    """The keys of the first object at depth 1 of a JSON text (object) or 2 (array)."""
    target = 1 if head.startswith("{") else 2
    keys: list[str] = []
    depth, i, expect_key = 0, 0, False
    while i < len(head) and len(keys) < 12:
        ch = head[i]
        if ch == '"':
            end = i + 1
            while end < len(head) and head[end] != '"':
                end += 2 if head[end] == "\\" else 1
            if depth == target and expect_key:
                keys.append(head[i + 1 : end])
            expect_key = False
            i = end
        elif ch in "{[":
            depth += 1
            expect_key = ch == "{"
        elif ch in "}]":
            depth -= 1
            if depth < target:
                break
        elif ch == ",":
            expect_key = depth == target
        i += 1
    return keys


def detect(path: Path) -> Adapter | None:
    """The adapter that reads this file, from its name and first bytes; None if none does."""
    from pipelines.io.adapters.common import head_text

    if path.suffix.lower() == ".parquet":
        head = ""
    else:
        try:
            head = head_text(path)
        except ImportFileError:
            return None
    for name in FORMATS:
        adapter = get(name)
        if adapter.sniff(path, head):
            return adapter
    return None
