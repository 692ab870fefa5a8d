"""Column mappings for the generic CSV/Parquet and series formats: TOML files and ``--map`` flags.

A mapping names, for each canonical field Flux needs, the file's column that holds it, plus a few
settings (see ``docs/formats.md``)::

    source = "sakura_pos"
    restaurant = "r06"
    timestamp_format = "%Y-%m-%d %H:%M"
    timezone = "local"
    money = "minor"

    [columns]
    order_id = "ticket"

    [kinds]
    sold = "sale"

Anything wrong with a mapping is a :class:`~pipelines.errors.ConfigError` that names where the
mapping came from and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd

from models import columns as c
from pipelines.errors import ConfigError
from pipelines.io.adapters.base import ColumnMapping


class Field:
    """Canonical field names a mapping's ``[columns]`` table may use."""

    RESTAURANT_ID: Final = c.RESTAURANT_ID
    ORDER_ID: Final = c.ORDER_ID
    LINE_ID: Final = c.LINE_ID
    PARENT_LINE_ID: Final = c.PARENT_LINE_ID
    TIMESTAMP: Final = "timestamp"
    ITEM: Final = c.ITEM
    CATEGORY: Final = c.CATEGORY
    QUANTITY: Final = c.QUANTITY
    AMOUNT: Final = "amount"
    UNIT_PRICE: Final = "unit_price"
    KIND: Final = c.KIND
    COVERS: Final = c.COVERS
    DATE: Final = c.DATE
    TARGET: Final = c.TARGET
    VALUE: Final = c.VALUE


FIELDS: Final = frozenset(
    value for name, value in vars(Field).items() if name.isupper() and isinstance(value, str)
)
"""Every canonical field (order lines and series)."""

TIMEZONES: Final = ("local", "utc", "offset")
MONEY_STYLES: Final = ("decimal", "minor")
_SETTINGS: Final = ("source", "restaurant", "timestamp_format", "timezone", "money", "target")
_TABLES: Final = ("columns", "kinds")
_KINDS_PREFIX: Final = "kinds."
_MAX_SOURCE_CHARS: Final = 32  # the width of order_lines.source


