"""Rendering helpers shared by the commands: the restaurants a command left out, and why."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from flux_cli import console


def left_out_lines(left_out: Mapping[str, str]) -> list[tuple[str, str, list[str]]]:
    """(sentence, reason, restaurants) per reason, largest group first, e.g. ("3 restaurants
    have no guest counts: r02, r04, r08", "no guest counts", ["r02", "r04", "r08"])."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for rid, reason in left_out.items():
        by_reason[reason].append(rid)
    out = []
    for reason, unsorted in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        ids = sorted(unsorted)
        verb = "restaurant has" if len(ids) == 1 else "restaurants have"
        out.append((f"{len(ids)} {verb} {reason}: {', '.join(ids)}", reason, ids))
    return out


def report_left_out(left_out: Mapping[str, str], what: str) -> None:
    """Says which restaurants ``what`` (e.g. "the backtest") left out, one warning per reason."""
    for sentence, reason, ids in left_out_lines(left_out):
        console.warn(f"{sentence} (left out of {what})", reason=reason, restaurants=ids)
