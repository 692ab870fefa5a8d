"""``flux publish``: gate a forecast run, publish it, and show what the web app now reads."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from flux_cli import console
from flux_cli.progress import Reporter
from pipelines import publish
from pipelines.settings import Settings


@dataclass(frozen=True)
class PublishOptions:
    """The options of ``flux publish``, as typed values."""

    forecast_run: str | None = None
    restaurants: list[str] | None = None
    force: str | None = None
    margin: float = 0.0
    as_json: bool = False

    def request(self) -> publish.PublishRequest:
        """The pipeline's request."""
        return publish.PublishRequest(
            forecast_run=self.forecast_run,
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            force_reason=self.force,
            margin=self.margin,
        )


def publish_command(settings: Settings, options: PublishOptions) -> None:
    """Publishes and prints a short table of what the web app now reads."""
    with Reporter("publish", enabled=not options.as_json) as progress:
        progress("publishing: gates, export, upsert", 0, 1)
        result = publish.run(options.request(), settings)
        progress("published", 1, 1)
    if options.as_json:
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
        f"{len(result.restaurants)} restaurant(s)); exported {', '.join(result.export_keys)}",
        markup=False,
    )
    if result.forced:
        console.warn(
            f"forced past failed gates: {result.gates} ({result.forced})",
            gates=result.gates,
            reason=result.forced,
        )
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
