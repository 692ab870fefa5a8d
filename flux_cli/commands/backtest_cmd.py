"""``flux backtest``: run the pipeline with a progress bar and print the metrics table."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from flux_cli import console
from flux_cli.options import check_shards
from flux_cli.progress import Reporter
from flux_cli.render import report_left_out
from models import columns as c
from models.spec import ModelSpec
from pipelines import backtest, evaluation, experiments
from pipelines.errors import UsageError
from pipelines.io import runs
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
    levels: str | None = None
    jobs: int = 1
    seed: int = 0
    sets: list[str] | None = None
    output: Path | None = None
    plot_restaurants: list[str] | None = None
    as_json: bool = False
    backend: str = "local"
    shards: int | None = None

    def request(self, settings: Settings) -> backtest.BacktestRequest:
        """The pipeline's request (UsageError for bad levels or cutoffs, ConfigError for a bad
        model setting), with the model spec from flux.toml and ``--set``."""
        model = experiments.model_spec(
            settings,
            self.sets or (),
            horizon=self.horizon,
            seed=self.seed,
            levels=_levels(self.levels) if self.levels is not None else None,
        )
        spec = evaluation.BacktestSpec(
            models=tuple(_csv(self.models)) or evaluation.DEFAULT_MODELS,
            model=model,
            folds=self.folds,
            step=self.step,
            refit_every=self.refit_every,
            cutoffs=_cutoffs(self.cutoffs),
            jobs=self.jobs,
        )
        return backtest.BacktestRequest(
            target=self.target,
            freq="D" if self.freq == "D" else "h" if self.freq == "h" else "15min",
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            spec=spec,
            output=self.output,
            plot_restaurants=tuple(self.plot_restaurants or ()) or None,
            backend="sagemaker" if self.backend == "sagemaker" else "local",
            shards=check_shards(self.backend, self.shards),
        )


def backtest_command(settings: Settings, options: BacktestOptions) -> None:
    """Runs ``flux backtest`` and renders its result."""
    request = options.request(settings)
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
    _render_effects(
        [{str(k): v for k, v in row.items()} for row in result.regressor_effects.to_dict("records")]
    )
    _render_groups(result.scores.by_group)
    _render_intraday(result)
    if not result.fallbacks.empty:
        fb = result.fallbacks
        summary = ", ".join(f"{r.restaurant_id}->{r.served_by} ({r.rows})" for r in fb.itertuples())
        console.out.print(f"fallbacks: {summary}")
    if result.files:
        folder = Path(result.files[0]).parent
        console.out.print(f"wrote {len(result.files)} files to {folder}/")


def _render_effects(rows: list[dict[str, Any]]) -> None:
    """Each regressor's effect: RMSLE with and without it (positive delta: it helps)."""
    if not rows:
        return
    table = Table(
        title="Regressor effects: the same folds without each regressor (delta > 0: it helps)",
        title_justify="left",
    )
    for name in ("regressor", "model", "RMSLE with", "RMSLE without", "delta"):
        table.add_column(name, justify="left" if name in ("regressor", "model") else "right")
    for row in rows:
        table.add_row(
            str(row["regressor"]),
            str(row[c.MODEL]),
            _fmt(row["rmsle_with"]),
            _fmt(row["rmsle_without"]),
            f"{float(row['delta']):+.4f}",
        )
    console.out.print(table)


def _render_groups(by_group: pd.DataFrame) -> None:
    """Cold-start restaurants (under 14 days of history at a cutoff) against the others."""
    if by_group.empty:
        return
    table = Table(
        title="By group (cold_start: restaurants with under 14 days of history at the cutoff)",
        title_justify="left",
    )
    for name in ("model", "group", "n", "RMSLE", "WAPE"):
        table.add_column(name, justify="left" if name in ("model", "group") else "right")
    for _, row in by_group.sort_values(["group", "rmsle"]).iterrows():
        table.add_row(
            str(row[c.MODEL]),
            str(row["group"]),
            f"{int(row['n']):,}",
            _fmt(row.get("rmsle")),
            _fmt(row.get("wape")),
        )
    console.out.print(table)


