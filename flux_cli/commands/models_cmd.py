"""``flux models list`` and ``flux models check NAME``: the forecasters on offer, and the contract
check a plug-in must pass."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.table import Table

from flux_cli import console
from pipelines import experiments
from pipelines.errors import FluxError
from pipelines.settings import Settings


class ContractFailed(FluxError):
    """A forecaster failed the contract check (exit 1)."""


def _text(value: object) -> str:
    return json.dumps(value, default=str)


def list_command(settings: Settings, *, as_json: bool) -> None:
    """Prints the built-in and plug-in forecasters with their settings and defaults."""
    models = experiments.describe_models(settings)
    if as_json:
        console.print_json({"models": [asdict(m) for m in models]})
        return
    table = Table(
        title="Forecasters (configure in flux.toml's \\[models.NAME] or with --set)",
        title_justify="left",
    )
    for column in ("model", "origin", "scope", "settings (default; * = set in flux.toml)"):
        table.add_column(column)
    for info in models:
        if info.error:
            table.add_row(info.name, info.origin, "-", f"cannot load: {info.error}")
            continue
        cells = []
        for key, facts in info.settings.items():
            if "from" in facts:
                cells.append(f"{key} (from {facts['from']})")
            elif "configured" in facts:
                cells.append(
                    f"{key}={_text(facts['configured'])}* (default {_text(facts['default'])})"
                )
            else:
                cells.append(f"{key}={_text(facts['default'])}")
        origin = info.origin if info.origin == "built-in" else f"plug-in {info.target}"
        table.add_row(info.name, origin, str(info.scope), ", ".join(cells) or "(none)")
    console.out.print(table)


def check_command(settings: Settings, name: str, *, as_json: bool) -> None:
    """Runs the contract check; exit 1 when a check fails."""
    results = experiments.check_model(settings, name)
    failed = [r for r in results if not r.passed]
    if as_json:
        console.print_json(
            {"model": name, "passed": not failed, "checks": [asdict(r) for r in results]}
        )
    else:
        for r in results:
            mark = "[green]pass[/]" if r.passed else "[red]FAIL[/]"
            console.out.print(f"{mark}  {r.check}" + (f": {r.message}" if r.message else ""))
        console.out.print(
            f"{name}: {'keeps' if not failed else 'breaks'} the forecaster contract "
            f"({len(results) - len(failed)}/{len(results)} checks passed)"
        )
    if failed:
        raise ContractFailed(
            f"{name} failed {len(failed)} contract check(s): " + ", ".join(r.check for r in failed)
        )
