"""``flux backtest``: run the pipeline with a progress bar and print the metrics table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from flux_cli import console
from flux_cli.progress import Reporter
from flux_cli.render import report_left_out
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


@dataclass(frozen=True)
class BacktestOptions:
    """The options of ``flux backtest``, as typed values."""

    target: str = "covers"
    freq: str = "D"
    models: str | None = None
    folds: int = 3
    horizon: int = 28
    step: int | None = None
    refit_every: int = 1
    cutoffs: list[str] | None = None
    restaurants: list[str] | None = None
    levels: str = "80,95"
    jobs: int = 1
    seed: int = 0
    output: Path | None = None
    plot_restaurants: list[str] | None = None
    as_json: bool = False

    def request(self) -> backtest.BacktestRequest:
        """The pipeline's request (UsageError for bad levels or cutoffs)."""
        spec = evaluation.BacktestSpec(
            models=tuple(_csv(self.models)) or evaluation.DEFAULT_MODELS,
            folds=self.folds,
            horizon=self.horizon,
            step=self.step,
            refit_every=self.refit_every,
            cutoffs=_cutoffs(self.cutoffs),
            levels=_levels(self.levels),
            jobs=self.jobs,
            seed=self.seed,
        )
        return backtest.BacktestRequest(
            target=self.target,
            freq="D" if self.freq == "D" else "h" if self.freq == "h" else "15min",
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            spec=spec,
            output=self.output,
            plot_restaurants=tuple(self.plot_restaurants or ()) or None,
        )


def backtest_command(settings: Settings, options: BacktestOptions) -> None:
    """Runs ``flux backtest`` and renders its result."""
    request = options.request()
    with Reporter("backtest", enabled=not options.as_json) as progress:
        result = backtest.run(request, settings, progress)
    if options.as_json:
        console.print_json(_as_json(result))
    else:
        render(result, request.spec.levels)
    report_left_out(result.left_out, "the backtest")


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
        "left_out": result.left_out,
        "seconds": result.seconds,
    }
