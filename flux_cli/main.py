"""The ``flux`` command. Command bodies stay short: parse, load settings, call one ``run()``,
render, exit. Heavy libraries load inside the commands, so ``flux --help`` is instant.

Exit codes: 0 ok, 1 failure, 2 usage or data error, 3 partial (some restaurants fell back or
failed), 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from flux_cli import console
from pipelines.errors import EXIT_USAGE, FluxError

EXIT_INTERRUPTED = 130


class FluxGroup(TyperGroup):
    """Maps Flux's errors to one message line and their exit code (bugs keep tracebacks)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FluxError as exc:
            console.error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            console.error("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None


EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 failure, 2 usage or data error, 3 partial (some restaurants fell back "
    "or failed), 130 interrupted."
)

app = typer.Typer(
    name="flux",
    cls=FluxGroup,
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
        paths=paths,
        format_=format_,
        restaurants=restaurant,
        mapping=mapping,
        map_=map_,
        target=target,
        encoding=encoding,
        strict=strict,
        force=force,
        rejects=rejects,
        as_json=as_json,
    )


@app.command("backtest")
def backtest_(
    target: Annotated[
        str, typer.Option("--target", help="covers, orders, net_sales, visitors, item:NAME, ...")
    ] = "covers",
    freq: Annotated[str, typer.Option("--freq", help="D (daily).")] = "D",
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            help="Comma-separated: seasonal_naive, weekday_median, prophet, xgboost, ensemble "
            "(default: all).",
        ),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Rolling origins.")] = 3,
    horizon: Annotated[int, typer.Option("--horizon", help="Periods forecast per origin.")] = 28,
    step: Annotated[
        int | None, typer.Option("--step", help="Periods between origins (default: horizon).")
    ] = None,
    refit_every: Annotated[
        int, typer.Option("--refit-every", help="Refit every N folds (1: every fold).")
    ] = 1,
    cutoff: Annotated[
        list[str] | None, typer.Option("--cutoff", help="Explicit origin date (repeatable).")
    ] = None,
    restaurant: Annotated[
        list[str] | None, typer.Option("--restaurant", "-r", help="Only this restaurant.")
    ] = None,
    levels: Annotated[str, typer.Option("--levels", help="Interval levels, %.")] = "80,95",
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel workers.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write frames, metrics and plots to this folder."),
    ] = None,
    plot_restaurant: Annotated[
        list[str] | None, typer.Option("--plot-restaurant", help="Restaurant to plot.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare models with a rolling-origin backtest: metrics per model, fold and restaurant."""
    from flux_cli.commands.backtest_cmd import backtest_command

    backtest_command(STATE.settings(), dict(locals()))


RestaurantOpt = Annotated[
    list[str] | None, typer.Option("--restaurant", "-r", help="Only this restaurant (repeatable).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command("train")
def train_(
    target: Annotated[str, typer.Option("--target", help="The demand target.")] = "covers",
    horizon: Annotated[int, typer.Option("--horizon", help="Days the model forecasts.")] = 28,
    restaurant: RestaurantOpt = None,
    backend: Annotated[
        str, typer.Option("--backend", help="local (joblib) or sagemaker.")
    ] = "local",
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel workers.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Alias to point at the new artefact.")
    ] = "candidate",
    as_json: JsonOpt = False,
) -> None:
    """Fit the ensemble and store it as an immutable, versioned artefact."""
    from flux_cli.commands.forecast_cmd import train_command

    train_command(STATE.settings(), dict(locals()))


@app.command("predict")
def predict_(
    artifact: Annotated[
        str, typer.Option("--artifact", "-a", help="Artefact id or alias.")
    ] = "candidate",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Forecast origin date (default: latest data).")
    ] = None,
    restaurant: RestaurantOpt = None,
    freq: Annotated[str, typer.Option("--freq", help="D, h or 15min.")] = "D",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write a .csv, .parquet or .json.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Forecast the horizon after the as-of date and store the forecast run."""
    from flux_cli.commands.forecast_cmd import predict_command

    predict_command(STATE.settings(), dict(locals()))


@app.command("publish")
def publish_(
    forecast_run: Annotated[
        str | None, typer.Option("--run", help="Forecast run id (default: the newest).")
    ] = None,
    restaurant: RestaurantOpt = None,
    force: Annotated[
        str | None, typer.Option("--force", help="Publish despite failed gates; give a reason.")
    ] = None,
    margin: Annotated[
        float, typer.Option("--margin", help="How much the ensemble must beat seasonal naive.")
    ] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Gate a forecast run and publish it to the table the web app reads."""
    from flux_cli.commands.forecast_cmd import publish_command

    publish_command(STATE.settings(), dict(locals()))


@app.command("artefacts")
def artefacts_(
    action: Annotated[str, typer.Argument(help="list, show or promote.")] = "list",
    ref: Annotated[str | None, typer.Argument(help="Artefact id, prefix or alias.")] = None,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Alias to move (promote; default production).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List, show or promote stored artefacts."""
    from flux_cli.commands.forecast_cmd import artefacts_command

    artefacts_command(STATE.settings(), action, ref, alias, as_json)


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
    """Entry point of the ``flux`` console script."""
    app()


__all__ = ["EXIT_USAGE", "app", "main"]
