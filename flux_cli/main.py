"""The ``flux`` command. Command bodies stay short: parse, load settings, call one ``run()``,
render, exit. Heavy libraries load inside the commands, so ``flux --help`` is instant.

Exit codes: 0 ok, 1 failure, 2 usage or data error, 3 partial (some restaurants fell back or
failed), 130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from flux_cli import console
from pipelines.errors import EXIT_FAILURE, EXIT_USAGE, FluxError

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 failure, 2 usage or data error, 3 partial (some restaurants fell back "
    "or failed), 130 interrupted."
)

app = typer.Typer(
    name="flux",
    help=f"Flux: demand forecasting for restaurants, from POS exports to published forecasts.\n\n"
    f"{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema: migration status and upgrades.", no_args_is_help=True)
app.add_typer(db_app, name="db")


class State:
    """Options shared by every command."""

    config: Path | None = None
    verbose: int = 0

    def settings(self) -> Any:
        """The settings, read at the edge."""
        from pipelines.settings import load_settings

        return load_settings(self.config)


STATE = State()


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="A flux.toml file (default: $FLUX_CONFIG or ./flux.toml)."),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv: debug).")
    ] = 0,
) -> None:
    STATE.config = config
    STATE.verbose = verbose
    from flux_cli import logs

    logs.configure(verbose)


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to import.")],
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Force a format: restaurants, events, toast, square, lightspeed, clover, revel, "
            "csv, series (default: detect each file).",
        ),
    ] = None,
    restaurant: Annotated[
        list[str] | None,
        typer.Option("--restaurant", "-r", help="Import only this restaurant (repeatable)."),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML column mapping for csv/series files.")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Map a field to a column, e.g. --map order_id=ticket."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Series target name, e.g. visitors.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Text encoding of the files (default UTF-8).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail the whole import on any rejected row.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Re-import files that were already imported.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Folder for reject files.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import POS exports, series, restaurants and calendar events into the database.

    Every file is validated first; rows that fail go to a rejects file. An unreadable file or a
    missing column fails the command (exit 2) and nothing is written.
    """
    from flux_cli.commands.import_cmd import import_command

    import_command(
        STATE.settings(),
        paths=paths, format_=format_, restaurants=restaurant, mapping=mapping, map_=map_,
        target=target, encoding=encoding, strict=strict, force=force, rejects=rejects,
        as_json=as_json,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database schema to this Flux's version."""
    from flux_cli.commands.db_cmd import upgrade

    upgrade(STATE.settings())


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show the database, its schema revision and whether TimescaleDB is in use."""
    from flux_cli.commands.db_cmd import status

    status(STATE.settings(), as_json=as_json)


def main() -> None:
    """Entry point: runs the app and maps errors to exit codes."""
    try:
        code = app(standalone_mode=False)
    except FluxError as exc:
        console.error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        console.error("interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        console.error("interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["EXIT_FAILURE", "app", "main"]
