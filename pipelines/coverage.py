"""Which restaurants a command left out, and why: no gap in a command's coverage is silent.

Pure helpers; each command's result carries ``left_out`` (restaurant -> reason) and the CLI says
it, grouped by reason ("3 restaurants have no guest counts: r02, r04, r08").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from models import columns as c

if TYPE_CHECKING:
    from models.base import Calendar

_NO_DATA = {
    c.COVERS: "no guest counts",
    c.ORDERS: "no orders",
    c.NET_SALES: "no net sales",
    c.VISITORS: "no visitor counts",
}


def no_data(target: str) -> str:
    """Why a restaurant has no series for ``target``, in plain words."""
    return _NO_DATA.get(target, f"no {target} data")


def left_out(known: Iterable[str], covered: Iterable[str], reason: str) -> dict[str, str]:
    """``reason`` for each of ``known`` that is not ``covered``."""
    seen = set(covered)
    return {str(r): reason for r in sorted({str(k) for k in known}) if str(r) not in seen}


def known_restaurants(calendar: Calendar) -> list[str]:
    """The restaurants a calendar describes (those in a command's scope)."""
    frame = calendar.restaurants
    if frame.empty or c.RESTAURANT_ID not in frame:
        return []
    return sorted(str(r) for r in frame[c.RESTAURANT_ID])
