"""The ``flux`` command. Command bodies stay short: parse, load settings, call one ``run()``,
render, exit. Heavy libraries load inside the commands, so ``flux --help`` is instant.

Exit codes: 0 ok, 1 failure, 2 usage or data error, 3 partial (some restaurants fell back or
failed), 130 interrupted, 143 terminated (SIGTERM).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from flux_cli import console
from pipelines.errors import EXIT_USAGE, FluxError
from pipelines.redaction import scrub

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every cleanup path (rollbacks, staging, locks) runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM stops a run the way Ctrl-C does: cleanly, with exit code 143."""
    signal.signal(signal.SIGTERM, _on_sigterm)


class FluxGroup(TyperGroup):
    """Maps Flux's errors to one message line and their exit code (bugs keep tracebacks), and
    logs how each command ended (``command finished`` with status, exit code and duration)."""

    def invoke(self, ctx: Any) -> Any:
        started = time.perf_counter()
        asked_for_help = "--help" in [*getattr(ctx, "protected_args", []), *ctx.args]
        code = 0
        error: str | None = None
        try:
            return super().invoke(ctx)
        except FluxError as exc:
            code, error = exc.exit_code, scrub(str(exc))
            console.error(error)
            raise typer.Exit(code) from None
        except KeyboardInterrupt as exc:
            term = isinstance(exc, Terminated)
            code = EXIT_TERMINATED if term else EXIT_INTERRUPTED
            error = "terminated (SIGTERM)" if term else "interrupted"
            console.error(f"{error}: stopped cleanly; nothing half-written was kept")
            raise typer.Exit(code) from None
        except typer.Exit as exc:
            code = int(exc.exit_code or 0)
            raise
        except Exception as exc:
            code, error = 1, scrub(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if ctx.invoked_subcommand and not asked_for_help:
                fields = {
                    "status": "ok" if code == 0 else "partial" if code == 3 else "failed",
                    "exit_code": code,
                    "duration_s": round(time.perf_counter() - started, 3),
                }
                if error:
                    fields["error"] = error
                import structlog

                logger = structlog.get_logger("flux")
                (logger.info if code in (0, 3) else logger.error)("command finished", **fields)


EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 failure (including a lock held by another run), 2 usage or data error, "
    "3 partial (some restaurants fell back or failed), 130 interrupted (Ctrl-C), 143 terminated "
    "(SIGTERM); an interrupted run keeps nothing half-written."
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

        settings = load_settings(self.config)
        if settings.log_format != "auto":
            from flux_cli import logs

            logs.configure(self.verbose, settings.log_format)
        return settings


STATE = State()


@app.callback()
def _root(
    ctx: typer.Context,
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
    import structlog

    from flux_cli import logs

    logs.configure(verbose)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        run_id=os.environ.get("FLUX_RUN_ID") or uuid.uuid4().hex[:12],
        command=ctx.invoked_subcommand,
    )


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
    allow_rejects: Annotated[
        bool,
        typer.Option(
            "--allow-rejects",
            help="Import the good rows even when a file's rows are all rejected or it lands no "
            "demand (normally that fails the import).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show each file's format and restaurant, the demand per business day the import "
            "would leave, and the rejects; write nothing.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Import POS exports, series, restaurants and calendar events into the database.

    Every file is validated first; rows that fail go to a rejects file and the top reasons are
    printed. An unreadable file, a missing column, a file whose rows are all rejected or that
    lands no demand fails the command (exit 2) and nothing is written.
    """
    from flux_cli.commands.import_cmd import ImportOptions, import_command
    from flux_cli.locking import locked

    _bind_scope(restaurant)
    settings = STATE.settings()
    options = ImportOptions(
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
        allow_rejects=allow_rejects,
        dry_run=dry_run,
        as_json=as_json,
        verbose=STATE.verbose > 0,
    )
    if dry_run:
        import_command(settings, options)
        return
    with locked(
        settings, ["data"], restaurant, wait=wait, timeout=wait_timeout, command="flux import"
    ):
        import_command(settings, options)


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
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="If another run holds the same restaurants and target, wait for it (default: exit "
        "1 at once, naming the holder).",
    ),
]
WaitTimeoutOpt = Annotated[
    float | None,
    typer.Option("--wait-timeout", help="Seconds --wait waits at most (default 6 hours)."),
]


def _run_locked(
    command: str,
    namespaces: Callable[[Any], list[str]],
    options: dict[str, Any],
    body: Callable[[Any, dict[str, Any]], None],
) -> None:
    """Runs ``body(settings, options)`` holding the run locks of ``namespaces(settings)`` (the
    targets it touches) for ``options["restaurant"]``; ``--wait`` waits for a busy lock."""
    from flux_cli.locking import locked

    restaurants = options.get("restaurant")
    _bind_scope(restaurants)
    settings = STATE.settings()
    with locked(
        settings,
        namespaces(settings),
        restaurants,
        wait=bool(options.get("wait")),
        timeout=options.get("wait_timeout"),
        command=command,
    ):
        body(settings, options)


def _bind_scope(restaurants: list[str] | None) -> None:
    """Log lines of a scoped run carry its restaurants."""
    if restaurants:
        import structlog

        structlog.contextvars.bind_contextvars(restaurant=",".join(sorted(restaurants)))


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
        str | None,
        typer.Option(
            "--alias",
            help="Alias to point at the new artefact (default: candidate; a --restaurant run "
            "moves no alias unless given one).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Fit the ensemble and store it as an immutable, versioned artefact."""
    from flux_cli.commands.forecast_cmd import train_command

    _run_locked("flux train", lambda _: [target], dict(locals()), train_command)


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
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Backfill: forecast as of every date from this one (with --to)."
        ),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Backfill: the last as-of date.")] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Forecast the horizon after the as-of date and store the forecast run.

    With --from/--to, a backfill: one forecast run per as-of date, each from the history up to
    that date, as the nightly job would have made it; a failed day does not stop the rest, and a
    summary lists every day (exit 3 when some days failed, 1 when all did).
    """
    from flux_cli.commands.forecast_cmd import check_predict_options, predict_command
    from pipelines.predict import artifact_target

    options = dict(locals())
    check_predict_options(options)  # usage errors before anything is read
    _run_locked("flux predict", lambda s: [artifact_target(s, artifact)], options, predict_command)


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
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Gate a forecast run and publish it to the table the web app reads."""
    from flux_cli.commands.forecast_cmd import publish_command
    from pipelines.publish import run_target

    _run_locked(
        "flux publish", lambda s: [run_target(s, forecast_run)], dict(locals()), publish_command
    )


@app.command("run")
def run_(
    restaurant: RestaurantOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be done; change nothing.")
    ] = False,
    retrain: Annotated[
        bool | None,
        typer.Option("--retrain/--no-retrain", help="Always / never retrain (default: when due)."),
    ] = None,
    publish: Annotated[
        bool | None,
        typer.Option("--publish/--no-publish", help="Override [run] publish in flux.toml."),
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """The nightly job: import new files, retrain when due, predict and publish.

    Configured by the [run] table of flux.toml (source folder or s3:// prefix, target, horizon,
    frequencies, retrain cadence). Safe to rerun after any failure. Exit 0 ok, 1 failure,
    2 usage or data error, 3 partial (the summary lists the restaurants and why).
    """
    from flux_cli.commands.run_cmd import run_command

    options = dict(locals())
    _bind_scope(restaurant)
    run_command(STATE.settings(), options)


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


@app.command("monitor")
def monitor_(
    target: Annotated[str, typer.Option("--target", help="The demand target.")] = "covers",
    freq: Annotated[str, typer.Option("--freq", help="D, h or 15min.")] = "D",
    days: Annotated[
        int, typer.Option("--days", help="Compare the last N days that have actuals.")
    ] = 28,
    multiple: Annotated[
        float,
        typer.Option(
            "--multiple", help="Flag a restaurant whose error exceeds this multiple of expected."
        ),
    ] = 1.5,
    restaurant: RestaurantOpt = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG plot of error against expected.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare published forecasts with actuals; flag restaurants doing worse than expected.

    Exit 3 when any restaurant is flagged.
    """
    from flux_cli.commands.monitor_cmd import monitor_command

    monitor_command(STATE.settings(), dict(locals()))


@app.command("doctor")
def doctor_(as_json: JsonOpt = False) -> None:
    """Check the configuration, database, migrations, TimescaleDB, artefact store and SageMaker
    settings; say what is wrong and how to fix it. Exit 1 when a check fails."""
    from flux_cli.commands.doctor_cmd import doctor_command

    doctor_command(STATE.config, as_json=as_json)


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
    install_signal_handlers()
    app()


__all__ = ["EXIT_USAGE", "app", "main"]
