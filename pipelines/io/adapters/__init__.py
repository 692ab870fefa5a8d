"""Import adapters, one module per file format, and format detection.

Each adapter module exposes ``ADAPTER`` (or, for metadata, ``RESTAURANTS`` and ``EVENTS``), an
object following :class:`pipelines.io.adapters.base.Adapter`. Modules are imported on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pipelines.errors import ImportFileError, UsageError
from pipelines.io.adapters.base import Adapter
from pipelines.io.adapters.common import head_text

# Detection order matters: metadata first, vendors next, mapped CSV, then plain series.
_REGISTRY: dict[str, str] = {
    "restaurants": "pipelines.io.adapters.metadata:RESTAURANTS",
    "events": "pipelines.io.adapters.metadata:EVENTS",
    "toast": "pipelines.io.adapters.toast:ADAPTER",
    "toast_export": "pipelines.io.adapters.toast_export:ADAPTER",
    "square": "pipelines.io.adapters.square:ADAPTER",
    "lightspeed": "pipelines.io.adapters.lightspeed:ADAPTER",
    "clover": "pipelines.io.adapters.clover:ADAPTER",
    "revel": "pipelines.io.adapters.revel:ADAPTER",
    "csv": "pipelines.io.adapters.generic:ADAPTER",
    "series": "pipelines.io.adapters.series:ADAPTER",
}

FORMATS: tuple[str, ...] = tuple(_REGISTRY)
DATA_SUFFIXES: tuple[str, ...] = (".csv", ".json", ".parquet", ".csv.gz", ".json.gz")
LOAD_ORDER: dict[str, int] = {"restaurants": 0, "events": 1}


def get(name: str) -> Adapter:
    """The adapter for a ``--format`` value."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}") from None
    module_name, attr = target.split(":")
    adapter: Adapter = getattr(importlib.import_module(module_name), attr)
    return adapter


def is_data_file(path: Path) -> bool:
    """Whether a file found in a folder is one ``flux import`` should look at."""
    name = path.name.lower()
    return any(name.endswith(s) for s in DATA_SUFFIXES) and not name.startswith(".")


def detect(path: Path) -> Adapter | None:
    """The adapter that reads this file, from its name and first bytes; None if none does."""
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
