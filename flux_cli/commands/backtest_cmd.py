"""``flux backtest``: run the pipeline with a progress bar and print the metrics table."""

from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flux_cli import console
from models import columns as c
from pipelines import backtest, evaluation
from pipelines.errors import UsageError
from pipelines.settings import Settings

METRICS = ("rmsle", "wape", "mae", "rmse", "smape", "mase", "bias")


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _levels(value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(v) for v in _csv(value))
    except ValueError:
        raise UsageError(f"--levels takes whole percentages, e.g. 80,95 (got {value!r})") from None
    if not levels or any(not 0 < lv < 100 for lv in levels):
        raise UsageError(f"--levels must be between 0 and 100 (got {value!r})")
    return levels


def _cutoffs(values: list[str] | None) -> tuple[pd.Timestamp, ...] | None:
    try:
        return tuple(pd.Timestamp(x).normalize() for x in values or ()) or None
    except ValueError:
        raise UsageError(f"--cutoff takes dates like 2026-06-01 (got {values!r})") from None


def backtest_command(settings: Settings, options: dict[str, Any]) -> None:
    """Runs ``flux backtest`` and renders its result."""
    spec = evaluation.BacktestSpec(
        models=tuple(_csv(options["models"])) or evaluation.DEFAULT_MODELS,
        folds=options["folds"],
        horizon=options["horizon"],
        step=options["step"],
        refit_every=options["refit_every"],
        cutoffs=_cutoffs(options["cutoff"]),
        levels=_levels(options["levels"]),
        jobs=options["jobs"],
        seed=options["seed"],
    )
    request = backtest.BacktestRequest(
        target=options["target"],
        freq=options["freq"],
        restaurants=frozenset(options["restaurant"]) if options["restaurant"] else None,
        spec=spec,
        output=options["output"],
        plot_restaurants=tuple(options["plot_restaurant"] or ()) or None,
    )
    show = console.interactive() and not options["as_json"]
    bar = (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console.err,
            transient=True,
        )
        if show
        else None
    )
    with bar if bar is not None else nullcontext():
        task = bar.add_task("backtest", total=spec.folds) if bar is not None else None

        def progress(label: str, done: int, total: int) -> None:
            if bar is not None and task is not None:
                bar.update(task, description=label, completed=done, total=total)

        result = backtest.run(request, settings, progress)
    if options["as_json"]:
        console.print_json(_as_json(result))
        return
    render(result, spec.levels)


def _fmt(value: object, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    number = float(value)  # type: ignore[arg-type]
    return (
        f"{number * 100:.1f}%" if pct else f"{number:.4f}" if abs(number) < 10 else f"{number:,.1f}"
    )


def render(result: backtest.BacktestResult, levels: tuple[int, ...]) -> None:
    """The metrics table (best model marked), then fallbacks and output files."""
    cutoffs = ", ".join(str(x.date()) for x in result.cutoffs)
    table = Table(
        title=f"Backtest of {result.target} ({result.freq}): {len(result.cutoffs)} "
        f"fold(s) at {cutoffs}; {result.restaurants} restaurants, {result.rows:,} rows",
        title_justify="left",
    )
    table.add_column("model")
    table.add_column("n", justify="right")
    for metric in METRICS:
        table.add_column(metric.upper() if metric != "smape" else "sMAPE", justify="right")
    for level in levels:
        table.add_column(f"cov{level}", justify="right")
        table.add_column(f"width{level}", justify="right")
    overall = result.scores.overall.sort_values("rmsle")
    for _, row in overall.iterrows():
        model = str(row[c.MODEL])
        best = model == result.scores.best_model
        cells = [f"[bold green]★ {model}[/]" if best else model, f"{int(row['n']):,}"]
        cells += [_fmt(row.get(m)) for m in METRICS]
        for level in levels:
            cells += [_fmt(row.get(f"coverage_{level}"), pct=True), _fmt(row.get(f"width_{level}"))]
        table.add_row(*cells)
    console.out.print(table)
    console.out.print(
        f"★ best by RMSLE: {result.scores.best_model}.  run {result.run_id}  "
        f"({result.seconds:.1f}s)"
    )
    if not result.fallbacks.empty:
        fb = result.fallbacks
        summary = ", ".join(f"{r.restaurant_id}->{r.served_by} ({r.rows})" for r in fb.itertuples())
        console.out.print(f"fallbacks: {summary}")
    if result.files:
        folder = Path(result.files[0]).parent
        console.out.print(f"wrote {len(result.files)} files to {folder}/")


def _as_json(result: backtest.BacktestResult) -> dict[str, Any]:
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return [{str(k): v for k, v in row.items()} for row in rows]

    return {
        "run_id": result.run_id,
        "target": result.target,
        "freq": result.freq,
        "cutoffs": [str(x.date()) for x in result.cutoffs],
        "restaurants": result.restaurants,
        "rows": result.rows,
        "best_model": result.scores.best_model,
        "overall": records(result.scores.overall),
        "by_fold": records(result.scores.by_fold),
        "fallbacks": records(result.fallbacks),
        "files": [str(f) for f in result.files],
        "seconds": result.seconds,
    }
