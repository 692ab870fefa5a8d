"""``flux train``, ``flux predict``, ``flux publish`` and ``flux artefacts``: render results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
import typer
from rich.table import Table

from flux_cli import console
from pipelines import predict, publish, train
from pipelines.errors import UsageError
from pipelines.io import artifacts
from pipelines.settings import Settings


def _scope(restaurants: list[str] | None) -> frozenset[str] | None:
    return frozenset(restaurants) if restaurants else None


def train_command(settings: Settings, o: dict[str, Any]) -> None:
    """Trains and prints the stored artefact."""
    if o["backend"] not in ("local", "sagemaker"):
        raise UsageError("--backend must be local or sagemaker")
    if o["alias"] is None and not o["restaurant"]:
        o = {**o, "alias": "candidate"}
    result = train.run(
        train.TrainRequest(
            target=o["target"],
            horizon=o["horizon"],
            restaurants=_scope(o["restaurant"]),
            backend=o["backend"],
            jobs=o["jobs"],
            seed=o["seed"],
            alias=o["alias"],
        ),
        settings,
    )
    m = result.manifest
    if o["as_json"]:
        console.print_json(
            {
                "artifact_id": result.artifact_id,
                "failed": result.failed,
                "seconds": result.seconds,
                "manifest": m.model_dump(mode="json"),
            }
        )
        return
    console.out.print(
        f"trained artefact {result.artifact_id} ({m.trained_on}): {m.target}, horizon "
        f"{m.horizon}, {len(m.restaurants)} restaurant(s), data {m.training_start.date()} to "
        f"{m.training_end.date()}, weights {m.weights.get('chosen')} in {result.seconds:.1f}s"
        + (f"; alias {o['alias']}" if o["alias"] else "")
    )
    for rid, reason in sorted(result.failed.items()):
        console.err.print(f"  {rid}: not modelled ({reason})")


def _date(option: str, value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise UsageError(f"{option} takes a date like 2026-09-30 (got {value!r})") from None


def check_predict_options(o: dict[str, Any]) -> None:
    """Raises UsageError for bad dates or a bad frequency, before anything is read."""
    _date("--as-of", o["as_of"])
    _date("--from", o.get("from_"))
    _date("--to", o.get("to"))
    if o["freq"] not in ("D", "h", "15min"):
        raise UsageError("--freq must be D, h or 15min")


def predict_command(settings: Settings, o: dict[str, Any]) -> None:
    """Forecasts and prints a summary (or, with --from/--to, backfills and prints one line per
    day)."""
    as_of = _date("--as-of", o["as_of"])
    start, end = _date("--from", o.get("from_")), _date("--to", o.get("to"))
    request = predict.PredictRequest(
        artifact=o["artifact"],
        as_of=as_of,
        restaurants=_scope(o["restaurant"]),
        freq=o["freq"],
        output=o["output"],
    )
    if start or end:
        if not (start and end):
            raise UsageError("a backfill needs both --from and --to")
        if as_of:
            raise UsageError("--as-of cannot be combined with --from/--to")
        _backfill(settings, request, start, end, o["as_json"])
        return
    result = predict.run(request, settings)
    if o["as_json"]:
        console.print_json(
            {
                "forecast_run_id": result.forecast_run_id,
                "artifact_id": result.artifact_id,
                "as_of": str(result.as_of),
                "rows": len(result.forecasts),
                "skipped": result.skipped,
                "fallbacks": result.fallbacks,
                "seconds": result.seconds,
            }
        )
        return
    f = result.forecasts
    console.out.print(
        f"forecast run {result.forecast_run_id}: {result.target} ({result.freq}) from artefact "
        f"{result.artifact_id} as of {result.as_of}: {len(f):,} rows for "
        f"{f['restaurant_id'].nunique()} restaurant(s), {int(f['closed'].sum())} closed "
        f"in {result.seconds:.1f}s"
    )
    for rid, model in sorted(result.fallbacks.items()):
        console.out.print(f"  {rid}: served by {model} (fallback)")
    for rid, reason in sorted(result.skipped.items()):
        console.err.print(f"  {rid}: skipped ({reason})")
    if o["output"]:
        console.out.print(f"wrote {o['output']}")


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
            + (f"; wrote {request.output}" if request.output and len(failed) < len(days) else "")
        )
    if failed and len(failed) == len(days):
        raise typer.Exit(1)
    if failed or partial:
        raise typer.Exit(3)


def publish_command(settings: Settings, o: dict[str, Any]) -> None:
    """Publishes and prints a short table of what the web app now reads."""
    result = publish.run(
        publish.PublishRequest(
            forecast_run=o["forecast_run"],
            restaurants=_scope(o["restaurant"]),
            force_reason=o["force"],
            margin=o["margin"],
        ),
        settings,
    )
    if o["as_json"]:
        console.print_json(
            {
                "forecast_run_id": result.forecast_run_id,
                "artifact_id": result.artifact_id,
                "rows": result.rows,
                "restaurants": list(result.restaurants),
                "exports": list(result.export_keys),
                "failed_gates": result.gates,
                "forced": result.forced,
            }
        )
        return
    console.out.print(
        f"published forecast run {result.forecast_run_id} ({result.rows:,} rows, "
        f"{len(result.restaurants)} restaurant(s)); exported {', '.join(result.export_keys)}"
    )
    if result.forced:
        console.err.print(f"  forced past failed gates: {result.gates} ({result.forced})")
    table = Table(title="Published forecast: the next 7 days", title_justify="left")
    table.add_column("restaurant")
    pub = result.published.copy()
    days = sorted(pub["ds"].unique())[:7]
    for day in days:
        table.add_column(str(day)[5:10], justify="right")
    for rid, rows in pub.groupby("restaurant_id"):
        by_day = dict(zip(rows["ds"], rows["yhat"], strict=True))
        table.add_row(str(rid), *[f"{by_day[d]:,.0f}" if d in by_day else "-" for d in days])
    console.out.print(table)


def artefacts_command(
    settings: Settings, action: str, ref: str | None, alias: str | None, as_json: bool
) -> None:
    """Lists, shows or promotes artefacts."""
    store = artifacts.open_artifacts(settings)
    if action == "list":
        aliases: dict[str, list[str]] = {}
        for name, target in store.aliases().items():
            aliases.setdefault(target, []).append(name)
        items = store.list_artifacts()
        if as_json:
            console.print_json(
                [
                    {
                        "artifact_id": m.artifact_id,
                        "aliases": aliases.get(m.artifact_id, []),
                        "target": m.target,
                        "created_at": m.created_at.isoformat(),
                        "trained_on": m.trained_on,
                        "restaurants": len(m.restaurants),
                    }
                    for m in items
                ]
            )
            return
        table = Table(title=f"Artefacts in {settings.resolved_artifacts_uri}", title_justify="left")
        for col in ("id", "aliases", "target", "horizon", "restaurants", "trained", "created"):
            table.add_column(col)
        for m in items:
            table.add_row(
                m.artifact_id,
                ",".join(aliases.get(m.artifact_id, [])),
                m.target,
                str(m.horizon),
                str(len(m.restaurants)),
                m.trained_on,
                m.created_at.strftime("%Y-%m-%d %H:%M"),
            )
        console.out.print(table)
        return
    if ref is None:
        raise UsageError(f"flux artefacts {action} needs an artefact id or alias")
    artifact_id = store.resolve(ref)
    if action == "show":
        console.print_json(store.read_manifest(artifact_id).model_dump(mode="json"))
    elif action == "promote":
        name = alias or publish.PRODUCTION
        store.set_alias(name, artifact_id)
        console.out.print(f"alias {name} -> {artifact_id}")
    else:
        raise UsageError("action must be list, show or promote")
