"""``flux run``: the nightly job; prints a summary per step and the restaurants that need help."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
import typer
from rich.markup import escape
from rich.table import Table

from flux_cli import console
from flux_cli.locking import locked
from flux_cli.progress import Reporter
from pipelines import nightly
from pipelines.settings import Settings

_STYLE = {"ok": "green", "skipped": "dim", "failed": "bold red", "planned": "cyan"}


@dataclass(frozen=True)
class RunOptions:
    """The options of ``flux run``, as typed values."""

    restaurants: list[str] | None = None
    dry_run: bool = False
    retrain: bool | None = None
    publish: bool | None = None
    as_json: bool = False
    wait: bool = False
    wait_timeout: float | None = None

    def request(self) -> nightly.RunRequest:
        """The pipeline's request."""
        return nightly.RunRequest(
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            dry_run=self.dry_run,
            retrain=self.retrain,
            publish=self.publish,
        )


def run_command(settings: Settings, options: RunOptions) -> None:
    """Runs the nightly job under its locks and exits 0, or 3 when some restaurants need help."""
    request = options.request()
    run_id = structlog.contextvars.get_contextvars().get("run_id")
    if options.dry_run:  # a plan changes nothing, so it needs no lock
        result = nightly.run(request, settings, run_id=run_id)
    else:
        with (
            locked(
                settings,
                ["data", settings.run.target],
                options.restaurants,
                wait=options.wait,
                timeout=options.wait_timeout,
                command="flux run",
            ),
            Reporter("run"),  # the model fits' progress (restaurants fitted, per member)
        ):
            result = nightly.run(request, settings, run_id=run_id)
    if options.as_json:
        console.print_json(result.as_dict())
    else:
        _render(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _render(result: nightly.RunResult) -> None:
    scope = ", ".join(sorted(result.restaurants)) if result.restaurants else "all restaurants"
    title = (
        f"flux run {result.run_id}{' (dry run: nothing changed)' if result.dry_run else ''}: "
        f"{result.config.target}, {scope}"
    )
    table = Table(title=title, title_justify="left")
    for col in ("step", "status", "seconds", "detail"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for step in result.steps:
        style = _STYLE.get(step.status, "")
        table.add_row(
            step.step, f"[{style}]{step.status}[/]", f"{step.seconds:.1f}", escape(step.detail)
        )
    console.out.print(table)
    if result.problems:
        console.warn(
            f"partial: {len(result.problems)} restaurant(s) need attention (exit 3):",
            problems=dict(sorted(result.problems.items())),
        )
        for rid, why in sorted(result.problems.items()):
            console.warn(f"  {rid}: {why}", restaurant=rid, reason=why)