def _render_intraday(result: backtest.BacktestResult) -> None:
    """WAPE of the daily forecast split into slots: Flux's shape against the baseline."""
    if result.intraday is None:
        return
    table = Table(
        title=f"Intraday ({result.freq}): {result.intraday.model}'s daily forecast split into "
        "slots; the baseline is each weekday-slot's mean share of the last 8 weeks",
        title_justify="left",
    )
    for name in ("method", "slots", f"WAPE {result.freq}", "WAPE hourly"):
        table.add_column(name, justify="left" if name == "method" else "right")
    for _, row in result.intraday.table.iterrows():
        table.add_row(
            str(row["method"]),
            f"{int(row['rows']):,}",
            _fmt(row["wape_slot"]),
            _fmt(row["wape_hourly"]),
        )
    console.out.print(table)


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
        "by_group": records(result.scores.by_group),
        "intraday": None if result.intraday is None else records(result.intraday.table),
        "fallbacks": records(result.fallbacks),
        "regressor_effects": records(result.regressor_effects),
        "files": [str(f) for f in result.files],
        "left_out": result.left_out,
        "seconds": result.seconds,
    }


# --- recorded runs: list, show, compare -----------------------------------------------------------


def _headline(record: runs.BacktestRecord, model: str | None = None) -> dict[str, Any]:
    wanted = model or ("ensemble" if "ensemble" in record.models else record.best_model)
    for row in record.metrics.get("overall", []):
        if row.get(c.MODEL) == wanted:
            return dict(row)
    return {}


def _spec_summary(record: runs.BacktestRecord) -> str:
    raw = record.params.get("spec")
    if not isinstance(raw, dict):
        return "-"
    spec = ModelSpec.model_validate(raw) if raw else None
    if spec is None:
        return "-"
    defaults = ModelSpec()
    changes = [
        f"{k}={v[0]}"
        for k, v in spec.changes(defaults).items()
        if k not in ("horizon", "seed") and v[0] is not None
    ]
    return f"{spec.spec_id} " + (", ".join(changes) if changes else "(defaults)")


def _record_json(record: runs.BacktestRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "created_at": record.created_at.isoformat(),
        "target": record.target,
        "freq": record.freq,
        "horizon": record.horizon,
        "folds": record.folds,
        "models": list(record.models),
        "restaurants": record.restaurants,
        "best_model": record.best_model,
        "spec": record.params.get("spec"),
        "data": record.data,
        "cutoffs": record.params.get("cutoffs_scored"),
        "overall": record.metrics.get("overall", []),
        "regressor_effects": record.metrics.get("regressor_effects", []),
        "output_path": record.output_path,
        "flux_version": record.flux_version,
    }


def list_command(settings: Settings, *, limit: int | None, as_json: bool) -> None:
    """``flux backtest list``."""
    records = backtest.recorded(settings, limit)
    if as_json:
        console.print_json({"runs": [_record_json(r) for r in records]})
        return
    table = Table(title="Backtest runs, newest first", title_justify="left")
    for name in ("run", "when (UTC)", "target", "data", "rest.", "folds×h", "spec", "model"):
        table.add_column(name)
    table.add_column("RMSLE", justify="right")
    table.add_column("WAPE", justify="right")
    for record in records:
        data = record.data
        head = _headline(record)
        table.add_row(
            record.run_id[:8],
            record.created_at.strftime("%Y-%m-%d %H:%M"),
            record.target,
            f"{data.get('start', '?')}..{data.get('end', '?')}" if data else "-",
            str(record.restaurants),
            f"{record.folds}×{record.horizon}",
            _spec_summary(record),
            str(head.get(c.MODEL, "-")),
            _fmt(head.get("rmsle")),
            _fmt(head.get("wape"), pct=True),
        )
    console.out.print(table)
    if not records:
        console.out.print("no backtest runs recorded yet (run `flux backtest`)")


