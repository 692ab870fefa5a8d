"""``flux doctor``: render the checks of :mod:`pipelines.doctor` and choose the exit code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from flux_cli import console
from pipelines import doctor

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skipped": "dim"}


def doctor_command(
    config: Path | None, *, as_json: bool, overrides: dict[str, Any] | None = None
) -> None:
    """Runs every check and prints them; exit 0 ok (warnings allowed), 1 a check failed, 2 the
    configuration is invalid."""
    report = doctor.run(config, environ=dict(os.environ), overrides=overrides)
    if as_json:
        console.print_json(report.to_dict())
        raise typer.Exit(report.exit_code)
    table = Table(title="flux doctor", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("how to fix", overflow="fold")
    for check in report.checks:
        style = _STYLE[check.status]
        table.add_row(
            check.name,
            f"[{style}]{check.status}[/]",
            escape(check.detail),
            escape(check.fix or ""),
        )
    console.out.print(table)
    failed = [c.name for c in report.checks if c.status == "fail"]
    warned = [c.name for c in report.checks if c.status == "warn"]
    if failed:
        console.out.print(f"[bold red]failed:[/] {', '.join(failed)}")
    elif warned:
        console.out.print(f"[yellow]ok, with warnings:[/] {', '.join(warned)}")
    else:
        console.out.print("[green]all checks passed[/]")
    raise typer.Exit(report.exit_code)
