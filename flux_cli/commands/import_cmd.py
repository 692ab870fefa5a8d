"""``flux import``: build the request, run the pipeline with a progress bar, print the summary."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from flux_cli import console
from flux_cli.options import day_range
from flux_cli.progress import Reporter
from pipelines import ingest
from pipelines.errors import EXIT_USAGE
from pipelines.io.adapters.base import ColumnMapping
from pipelines.settings import Settings

DAYS_SHOWN = 31
"""A dry run lists every day of a restaurant up to this many; beyond, the first and last week."""


def _mapping(
    mapping: Path | None, map_: list[str] | None, target: str | None
) -> ColumnMapping | None:
    from pipelines.io.adapters.generic import load_mapping, mapping_from_flags

    base = load_mapping(mapping) if mapping else None
    if map_:
        base = mapping_from_flags(list(map_), base)
    if target:
        base = dataclasses.replace(base or ColumnMapping(columns={}), target=target)
    return base


@dataclasses.dataclass(frozen=True)
class ImportOptions:
    """The options of ``flux import``, as typed values."""

    paths: list[Path]
    format_: str | None = None
    restaurants: list[str] | None = None
    mapping: Path | None = None
    map_: list[str] | None = None
    target: str | None = None
    encoding: str | None = None
    strict: bool = False
    force: bool = False
    rejects: Path | None = None
    allow_rejects: bool = False
    dry_run: bool = False
    replace: bool = False
    replace_range: str | None = None
    as_json: bool = False
    verbose: bool = False

    def request(self) -> ingest.IngestRequest:
        """The pipeline's request."""
        return ingest.IngestRequest(
            paths=tuple(self.paths),
            format=self.format_,
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            mapping=_mapping(self.mapping, self.map_, self.target),
            encoding=self.encoding,
            strict=self.strict,
            force=self.force,
            rejects_dir=self.rejects,
            allow_rejects=self.allow_rejects,
            dry_run=self.dry_run,
            replace=self.replace or self.replace_range is not None,
            replace_range=day_range(self.replace_range) if self.replace_range else None,
        )


def import_command(settings: Settings, options: ImportOptions) -> None:
    """Runs ``flux import`` and renders its result."""
    request = options.request()
    with Reporter("import", enabled=not options.as_json) as progress:
        result = ingest.run(request, settings, progress)
    if options.as_json:
        console.print_json(dataclasses.asdict(result))
    else:
        render(result, verbose=options.verbose)
    if result.problems:
        raise typer.Exit(EXIT_USAGE)


UNITS = {
    "restaurants": "restaurants",
    "events": "calendar events",
    "series": "series values",
    "regressors": "regressor values",
}
"""What a file of each format loads, counted in ``rows_loaded``; every other format loads order
lines."""
UNIT_ORDER = ("order lines", "series values", "restaurants", "calendar events", "regressor values")


def _unit(fmt: str) -> str:
    return UNITS.get(fmt, "order lines")


def loaded_by_unit(result: ingest.IngestResult) -> dict[str, int]:
    """Rows loaded per unit (order lines, series values, restaurants, calendar events)."""
    out: dict[str, int] = defaultdict(int)
    for f in result.files:
        if f.status == "loaded":
            out[_unit(f.format)] += f.rows_loaded
    return {unit: out[unit] for unit in UNIT_ORDER if unit in out}


def summary_line(result: ingest.IngestResult) -> str:
    """One line that names its units, e.g. "imported 12 file(s): read 653,781 source rows;
    loaded 1,041,180 order lines, 8 restaurants; rejected 0 source rows; 0 duplicates in 9.1s"."""
    loaded = [f for f in result.files if f.status == "loaded"]
    counts: dict[str, int] = defaultdict(int)
    for f in result.files:
        if f.status != "loaded":
            counts[f.status] += 1
    extra = ", ".join(f"{n} {status}" for status, n in counts.items())
    verb = "would import" if result.dry_run else "imported"
    units = loaded_by_unit(result)
    landed = ", ".join(f"{n:,} {unit}" for unit, n in units.items()) or "nothing"
    return (
        f"{verb} {len(loaded)} file(s){' (' + extra + ')' if extra else ''}: "
        f"read {result.rows_read:,} source rows; {'would load' if result.dry_run else 'loaded'} "
        f"{landed}; rejected {result.rows_rejected:,} source rows; "
        f"{result.rows_duplicate:,} duplicates"
        + (
            f"; left out {result.rows_outside_scope:,} rows of other restaurants (--restaurant)"
            if result.rows_outside_scope
            else ""
        )
        + f" in {result.seconds:.1f}s"
    )