def load_mapping(path: Path) -> ColumnMapping:
    """Reads a TOML mapping file.

    Raises:
        ConfigError: the file cannot be read, is not valid TOML, or does not make sense.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{path}: cannot read the mapping file: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not a valid TOML mapping: {exc}") from exc
    return mapping_from_dict(data, str(path))


def mapping_from_flags(pairs: list[str], base: ColumnMapping | None) -> ColumnMapping:
    """Applies ``--map key=value`` flags on top of a mapping (or on an empty one).

    ``key`` is a canonical field (``order_id=ticket``: the column holding it), a setting
    (``source``, ``restaurant``, ``timestamp_format``, ``timezone``, ``money``), or
    ``kinds.<file value>`` (``kinds.sold=sale``). ``target=col`` maps the series' target
    column; a fixed target (``--target visitors``) is the mapping's ``target`` attribute.

    Raises:
        ConfigError: a flag is not ``key=value``, names an unknown key, or the result does not
            make sense.
    """
    data: dict[str, Any] = _as_dict(base) if base is not None else {"columns": {}, "kinds": {}}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ConfigError(f"--map {pair!r}: expected key=column, e.g. order_id=ticket")
        if key in FIELDS:
            data["columns"][key] = value
        elif key in _SETTINGS:
            data[key] = value
        elif key.startswith(_KINDS_PREFIX) and len(key) > len(_KINDS_PREFIX):
            data["kinds"][key.removeprefix(_KINDS_PREFIX)] = value
        else:
            raise ConfigError(
                f"--map {pair!r}: unknown key {key!r}; use a field ({', '.join(sorted(FIELDS))}), "
                f"a setting ({', '.join(_SETTINGS)}) or kinds.<value>"
            )
    return mapping_from_dict(data, "--map")


def _as_dict(mapping: ColumnMapping) -> dict[str, Any]:
    """A mapping as the dict :func:`mapping_from_dict` reads (copies of its tables)."""
    data = dataclasses.asdict(mapping)
    data["columns"] = dict(mapping.columns)
    data["kinds"] = dict(mapping.kinds)
    return data


def mapping_from_dict(data: Mapping[str, Any], origin: str) -> ColumnMapping:
    """Checks a decoded mapping and builds it.

    Args:
        data: The TOML document (absent or None settings take their defaults).
        origin: Where the mapping came from, for messages.

    Raises:
        ConfigError: unknown keys, wrong types or values that do not make sense.
    """
    unknown = sorted(set(data) - set(_SETTINGS) - set(_TABLES))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key {unknown[0]!r}; expected {', '.join(_SETTINGS + _TABLES)}"
        )
    columns = _table(data, "columns", origin)
    for name in columns:
        if name not in FIELDS:
            raise ConfigError(
                f"{origin}: columns.{name}: unknown field; expected one of "
                f"{', '.join(sorted(FIELDS))}"
            )
    seen: dict[str, str] = {}
    for name, column in columns.items():
        if column in seen:
            raise ConfigError(
                f"{origin}: columns {seen[column]} and {name} both name the column {column!r}; "
                "each field needs a column of its own"
            )
        seen[column] = name
    kinds = _table(data, "kinds", origin)
    for value, kind in kinds.items():
        if kind not in c.LINE_KINDS:
            raise ConfigError(
                f"{origin}: kinds.{value} = {kind!r}: expected one of {', '.join(c.LINE_KINDS)}"
            )
    timezone = _choice(data, "timezone", TIMEZONES, origin)
    money = _choice(data, "money", MONEY_STYLES, origin)
    timestamp_format = _setting(data, "timestamp_format", origin)
    if timestamp_format is not None:
        _check_format(timestamp_format, origin)
        if timezone == "offset" and "%z" not in timestamp_format:
            raise ConfigError(
                f'{origin}: timezone = "offset" says the times carry their UTC offset, but '
                f"timestamp_format {timestamp_format!r} has no %z; add it, or use timezone = "
                '"local" (the restaurant\'s zone) or "utc"'
            )
    source = _setting(data, "source", origin) or "csv"
    if len(source) > _MAX_SOURCE_CHARS:
        raise ConfigError(f"{origin}: source {source[:40]!r}...: at most {_MAX_SOURCE_CHARS} chars")
    return ColumnMapping(
        columns=columns,
        source=source,
        restaurant=_setting(data, "restaurant", origin),
        timestamp_format=timestamp_format,
        timezone=timezone,
        money=money,
        kinds=kinds,
        target=_setting(data, "target", origin),
    )


def _table(data: Mapping[str, Any], key: str, origin: str) -> dict[str, str]:
    """A ``[columns]`` or ``[kinds]`` table of non-empty strings."""
    table = data.get(key) or {}
    if not isinstance(table, Mapping):
        raise ConfigError(f'{origin}: {key} must be a table of name = "value" pairs')
    out: dict[str, str] = {}
    for name, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{origin}: {key}.{name} must be a non-empty string")
        out[str(name).strip()] = value.strip()
    return out


def _setting(data: Mapping[str, Any], key: str, origin: str) -> str | None:
    """A top-level string setting; None when absent or blank."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{origin}: {key} must be a string")
    return value.strip() or None


def _choice(data: Mapping[str, Any], key: str, choices: tuple[str, ...], origin: str) -> str:
    """A setting that must be one of ``choices`` (its default when absent)."""
    value = _setting(data, key, origin) or getattr(ColumnMapping, key)
    if value not in choices:
        raise ConfigError(f"{origin}: {key} = {value!r}: expected one of {', '.join(choices)}")
    return str(value)


def _check_format(fmt: str, origin: str) -> None:
    """Raises ConfigError when ``fmt`` is not a strptime format pandas accepts."""
    try:
        pd.to_datetime(pd.Series(["2024-01-01"]), format=fmt, errors="coerce")
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{origin}: timestamp_format {fmt!r} is not a strptime format") from exc


def required_columns(
    mapping: ColumnMapping, fields: tuple[str, ...], origin: str
) -> dict[str, str]:
    """The file columns of ``fields``, which the mapping must all map.

    Raises:
        ConfigError: a field is not mapped.
    """
    missing = [name for name in fields if name not in mapping.columns]
    if missing:
        raise ConfigError(
            f"{origin}: the mapping names no column for {missing[0]!r} "
            f'(add {missing[0]} = "<column>" under [columns], or --map {missing[0]}=<column>)'
        )
    return {name: mapping.columns[name] for name in fields}
