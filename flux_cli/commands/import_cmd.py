"""``flux import``: build the request, run the pipeline with a progress bar, print the summary."""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from flux_cli import console
from pipelines import ingest
from pipelines.io.adapters.base import ColumnMapping
from pipelines.settings import Settings


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


def import_command(
    settings: Settings,
    *,
    paths: list[Path],
    format_: str | None,
    restaurants: list[str] | None,
    mapping: Path | None,
    map_: list[str] | None,
    target: str | None,
    encoding: str | None,
    strict: bool,
    force: bool,
    rejects: Path | None,
    as_json: bool,
) -> None:
    """Runs ``flux import`` and renders its result."""
    request = ingest.IngestRequest(
        paths=tuple(paths),
        format=format_,
        restaurants=frozenset(restaurants) if restaurants else None,
        mapping=_mapping(mapping, map_, target),
        encoding=encoding,
        strict=strict,
        force=force,
        rejects_dir=rejects,
    )
    show_progress = console.interactive() and not as_json
    bar = (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console.err,
            transient=True,
        )
        if show_progress
        else None
    )
    with bar if bar is not None else nullcontext():
        task = bar.add_task("importing", total=None) if bar is not None else None

        def progress(label: str, done: int, total: int) -> None:
            if bar is not None and task is not None:
                bar.update(task, description=label, completed=done, total=total)

        result = ingest.run(request, settings, progress)
    if as_json:
        console.print_json(dataclasses.asdict(result))
        return
    render(result, verbose=False)


def render(result: ingest.IngestResult, *, verbose: bool) -> None:
    """One summary line, then where the rejects went."""
    loaded = [f for f in result.files if f.status == "loaded"]
    unchanged = [f for f in result.files if f.status == "unchanged"]
    skipped = [f for f in result.files if f.status == "skipped"]
    extra = []
    if unchanged:
        extra.append(f"{len(unchanged)} unchanged")
    if skipped:
        extra.append(f"{len(skipped)} skipped")
    console.out.print(
        f"imported {len(loaded)} file(s){' (' + ', '.join(extra) + ')' if extra else ''}: "
        f"read {result.rows_read:,} rows, loaded {result.rows_loaded:,}, "
        f"rejected {result.rows_rejected:,}, duplicate {result.rows_duplicate:,} "
        f"in {result.seconds:.1f}s"
    )
    for f in result.files:
        if f.rejects_path:
            console.err.print(
                f"  {f.path}: {f.rows_rejected:,} rejected row(s) -> {f.rejects_path}"
            )
        if verbose and f.status == "skipped":
            console.err.print(f"  {f.path}: skipped ({f.note})")
