"""``flux predict``: forecast from an artefact (or backfill a range of as-of dates)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import structlog
import typer

from flux_cli import console
from flux_cli.options import check_shards
from flux_cli.progress import Reporter
from flux_cli.render import report_left_out
from pipelines import predict
from pipelines.errors import UsageError
from pipelines.settings import Settings

OUTPUT_SUFFIXES = (".csv", ".parquet", ".json")


def _date(option: str, value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise UsageError(f"{option} takes a date like 2026-09-30 (got {value!r})") from None


@dataclass(frozen=True)
class PredictOptions:
    """The options of ``flux predict``, as typed values."""

    artifact: str = "candidate"
    as_of: str | None = None
    restaurants: list[str] | None = None
    freq: str = "D"
    output: Path | None = None
    from_: str | None = None
    to: str | None = None
    quantiles: str | None = None
    as_json: bool = False
    backend: str = "local"
    shards: int | None = None
    jobs: int = 1

    def check(self) -> None:
        """Raises UsageError for bad dates, a bad combination or output, before anything is
        read."""
        as_of = _date("--as-of", self.as_of)
        start, end = _date("--from", self.from_), _date("--to", self.to)
        if (start or end) and not (start and end):
            raise UsageError("a backfill needs both --from and --to")
        if as_of and (start or end):
            raise UsageError("--as-of cannot be combined with --from/--to")
        if self.backend == "sagemaker" and (start or end):
            raise UsageError("a backfill (--from/--to) runs with --backend local only")
        check_shards(self.backend, self.shards)
        if self.output is not None and self.output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise UsageError(f"{self.output}: --output must end in .csv, .parquet or .json")
        self.parsed_quantiles()

    def parsed_quantiles(self) -> tuple[float, ...]:
        """``--quantiles`` as sorted probabilities (UsageError for a bad list)."""
        if not self.quantiles:
            return ()
        try:
            values = [float(part) for part in self.quantiles.split(",") if part.strip()]
        except ValueError:
            raise UsageError(
                f"--quantiles takes probabilities like 0.1,0.5,0.9 (got {self.quantiles!r})"
            ) from None
        bad = [q for q in values if not 0.0 < q < 1.0]
        if not values or bad:
            raise UsageError(
                f"--quantiles: each must be between 0 and 1 exclusive (got {self.quantiles!r})"
            )
        return tuple(sorted(set(values)))

    def check_limits(self, settings: Settings) -> None:
        """Raises UsageError for a backfill over ``limits.max_backfill_days``, before anything
        is read."""
        if self.backfill:
            predict.check_backfill(settings, *self.backfill)

    @property
    def backfill(self) -> tuple[dt.date, dt.date] | None:
        """The backfill's first and last as-of dates, if this is one."""
        start, end = _date("--from", self.from_), _date("--to", self.to)
        return (start, end) if start and end else None

    def request(self) -> predict.PredictRequest:
        """The pipeline's request."""
        return predict.PredictRequest(
            artifact=self.artifact,
            as_of=_date("--as-of", self.as_of),
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            freq=self.freq,
            output=self.output,
            quantiles=self.parsed_quantiles(),
            backend="sagemaker" if self.backend == "sagemaker" else "local",
            shards=check_shards(self.backend, self.shards),
            jobs=self.jobs,
        )


def predict_command(settings: Settings, options: PredictOptions) -> None:
    """Forecasts and prints a summary (or, with --from/--to, backfills and prints one line per
    day)."""
    options.check()
    request = options.request()
    if options.backfill:
        _backfill(settings, request, *options.backfill, options.as_json)
        return
    with Reporter("predict", enabled=not options.as_json) as progress:
        result = predict.run(request, settings, progress)
    leak = _leakage(result, request.as_of)
    if options.as_json:
        console.print_json(
            {
                "forecast_run_id": result.forecast_run_id,
                "artifact_id": result.artifact_id,
                "as_of": str(result.as_of),
                "rows": len(result.forecasts),
                "skipped": result.skipped,
                "fallbacks": result.fallbacks,
                "left_out": result.left_out,
                "leakage": leak,
                "seconds": result.seconds,
            }
        )
    else:
        f = result.forecasts
        console.out.print(
            f"forecast run {result.forecast_run_id}: {result.target} ({result.freq}) from "
            f"artefact {result.artifact_id} as of {result.as_of}: {len(f):,} rows for "
            f"{f['restaurant_id'].nunique()} restaurant(s), {int(f['closed'].sum())} closed "
            f"in {result.seconds:.1f}s",
            markup=False,
        )
        for rid, model in sorted(result.fallbacks.items()):
            console.out.print(f"  {rid}: served by {model} (fallback)", markup=False)
        if options.output:
            console.out.print(f"wrote {options.output}", markup=False)
    for rid, reason in sorted(result.skipped.items()):
        console.warn(f"{rid}: skipped ({reason})", restaurant=rid, reason=reason)
    report_left_out(result.left_out, "this forecast")
    if leak:
        console.warn(leak, artifact_id=result.artifact_id, trained_until=str(result.trained_until))


def _leakage(result: predict.PredictResult, as_of: dt.date | None) -> str | None:
    """A warning when the artefact saw data after the as-of date it forecasts from."""
    if as_of is None or result.trained_until is None or result.trained_until <= as_of:
        return None
    return (
        f"leakage: artefact {result.artifact_id} was trained on data up to "
        f"{result.trained_until}, after --as-of {as_of}, so this forecast has seen part of what "
        "it forecasts; train on data up to the as-of date for an honest comparison"
    )


def _backfill(
    settings: Settings, request: predict.PredictRequest, start: dt.date, end: dt.date, as_json: bool
) -> None:
    log = structlog.get_logger("flux.backfill")

    def on_day(day: predict.BackfillDay) -> None:
        log.info(
            "backfill day",
            as_of=str(day.as_of),
            status=day.status,
            rows=day.rows,
            duration_s=round(day.seconds, 3),
            detail=day.detail,
        )
        if not as_json:
            style = {"ok": "green", "partial": "yellow", "failed": "bold red"}[day.status]
            console.out.print(
                f"{day.as_of}  [{style}]{day.status:<7}[/]  {day.rows:>7,} rows  "
                f"{day.seconds:6.1f}s  {day.detail}"
            )

    days = predict.backfill(request, start, end, settings, on_day)
    failed = [d for d in days if d.status == "failed"]
    partial = [d for d in days if d.status == "partial"]
    if as_json:
        console.print_json(
            {
                "from": str(start),
                "to": str(end),
                "days": [
                    {
                        "as_of": str(d.as_of),
                        "status": d.status,
                        "forecast_run_id": d.forecast_run_id,
                        "rows": d.rows,
                        "detail": d.detail,
                        "seconds": round(d.seconds, 3),
                    }
                    for d in days
                ],
            }
        )
    else:
        console.out.print(
            f"backfill {start} to {end}: {len(days) - len(failed) - len(partial)} ok, "
            f"{len(partial)} partial, {len(failed)} failed"
            + (f"; wrote {request.output}" if request.output and len(failed) < len(days) else ""),
            markup=False,
        )
    if failed and len(failed) == len(days):
        raise typer.Exit(1)
    if failed or partial:
        raise typer.Exit(3)
