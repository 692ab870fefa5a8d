"""``flux pull``: build the request, pull, print one line per restaurant and who was skipped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import typer
from rich.table import Table

from flux_cli import console
from pipelines import pull
from pipelines.errors import UsageError
from pipelines.settings import Settings


def parse_instant(value: str, option: str) -> dt.datetime:
    """A ``--since``/``--until`` value: a date (midnight UTC) or an ISO 8601 time (UTC when it
    has no offset).

    Raises:
        UsageError: not a date or time.
    """
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r}: not a date or time (e.g. 2026-09-01 or 2026-09-01T06:00Z)"
        ) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


@dataclass(frozen=True)
class PullOptions:
    """The options of ``flux pull``, as typed values."""

    restaurants: list[str] | None = None
    providers: list[str] | None = None
    since: str | None = None
    until: str | None = None
    as_json: bool = False

    def request(self) -> pull.PullRequest:
        """The pipeline's request."""
        return pull.PullRequest(
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            providers=frozenset(self.providers) if self.providers else None,
            since=parse_instant(self.since, "--since") if self.since else None,
            until=parse_instant(self.until, "--until") if self.until else None,
        )


def pull_command(settings: Settings, options: PullOptions) -> None:
    """Runs ``flux pull``; exits 3 when some restaurants were skipped (1 when all were)."""
    result = pull.run(options.request(), settings)
    if options.as_json:
        console.print_json(result.as_dict())
    else:
        _render(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _render(result: pull.PullResult) -> None:
    table = Table(title="flux pull", title_justify="left")
    for col in ("restaurant", "provider", "status", "window (UTC)", "pages", "orders", "lines"):
        table.add_column(col, justify="right" if col in ("pages", "orders", "lines") else "left")
    for p in result.pulls:
        table.add_row(
            p.restaurant_id,
            p.provider,
            p.status,
            f"{p.start:%Y-%m-%d %H:%M} .. {p.end:%Y-%m-%d %H:%M}",
            f"{p.pages:,}",
            f"{p.records:,}",
            f"{p.rows_loaded:,}",
        )
    console.out.print(table)
    requests = ", ".join(f"{n} {k}" for k, n in sorted(result.requests.items())) or "none"
    console.out.print(
        f"pulled {len(result.pulls) - len(result.skipped)} of {len(result.pulls)} restaurant(s) "
        f"in {result.seconds:.1f}s; requests: {requests}",
        markup=False,
    )
    if result.not_configured:
        console.note(
            "not pulled (their provider has no [pos.<vendor>] settings): "
            + ", ".join(result.not_configured)
        )
    for p in result.skipped:
        console.warn(f"skipped {p.restaurant_id} ({p.provider}): {p.reason}",
                     restaurant=p.restaurant_id, provider=p.provider)  # fmt: skip