def show_command(settings: Settings, ref: str, *, as_json: bool) -> None:
    """``flux backtest show RUN``."""
    record = backtest.record(settings, ref)
    payload = _record_json(record)
    if as_json:
        console.print_json(payload)
        return
    data = record.data
    console.out.print(
        f"backtest run {record.run_id} ({record.created_at:%Y-%m-%d %H:%M} UTC, flux "
        f"{record.flux_version}): {record.target} ({record.freq}), {record.folds} fold(s) of "
        f"{record.horizon} at {', '.join(payload['cutoffs'] or []) or '?'}",
        markup=False,
    )
    if data:
        console.out.print(
            f"data: {data.get('start')}..{data.get('end')}, restaurants "
            f"{', '.join(data.get('restaurants', []))}, fingerprint {data.get('fingerprint')}",
            markup=False,
        )
    console.out.print(f"spec: {_spec_summary(record)}", markup=False)
    if isinstance(record.params.get("spec"), dict):
        console.out.print_json(json.dumps(record.params["spec"]))
    table = Table(title="Metrics per model", title_justify="left")
    table.add_column("model")
    for metric in METRICS:
        table.add_column(metric.upper() if metric != "smape" else "sMAPE", justify="right")
    for row in sorted(record.metrics.get("overall", []), key=lambda r: r.get("rmsle") or 0):
        name = str(row.get(c.MODEL))
        label = f"★ {name}" if name == record.best_model else name
        table.add_row(label, *[_fmt(row.get(m)) for m in METRICS])
    console.out.print(table)
    _render_effects(record.metrics.get("regressor_effects", []))


def compare_command(
    settings: Settings,
    ref_a: str,
    ref_b: str,
    *,
    model: str | None,
    plot: Path | None,
    seed: int,
    as_json: bool,
) -> None:
    """``flux backtest compare RUN_A RUN_B``."""
    result = backtest.compare_runs(settings, ref_a, ref_b, model=model, plot=plot, seed=seed)
    if as_json:
        console.print_json(result.as_dict() | {"plot": str(plot) if plot else None})
        return
    for note in result.data_notes:
        console.warn(f"different data: {note}")
    table = Table(
        title=f"A {result.run_a[:8]} ({result.model_a})  vs  B {result.run_b[:8]} "
        f"({result.model_b})",
        title_justify="left",
    )
    for name in ("metric", "A", "B", "B - A"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for name, values in result.metrics.items():
        if values["a"] is None and values["b"] is None:
            continue
        pct = name.startswith("coverage_")
        diff = values["diff"]
        table.add_row(
            name,
            _fmt(values["a"], pct=pct),
            _fmt(values["b"], pct=pct),
            "-" if diff is None else (f"{diff * 100:+.1f}pp" if pct else f"{diff:+.4f}"),
        )
    console.out.print(table)
    wins = result.wins
    console.out.print(
        f"per restaurant (RMSLE): B better at {wins['b']}, A better at {wins['a']}, "
        f"tied at {wins['tie']}"
    )
    if result.spec_changes:
        changed = ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in result.spec_changes.items())
        console.out.print(f"spec changes: {changed}", markup=False)
    if result.interval is not None and result.diff is not None:
        lo, hi = result.interval
        console.out.print(
            f"RMSLE B - A = {result.diff:+.4f}, 95% bootstrap interval [{lo:+.4f}, {hi:+.4f}] "
            f"over {result.resampled} ({result.paired_rows:,} paired rows): "
            f"[bold]{result.verdict}[/]"
        )
    else:
        console.out.print(f"noise verdict: {result.verdict}")
    if plot is not None:
        console.out.print(f"wrote {plot}", markup=False)
