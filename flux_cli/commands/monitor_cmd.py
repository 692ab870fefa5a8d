"""``flux monitor``: render observed against expected error; exit 3 when a restaurant is flagged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flux_cli import console
from models import columns as c
from pipelines import monitor
from pipelines.errors import EXIT_PARTIAL
from pipelines.settings import Settings


def _num(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _fmt(value: Any, spec: str = ".3f") -> str:
    number = _num(value)
    return "-" if number is None else format(number, spec)


def _json(result: monitor.MonitorResult) -> dict[str, Any]:
    t = result.table
    return {
        "target": result.target,
        "freq": result.freq,
        "window": {
            "start": str(result.window_start),
            "end": str(result.window_end),
            "days": result.window_days,
        },
        "multiple": result.multiple,
        "min_days": result.min_days,
        "restaurants": [
            {
                "restaurant_id": str(row[c.RESTAURANT_ID]),
                "days": int(row[monitor.DAYS]),
                "n": int(row[monitor.N]),
                "observed_rmsle": _num(row[monitor.OBSERVED_RMSLE]),
                "observed_wape": _num(row[monitor.OBSERVED_WAPE]),
                "expected_rmsle": _num(row[monitor.EXPECTED_RMSLE]),
                "expected_wape": _num(row[monitor.EXPECTED_WAPE]),
                "expected_from": str(row[monitor.EXPECTED_FROM]),
                "ratio": _num(row[monitor.RATIO]),
                "status": str(row[monitor.STATUS]),
                "flagged": bool(row[monitor.FLAGGED]),
            }
            for row in t.to_dict("records")
        ],
        "flagged": list(result.flagged),
        "warnings": list(result.warnings),
        "plot": str(result.plot) if result.plot else None,
    }


def _table(result: monitor.MonitorResult) -> Table:
    table = Table(
        title=(
            f"Forecast accuracy: {result.target} ({result.freq}), {result.window_start} to "
            f"{result.window_end}; flag above {result.multiple:g} x expected RMSLE"
        ),
        title_justify="left",
    )
    table.add_column("restaurant")
    for name in ("days", "observed RMSLE", "expected RMSLE", "ratio", "WAPE"):
        table.add_column(name, justify="right")
    table.add_column("flagged")
    for row in result.table.to_dict("records"):
        status = str(row[monitor.STATUS])
        expected = _fmt(row[monitor.EXPECTED_RMSLE])
        if row[monitor.EXPECTED_FROM] == monitor.FROM_OVERALL:
            expected += "*"
        style = "bold red" if row[monitor.FLAGGED] else ("dim" if status != monitor.OK else None)
        table.add_row(
            str(row[c.RESTAURANT_ID]),
            str(row[monitor.DAYS]),
            _fmt(row[monitor.OBSERVED_RMSLE]),
            expected,
            _fmt(row[monitor.RATIO], ".2f"),
            _fmt(row[monitor.OBSERVED_WAPE], ".1%"),
            "yes" if row[monitor.FLAGGED] else ("no" if status == monitor.OK else status),
            style=style,
        )
    return table


@dataclass(frozen=True)
class MonitorOptions:
    """The options of ``flux monitor``, as typed values."""

    target: str = "covers"
    freq: str = "D"
    days: int = 28
    multiple: float = 1.5
    restaurants: list[str] | None = None
    plot: Path | None = None
    as_json: bool = False

    def request(self) -> monitor.MonitorRequest:
        """The pipeline's request."""
        return monitor.MonitorRequest(
            target=self.target,
            freq=self.freq,
            days=self.days,
            multiple=self.multiple,
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            plot=self.plot,
        )


def monitor_command(settings: Settings, options: MonitorOptions) -> None:
    """Runs the comparison, prints it, and exits 3 when any restaurant is flagged."""
    result = monitor.run(options.request(), settings)
    if options.as_json:
        console.print_json(_json(result))
    else:
        console.out.print(_table(result))
        if (result.table[monitor.EXPECTED_FROM] == monitor.FROM_OVERALL).any():
            console.out.print("* the artefact's overall validation error (none for the restaurant)")
        if result.plot:
            console.out.print(f"wrote {result.plot}", markup=False)
        if result.flagged:
            console.warn(
                f"{len(result.flagged)} restaurant(s) worse than {result.multiple:g} x expected: "
                f"{', '.join(result.flagged)}",
                flagged=list(result.flagged),
            )
    for warning in result.warnings:
        console.warn(warning)
    if result.flagged:
        raise typer.Exit(EXIT_PARTIAL)
