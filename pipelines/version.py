"""Flux's version and the versions of the libraries it depends on."""

from __future__ import annotations

from functools import cache
from importlib import metadata


@cache
def flux_version() -> str:
    """The installed Flux version."""
    try:
        return metadata.version("flux-forecast")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the named distributions (missing ones are left out)."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