def render(result: ingest.IngestResult, *, verbose: bool) -> None:
    """One summary line, the top reject reasons and where the rejects went; for a dry run, what
    each file is and the demand per business day it would leave."""
    console.out.print(summary_line(result), markup=False)
    if result.dry_run:
        _render_files(result)
    for f in result.files:
        if f.note and (verbose or f.status == "loaded" or result.dry_run):
            console.note(f"  {f.path}: {f.status} ({f.note})", file=f.path, status=f.status)
    if result.replaced is not None:
        r = result.replaced
        verb = "would remove" if result.dry_run else "removed"
        console.out.print(
            f"replaced {r.restaurant_id} from {r.first_day} to {r.last_day}: {verb} "
            f"{r.orders_removed:,} order(s) and {r.lines_removed:,} line(s) that the files no "
            "longer hold",
            markup=False,
        )
    if result.reject_reasons:
        _render_reasons(result)
    if not result.dry_run:
        for f in result.files:
            if f.rejects_path:
                console.note(
                    f"  {f.path}: {f.rows_rejected:,} rejected row(s) -> {f.rejects_path}",
                    file=f.path,
                    rejects=f.rejects_path,
                )
    if result.dry_run:
        _render_days(result)
        for problem in result.problems:
            console.error(f"{problem} (the import would refuse it)")
        console.note("dry run: nothing was written")


def _render_files(result: ingest.IngestResult) -> None:
    table = Table(title="files", title_justify="left")
    for name in ("file", "format", "restaurant", "rows", "rejected"):
        table.add_column(name, justify="right" if name in ("rows", "rejected") else "left")
    for f in result.files:
        if f.status != "loaded":
            continue
        table.add_row(
            escape(f.path),
            f.format,
            escape(", ".join(f.restaurants) or "-"),
            f"{f.rows_read:,}",
            f"{f.rows_rejected:,}",
        )
    console.out.print(table)


def _render_reasons(result: ingest.IngestResult) -> None:
    total = sum(r.count for r in result.reject_reasons)
    table = Table(title=f"rejected rows: {total:,}, by reason", title_justify="left")
    for name in ("field", "reason", "rows", "first seen"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    for r in result.reject_reasons[:5]:
        table.add_row(
            escape(r.field),
            escape(r.reason),
            f"{r.count:,}",
            f"{escape(r.first_file)} row {r.first_row}",
        )
    if len(result.reject_reasons) > 5:
        rest = sum(r.count for r in result.reject_reasons[5:])
        table.add_row("", f"{len(result.reject_reasons) - 5} other reasons", f"{rest:,}", "")
    console.diagnostic_table(
        table,
        f"rejected rows: {total:,}, by reason",
        reasons=[
            {
                "field": r.field,
                "reason": r.reason,
                "rows": r.count,
                "first_seen": f"{r.first_file} row {r.first_row}",
            }
            for r in result.reject_reasons
        ],
    )


def _render_days(result: ingest.IngestResult) -> None:
    by_restaurant: dict[str, list[ingest.DayFigures]] = defaultdict(list)
    for figures in result.days:
        by_restaurant[figures.restaurant_id].append(figures)
    for rid, days in by_restaurant.items():
        table = Table(title=f"{escape(rid)}: demand per business day", title_justify="left")
        for name in (
            "business date",
            "orders",
            "covers",
            "net sales",
            "now: orders / covers / net",
        ):
            table.add_column(name, justify="left" if name == "business date" else "right")
        shown: list[ingest.DayFigures | None] = (
            list(days) if len(days) <= DAYS_SHOWN else [*days[:7], None, *days[-7:]]
        )
        for day in shown:
            if day is None:
                table.add_row(f"... {len(days) - 14} more days", "", "", "", "")
                continue
            same = (day.orders, day.covers, round(day.net_sales, 2)) == (
                day.orders_before,
                day.covers_before,
                round(day.net_sales_before, 2),
            )
            if same:
                now = "unchanged"
            elif not day.orders_before and day.covers_before is None and not day.net_sales_before:
                now = "new"
            else:
                now = (
                    f"{day.orders_before:,} / {_covers(day.covers_before)} / "
                    f"{day.net_sales_before:,.2f}"
                )
            table.add_row(
                day.business_date.isoformat(),
                f"{day.orders:,}",
                _covers(day.covers),
                f"{day.net_sales:,.2f}",
                now,
            )
        orders = sum(d.orders for d in days)
        net = sum(d.net_sales for d in days)
        table.add_row(f"{len(days)} days", f"{orders:,}", "", f"{net:,.2f}", "", style="bold")
        console.out.print(table)


def _covers(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
