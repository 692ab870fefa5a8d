"""The ``flux`` command. Command bodies stay short: parse, load settings, build the command's
typed options, call one ``run()``, render, exit. Heavy libraries load inside the commands, so
``flux --help`` is instant (and :mod:`flux_cli.launcher` answers ``--help`` without this module).

Exit codes: 0 ok, 1 failure, 2 usage or data error, 3 partial (some restaurants fell back or
failed), 130 interrupted, 143 terminated (SIGTERM).
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError  # Typer vendors Click
from typer.core import TyperArgument, TyperCommand, TyperGroup

from flux_cli import console
from flux_cli.options import (
    BACKENDS,
    PULL_PROVIDERS,
    FormatOpt,
    FreqOpt,
    JobsOpt,
    JsonOpt,
    OutputFolderOpt,
    RestaurantOpt,
    SeedOpt,
    SetOpt,
    ShardedBackendOpt,
    ShardsOpt,
    TargetOpt,
    WaitOpt,
    WaitTimeoutOpt,
    choice,
    complete,
    complete_models,
    in_range,
    metavar,
    parse_day_range,
    parse_freq,
    parse_models,
)
from models.freqs import FREQS
from pipelines.errors import EXIT_USAGE, FluxError
from pipelines.redaction import scrub

if TYPE_CHECKING:
    from pipelines.settings import Settings

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
HELP_OPTIONS = ("-h", "--help")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every cleanup path (rollbacks, staging, locks) runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM stops a run the way Ctrl-C does: cleanly, with exit code 143."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def _asked_for_help(ctx: Any) -> bool:
    return any(a in HELP_OPTIONS for a in [*getattr(ctx, "protected_args", []), *ctx.args])


def _say(error: str) -> None:
    """A command's one error line; when stderr is JSON only, ``command finished`` carries it."""
    if not console.MODE.json_only:
        console.error(error)


class FluxCommand(TyperCommand):
    """A command whose help names each argument by its metavar alone (Typer would add a Python
    type name such as ``<str>``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # type: ignore[method-assign]


def _no_type(ctx: Any) -> None:
    return None


class FluxGroup(TyperGroup):
    """Maps Flux's errors to one message and their exit code, and logs how each command ended
    (``command finished`` with status, the process's exit code and duration).

    A user error is said once: as one ``error:`` line (Click's usage message for a bad option),
    or, when stderr is JSON only (``--log-format json``), as the ``error`` field of the ``command
    finished`` line. A bug keeps its traceback: printed, or in that line's ``exception`` field.
    """

    def invoke(self, ctx: Any) -> Any:
        started = time.perf_counter()
        code = 0
        error: str | None = None
        bug: BaseException | None = None
        try:
            return super().invoke(ctx)
        except FluxError as exc:
            code, error = exc.exit_code, scrub(str(exc))
            _say(error)
            raise typer.Exit(code) from None
        except KeyboardInterrupt as exc:
            term = isinstance(exc, Terminated)
            code = EXIT_TERMINATED if term else EXIT_INTERRUPTED
            error = "terminated (SIGTERM)" if term else "interrupted"
            _say(f"{error}: stopped cleanly; nothing half-written was kept")
            raise typer.Exit(code) from None
        except typer.Exit as exc:
            code = int(exc.exit_code or 0)
            raise
        except NoArgsIsHelpError as exc:  # `flux db`: the group's help, as Click does it
            code = exc.exit_code
            raise
        except OSError as exc:
            if exc.filename is None:
                raise  # not about a file: a bug, keep the traceback
            code, error = 1, scrub(_os_error(exc))
            _say(error)
            raise typer.Exit(code) from None
        except ClickException as exc:  # a bad option or argument of the subcommand
            code, error = exc.exit_code, scrub(exc.format_message())
            if console.MODE.json_only:
                raise typer.Exit(code) from None
            raise  # Click prints the usage and the error, once
        except Exception as exc:
            code, error = 1, scrub(f"{type(exc).__name__}: {exc}")
            if not console.MODE.json_only:
                raise
            bug = exc
            raise typer.Exit(code) from None
        finally:
            if ctx.invoked_subcommand and not (_asked_for_help(ctx) and code == 0):
                _log_finished(code, error, time.perf_counter() - started, bug)

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        """Parses the root options; a bad one, when JSON alone was asked for, is a JSON line."""
        raw = list(args)  # parsing consumes ``args``
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:
            if not _json_requested(raw):
                raise
            STATE.configure_output("json")
            _log_finished(exc.exit_code, scrub(exc.format_message()), 0.0, None)
            raise typer.Exit(exc.exit_code) from None


def _os_error(exc: OSError) -> str:
    """One line for a file the system refused (permissions, a file where a folder belongs, a
    full or read-only disk): the path and the reason."""
    what = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 else "")
    reason = exc.strerror or type(exc).__name__
    return f"{what}: {reason}; check the path and its permissions (FLUX_HOME, --output, --rejects)"


def _json_requested(args: Sequence[str]) -> bool:
    """Whether ``--log-format json`` (or ``FLUX_LOG_FORMAT=json``) was asked for, read from the
    raw arguments (for an error before they could be parsed)."""
    for i, arg in enumerate(args):
        if arg == "--log-format=json" or (
            arg == "--log-format" and i + 1 < len(args) and args[i + 1] == "json"
        ):
            return True
    return os.environ.get("FLUX_LOG_FORMAT") == "json"


def _log_finished(code: int, error: str | None, seconds: float, bug: BaseException | None) -> None:
    import structlog

    fields: dict[str, Any] = {
        "status": "ok" if code == 0 else "partial" if code == 3 else "failed",
        "exit_code": code,
        "duration_s": round(seconds, 3),
    }
    logger = structlog.get_logger("flux")
    if console.MODE.json_only:  # the one place the error is said
        if error:
            fields["error"] = error
        if bug is not None:
            fields["exc_info"] = bug
    failed = code not in (0, 3) and console.MODE.json_logs  # a console line would repeat it
    (logger.error if failed else logger.info)("command finished", **fields)


EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 failure (including a lock held by another run), 2 usage or data error, "
    "3 partial (some restaurants fell back or failed), 130 interrupted (Ctrl-C), 143 terminated "
    "(SIGTERM); an interrupted run keeps nothing half-written."
)


def examples(*lines: str) -> str:
    """An ``Examples:`` block for a command's help (kept as written, not re-wrapped)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


CONTEXT = {"help_option_names": list(HELP_OPTIONS)}

app = typer.Typer(
    name="flux",
    cls=FluxGroup,
    help=f"Flux: demand forecasting for restaurants, from POS exports to published forecasts.\n\n"
    f"{EXIT_CODES_HELP}",
    epilog=examples(
        "flux import sample_data/",
        "flux backtest --output flux-output/backtest",
        "flux train && flux predict --output forecast.csv && flux publish",
        "flux --log-format json run --wait --json     # the nightly job, for a scheduler",
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)
db_app = typer.Typer(
    help="Database schema: migration status and upgrades.",
    no_args_is_help=True,
    context_settings=CONTEXT,
)
app.add_typer(db_app, name="db")
artefacts_app = typer.Typer(
    help="The artefact store and its aliases: list (the default), show, promote.",
    invoke_without_command=True,
    context_settings=CONTEXT,
)
app.add_typer(artefacts_app, name="artefacts")
models_app = typer.Typer(
    help="The forecasters on offer (built-ins and plug-ins) and the contract check.",
    epilog=examples("flux models list", "flux models check drift_mean"),
    no_args_is_help=True,
    context_settings=CONTEXT,
)
app.add_typer(models_app, name="models")


class State:
    """Options shared by every command."""

    config: Path | None = None
    verbose: int = 0
    quiet: bool = False
    no_color: bool = False
    log_format: str | None = None
    tenant: str | None = None
    all_tenants: bool = False
    command: str | None = None

    def configure_output(self, fmt: str) -> None:
        """Sets logging and the consoles for ``fmt`` (auto, json or console)."""
        from flux_cli import logs

        json_logs = logs.configure(self.verbose, fmt, quiet=self.quiet, no_color=self.no_color)
        console.configure(
            json_logs=json_logs,
            json_only=fmt == "json",
            quiet=self.quiet,
            no_color=self.no_color,
        )

    def tenant_overrides(self) -> dict[str, Any]:
        """The settings ``--tenant`` and ``--all-tenants`` give (none when not given)."""
        overrides: dict[str, Any] = {}
        if self.tenant is not None:
            overrides["tenant"] = self.tenant
        if self.all_tenants:
            overrides["all_tenants"] = True
        return overrides

    def settings(self) -> Settings:
        """The settings, read at the edge (a ``log_format`` in flux.toml applies from here on,
        unless ``--log-format`` or ``FLUX_LOG_FORMAT`` chose one)."""
        from pipelines.settings import load_settings

        settings = load_settings(self.config, **self.tenant_overrides())
        if settings.all_tenants and self.command not in ALL_TENANT_COMMANDS:
            from pipelines.errors import UsageError

            raise UsageError(
                f"FLUX_ALL_TENANTS: `flux {self.command}` works for one tenant at a time; "
                "give --tenant"
            )
        if self.log_format is None and settings.log_format != "auto":
            self.configure_output(settings.log_format)
        return settings


STATE = State()
LOG_FORMATS = ("auto", "json", "console")
ALL_TENANT_COMMANDS = frozenset({"run", "import", "db", "doctor"})
"""The commands ``--all-tenants`` may run (the others train, forecast or publish one tenant)."""
TENANT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


def _version(value: bool) -> None:
    if value:
        from flux_cli.about import version_text

        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="A flux.toml file (default: $FLUX_CONFIG or ./flux.toml).",
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, show_default=False, help="More log output (-vv: debug)."
        ),
    ] = 0,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Only errors on stderr: no progress, notes or warnings."
        ),
    ] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            envvar="FLUX_LOG_FORMAT",
            parser=choice(LOG_FORMATS),
            metavar=metavar(LOG_FORMATS),
            autocompletion=complete(LOG_FORMATS),
            show_envvar=False,
            help="Messages on stderr as JSON lines (json), text (console), or JSON when stderr "
            "is not a terminal (auto, the default; also FLUX_LOG_FORMAT). Results always go to "
            "stdout.",
        ),
    ] = None,
    no_color: Annotated[
        bool,
        typer.Option("--no-color", help="No colour or other escape codes (also NO_COLOR=1)."),
    ] = False,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            metavar="TENANT",
            show_envvar=False,
            help="The tenant (restaurant group) to work for (default: $FLUX_TENANT, else "
            "'default'). Commands see and change only its restaurants and their data.",
        ),
    ] = None,
    all_tenants: Annotated[
        bool,
        typer.Option(
            "--all-tenants",
            help="Work for every tenant (explicit; for the nightly `flux run`, imports by an "
            "operator, `flux db` and `flux doctor`). `flux run` then trains, predicts and "
            "publishes each tenant on its own.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print Flux's version, git sha, Python and key library versions, and exit.",
        ),
    ] = False,
) -> None:
    if quiet and verbose:
        raise typer.BadParameter("--quiet and --verbose contradict each other", param_hint="-q")
    if tenant is not None and all_tenants:
        raise typer.BadParameter(
            "--tenant and --all-tenants contradict each other", param_hint="--tenant"
        )
    if tenant is not None and not re.fullmatch(TENANT_PATTERN, tenant):
        raise typer.BadParameter(
            f"{tenant!r} is not a tenant id (1 to 64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit)",
            param_hint="--tenant",
        )
    if all_tenants and ctx.invoked_subcommand not in ALL_TENANT_COMMANDS:
        raise typer.BadParameter(
            f"`flux {ctx.invoked_subcommand}` works for one tenant at a time: give --tenant "
            f"(--all-tenants is for: {', '.join(sorted(ALL_TENANT_COMMANDS))})",
            param_hint="--all-tenants",
        )
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see flux_cli.launcher
    STATE.config = config
    STATE.verbose = verbose
    STATE.quiet = quiet
    STATE.no_color = no_color
    STATE.log_format = log_format
    STATE.tenant = tenant
    STATE.all_tenants = all_tenants
    STATE.command = ctx.invoked_subcommand
    STATE.configure_output(log_format or "auto")
    import structlog

    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        run_id=os.environ.get("FLUX_RUN_ID") or uuid.uuid4().hex[:12],
        command=ctx.invoked_subcommand,
    )


def _bind_scope(restaurants: Sequence[str] | None) -> None:
    """Log lines of a scoped run carry its restaurants."""
    if restaurants:
        import structlog

        structlog.contextvars.bind_contextvars(restaurant=",".join(sorted(restaurants)))


def _run_locked(
    command: str,
    namespaces: Callable[[Settings], list[str]],
    restaurants: list[str] | None,
    wait: bool,
    wait_timeout: float | None,
    body: Callable[[Settings], None],
) -> None:
    """Runs ``body(settings)`` holding the run locks of ``namespaces(settings)`` (the targets it
    touches) for ``restaurants``; ``wait`` waits for a busy lock."""
    from flux_cli.locking import locked
    from pipelines.io.db import Database

    _bind_scope(restaurants)
    settings = STATE.settings()
    Database(settings).check_integrity()  # a corrupt SQLite file: refused before anything runs
    with locked(
        settings,
        namespaces(settings),
        restaurants,
        wait=wait,
        timeout=wait_timeout,
        command=command,
    ):
        body(settings)


@app.command(
    "import",
    cls=FluxCommand,
    epilog=examples(
        "flux import sample_data/                            # every file in a folder",
        "flux import exports/toast/ --restaurant r01         # one restaurant's rows",
        "flux import lines.csv --mapping lines.mapping.toml  # any CSV, with a mapping",
        "flux import exports/ --restaurant r01 --dry-run     # what it would load; writes nothing",
        "flux import fixed.json -r r01 --replace --dry-run   # what a corrected export removes",
        "flux -v import exports/                             # also names the skipped files",
    ),
)
def import_(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH...", help="Files and folders to import.")
    ],
    format_: FormatOpt = None,
    restaurant: RestaurantOpt = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", metavar="FILE", help="TOML column mapping for csv/series files."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="FIELD=COLUMN",
            help="Map a field to a column, e.g. --map order_id=ticket (repeatable).",
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", metavar="NAME", help="Series target name, e.g. visitors."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding", metavar="NAME", help="Text encoding of the files (default UTF-8)."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail the whole import on any rejected row.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Re-import files that were already imported.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", metavar="FOLDER", help="Folder for reject files.")
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
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Make one --restaurant's orders over the files' business days equal the files: "
            "orders no file holds are removed (a corrected export). Try --dry-run first.",
        ),
    ] = False,
    replace_range: Annotated[
        str | None,
        typer.Option(
            "--replace-range",
            metavar="FROM..TO",
            parser=parse_day_range,
            help="With --replace: the business days to replace, e.g. 2026-09-01..2026-09-30.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Import POS exports, series, restaurants and calendar events into the database.

    Every file is validated first; rows that fail go to a rejects file and the top reasons are
    printed. An unreadable file, a missing column, a file whose rows are all rejected or that
    lands no demand fails the command (exit 2) and nothing is written.
    """
    from flux_cli.commands.import_cmd import ImportOptions, import_command

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
        replace=replace,
        replace_range=replace_range,
        as_json=as_json,
        verbose=STATE.verbose > 0,
    )
    if dry_run:
        _bind_scope(restaurant)
        import_command(STATE.settings(), options)
        return
    _run_locked(
        "flux import",
        lambda _: ["data"],
        restaurant,
        wait,
        wait_timeout,
        lambda settings: import_command(settings, options),
    )


@app.command(
    "pull",
    cls=FluxCommand,
    epilog=examples(
        "flux pull                                   # every restaurant, since its last pull",
        "flux pull --provider square --restaurant r02",
        "flux pull -r r04 --since 2026-06-01 --until 2026-07-01   # a backfill",
        "flux --log-format json pull --json          # for a scheduler",
    ),
)
def pull_(
    restaurant: RestaurantOpt = None,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            metavar="NAME",
            parser=choice(PULL_PROVIDERS),
            autocompletion=complete(PULL_PROVIDERS),
            help=f"Only this provider's restaurants: {', '.join(PULL_PROVIDERS)} (repeatable).",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Pull orders changed from this date or ISO time (UTC) instead of the last pull "
            "less the look-back.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", metavar="WHEN", help="Pull orders changed before this date or time (UTC)."
        ),
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Pull orders straight from the POS vendors' APIs and import them as flux import would.

    Each restaurant with a pos_provider and pos_location_id whose vendor has [pos.<vendor>]
    settings is pulled from its last pull (less pos.lookback_hours, for late voids and refunds);
    its watermark moves only once its orders are committed. Timeouts, 5xx and 429 are retried;
    401/403 stops that vendor; a vendor that keeps failing trips its circuit breaker. Exit 3 when
    some restaurants were skipped (each is named, with why).
    """
    from flux_cli.commands.pull_cmd import PullOptions, pull_command

    options = PullOptions(
        restaurants=restaurant, providers=provider, since=since, until=until, as_json=as_json
    )
    _run_locked(
        "flux pull",
        lambda _: ["data"],
        restaurant,
        wait,
        wait_timeout,
        lambda settings: pull_command(settings, options),
    )


backtest_app = typer.Typer(
    invoke_without_command=True,
    context_settings=CONTEXT,
    epilog=examples(
        "flux backtest --output flux-output/backtest",
        "flux backtest --target net_sales --restaurant r01 --cutoff 2026-06-01 --cutoff 2026-07-01",
        "flux backtest --models seasonal_naive,prophet --folds 5 --json",
        "flux backtest --set models.xgboost.n_estimators=500 --set ensemble.weighting=best",
        "flux backtest --backend sagemaker --shards 8     # a sharded SageMaker job",
        "flux backtest list && flux backtest compare RUN_A RUN_B --plot compare.png",
    ),
)
app.add_typer(backtest_app, name="backtest")


@backtest_app.callback()
def backtest_(
    ctx: typer.Context,
    target: TargetOpt = "covers",
    freq: Annotated[
        str,
        typer.Option(
            "--freq",
            parser=parse_freq,
            metavar=metavar(FREQS),
            autocompletion=complete(FREQS),
            help="D (daily), or 15min / h: the daily backtest's forecasts are also split into "
            "slots by Flux's intraday shape and by the weekday-slot-share baseline (mean share "
            "of the last 8 weeks), both scored against the intraday actuals (WAPE by slot and "
            "by hour).",
        ),
    ] = "D",
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            parser=parse_models,
            metavar="MODEL,...",
            autocompletion=complete_models,
            help="Comma-separated model names, built-in or plug-in (flux models list); "
            "default: seasonal_naive, weekday_median, prophet, xgboost, ensemble.",
        ),
    ] = None,
    folds: Annotated[
        int, typer.Option("--folds", metavar="N", callback=in_range(1), help="Rolling origins.")
    ] = 3,
    horizon: Annotated[
        int,
        typer.Option(
            "--horizon", metavar="DAYS", callback=in_range(1), help="Periods forecast per origin."
        ),
    ] = 28,
    step: Annotated[
        int | None,
        typer.Option(
            "--step",
            metavar="DAYS",
            callback=in_range(1),
            help="Periods between origins (default: the horizon).",
        ),
    ] = None,
    refit_every: Annotated[
        int,
        typer.Option(
            "--refit-every",
            metavar="N",
            callback=in_range(1),
            help="Refit every N folds (1: every fold).",
        ),
    ] = 1,
    cutoff: Annotated[
        list[str] | None,
        typer.Option("--cutoff", metavar="DATE", help="Explicit origin date (repeatable)."),
    ] = None,
    restaurant: RestaurantOpt = None,
    levels: Annotated[
        str | None,
        typer.Option(
            "--levels",
            metavar="PCT,...",
            help="Interval levels in percent (default: [ensemble] levels, 80,95).",
        ),
    ] = None,
    jobs: JobsOpt = 1,
    seed: SeedOpt = 0,
    sets: SetOpt = None,
    backend: ShardedBackendOpt = "local",
    shards: ShardsOpt = None,
    output: OutputFolderOpt = None,
    plot_restaurant: Annotated[
        list[str] | None,
        typer.Option("--plot-restaurant", metavar="ID", help="Restaurant to plot (repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare models with a rolling-origin backtest: metrics per model, fold and restaurant.

    With no command it runs a backtest; list, show and compare read the recorded runs.
    """
    if ctx.invoked_subcommand is not None:
        return
    from flux_cli.commands.backtest_cmd import BacktestOptions, backtest_command

    _bind_scope(restaurant)
    options = BacktestOptions(
        target=target,
        freq=freq,
        models=models,
        folds=folds,
        horizon=horizon,
        step=step,
        refit_every=refit_every,
        cutoffs=cutoff,
        restaurants=restaurant,
        levels=levels,
        jobs=jobs,
        seed=seed,
        sets=sets,
        backend=backend,
        shards=shards,
        output=output,
        plot_restaurants=plot_restaurant,
        as_json=as_json,
    )
    backtest_command(STATE.settings(), options)


RunArg = Annotated[str, typer.Argument(metavar="RUN", help="Backtest run id or unique prefix.")]


@backtest_app.command(
    "list",
    cls=FluxCommand,
    epilog=examples("flux backtest list", "flux backtest list --limit 5 --json"),
)
def backtest_list(
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", help="Newest N runs (0: all).")
    ] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Recorded backtest runs, newest first: spec, data window, restaurants, headline metrics."""
    from flux_cli.commands.backtest_cmd import list_command

    list_command(STATE.settings(), limit=limit or None, as_json=as_json)


@backtest_app.command(
    "show",
    cls=FluxCommand,
    epilog=examples("flux backtest show 3f2a", "flux backtest show 3f2a --json"),
)
def backtest_show(run: RunArg, as_json: JsonOpt = False) -> None:
    """One backtest run: its spec, protocol, data and metrics per model."""
    from flux_cli.commands.backtest_cmd import show_command

    show_command(STATE.settings(), run, as_json=as_json)


@backtest_app.command(
    "compare",
    cls=FluxCommand,
    epilog=examples(
        "flux backtest compare 3f2a 9c1e",
        "flux backtest compare 3f2a 9c1e --model xgboost --plot compare.png --json",
    ),
)
def backtest_compare(
    run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="The challenger run.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="Model compared in both runs (default: ensemble when scored, else each "
            "run's best).",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            metavar="FILE.png",
            help="Write a plot: RMSLE per restaurant, A against B, and the bootstrap.",
        ),
    ] = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Two backtest runs side by side: metrics and differences, per-restaurant wins and losses,
    and whether the difference is larger than noise (a paired bootstrap)."""
    from flux_cli.commands.backtest_cmd import compare_command

    compare_command(
        STATE.settings(), run_a, run_b, model=model, plot=plot, seed=seed, as_json=as_json
    )


@app.command(
    "train",
    cls=FluxCommand,
    epilog=examples(
        "flux train                                  # -> a new artefact, alias candidate",
        "flux train --target net_sales --horizon 14 --jobs 2",
        "flux train --restaurant r05                 # r05's model only; moves no alias",
        "flux train --backend sagemaker              # a SageMaker training job",
        "flux train --set models.xgboost.n_estimators=500",
        "flux train --like 3f2a                      # what backtest run 3f2a... scored",
    ),
)
def train_(
    target: TargetOpt = "covers",
    horizon: Annotated[
        int,
        typer.Option(
            "--horizon", metavar="DAYS", callback=in_range(1), help="Days the model forecasts."
        ),
    ] = 28,
    restaurant: RestaurantOpt = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            parser=choice(BACKENDS),
            metavar=metavar(BACKENDS),
            autocompletion=complete(BACKENDS),
            help="Where training runs: local (this machine) or sagemaker (a training job).",
        ),
    ] = "local",
    jobs: JobsOpt = 1,
    seed: SeedOpt = 0,
    sets: SetOpt = None,
    like: Annotated[
        str | None,
        typer.Option(
            "--like",
            metavar="RUN",
            help="Train exactly what this backtest run scored: its target and model spec "
            "(members, settings, weighting, levels, seed, horizon).",
        ),
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option(
            "--alias",
            metavar="NAME",
            help="Alias to point at the new artefact (default: candidate; a --restaurant run "
            "moves no alias unless given one).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Fit the ensemble and store it as an immutable, versioned artefact."""
    from flux_cli.commands.train_cmd import TrainOptions, train_command

    options = TrainOptions(
        target=target,
        horizon=horizon,
        restaurants=restaurant,
        backend=backend,
        jobs=jobs,
        seed=seed,
        sets=sets,
        like=like,
        alias=alias,
        as_json=as_json,
    )
    _run_locked(
        "flux train",
        lambda _: [target],
        restaurant,
        wait,
        wait_timeout,
        lambda settings: train_command(settings, options),
    )


@app.command(
    "predict",
    cls=FluxCommand,
    epilog=examples(
        "flux predict --output forecast.csv                  # from alias candidate, latest data",
        "flux predict --artifact production --as-of 2026-09-30 --output forecast.parquet",
        "flux predict --freq 15min                           # split by intraday profile",
        "flux predict --quantiles 0.1,0.5,0.9 --output q.csv # quantiles for staffing",
        "flux predict --from 2026-09-01 --to 2026-09-30      # a backfill, one run per day",
        "flux predict --backend sagemaker --shards 8         # a sharded SageMaker job",
        "flux predict --jobs 2                               # models read in 2 workers",
    ),
)
def predict_(
    artifact: Annotated[
        str, typer.Option("--artifact", "-a", metavar="REF", help="Artefact id or alias.")
    ] = "candidate",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="DATE", help="Forecast origin date (default: the latest data)."
        ),
    ] = None,
    restaurant: RestaurantOpt = None,
    freq: FreqOpt = "D",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Also write a .csv, .parquet or .json file."
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DATE",
            help="Backfill: forecast as of every date from this one (with --to).",
        ),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Backfill: the last as-of date.")
    ] = None,
    quantiles: Annotated[
        str | None,
        typer.Option(
            "--quantiles",
            metavar="Q,Q,...",
            help="Add yhat_q<100q> columns to --output, e.g. 0.1,0.5,0.9 (0.1 and 0.9 are the "
            "80% interval's bounds, 0.5 the point forecast; within 0.025..0.975).",
        ),
    ] = None,
    backend: ShardedBackendOpt = "local",
    shards: ShardsOpt = None,
    jobs: JobsOpt = 1,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Forecast the horizon after the as-of date and store the forecast run.

    With --from/--to, a backfill: one forecast run per as-of date, each from the history up to
    that date, as the nightly job would have made it; a failed day does not stop the rest, and a
    summary lists every day (exit 3 when some days failed, 1 when all did).
    """
    from flux_cli.commands.predict_cmd import PredictOptions, predict_command

    options = PredictOptions(
        artifact=artifact,
        as_of=as_of,
        restaurants=restaurant,
        freq=freq,
        output=output,
        from_=from_,
        to=to,
        quantiles=quantiles,
        backend=backend,
        shards=shards,
        jobs=jobs,
        as_json=as_json,
    )
    options.check()  # usage errors before anything is read
    options.check_limits(STATE.settings())

    def target(settings: Settings) -> list[str]:
        from pipelines.predict import artifact_target

        return [artifact_target(settings, artifact)]

    _run_locked(
        "flux predict",
        target,
        restaurant,
        wait,
        wait_timeout,
        lambda settings: predict_command(settings, options),
    )


@app.command(
    "publish",
    cls=FluxCommand,
    epilog=examples(
        "flux publish                                # the newest forecast run",
        "flux publish --run 4f1c... --margin 0.05    # must beat seasonal naive by 5%",
        'flux publish --force "reviewed by ops"      # past failed gates, with a reason',
    ),
)
def publish_(
    forecast_run: Annotated[
        str | None,
        typer.Option("--run", metavar="ID", help="Forecast run id (default: the newest)."),
    ] = None,
    restaurant: RestaurantOpt = None,
    force: Annotated[
        str | None,
        typer.Option(
            "--force", metavar="REASON", help="Publish despite failed gates; give a reason."
        ),
    ] = None,
    margin: Annotated[
        float,
        typer.Option(
            "--margin",
            metavar="FRACTION",
            callback=in_range(0, 1, below=True),
            help="How much the ensemble must beat seasonal naive (0.05: by 5%; 0 to under 1).",
        ),
    ] = 0.0,
    as_json: JsonOpt = False,
    wait: WaitOpt = False,
    wait_timeout: WaitTimeoutOpt = None,
) -> None:
    """Gate a forecast run and publish it to the table the web app reads."""
    from flux_cli.commands.publish_cmd import PublishOptions, publish_command

    options = PublishOptions(
        forecast_run=forecast_run,
        restaurants=restaurant,
        force=force,
        margin=margin,
        as_json=as_json,
    )

    def target(settings: Settings) -> list[str]:
        from pipelines.publish import run_target

        return [run_target(settings, forecast_run)]

    _run_locked(
        "flux publish",
        target,
        restaurant,
        wait,
        wait_timeout,
        lambda settings: publish_command(settings, options),
    )


@app.command(
    "run",
    cls=FluxCommand,
    epilog=examples(
        "flux run --dry-run                          # what tonight's run would do",
        "flux run --wait --wait-timeout 3600         # import, retrain if due, predict, publish",
        "flux run --restaurant r05 --retrain         # support: redo one restaurant",
        "flux --log-format json run --wait --json >> run.jsonl 2>&1   # every line is JSON",
    ),
)
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

    Configured by the [run] table of flux.toml (source folder, s3:// prefix or "pos" to pull
    from the POS vendors' APIs; target, horizon, frequencies, retrain cadence). Safe to rerun
    after any failure. Exit 0 ok, 1 failure, 2 usage or data error, 3 partial (the summary lists
    the restaurants and why).
    """
    from flux_cli.commands.run_cmd import RunOptions, run_command

    options = RunOptions(
        restaurants=restaurant,
        dry_run=dry_run,
        retrain=retrain,
        publish=publish,
        as_json=as_json,
        wait=wait,
        wait_timeout=wait_timeout,
    )
    _bind_scope(restaurant)
    run_command(STATE.settings(), options)


@artefacts_app.callback()
def artefacts_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The artefact store and its aliases: list (the default), show, promote."""
    if ctx.invoked_subcommand is None:
        from flux_cli.commands.artefacts_cmd import list_command

        list_command(STATE.settings(), as_json=as_json)


@artefacts_app.command(
    "list", cls=FluxCommand, epilog=examples("flux artefacts list", "flux artefacts list --json")
)
def artefacts_list(as_json: JsonOpt = False) -> None:
    """List stored artefacts with their aliases, newest first."""
    from flux_cli.commands.artefacts_cmd import list_command

    list_command(STATE.settings(), as_json=as_json)


RefArg = Annotated[str, typer.Argument(metavar="REF", help="Artefact id, id prefix or alias.")]


@artefacts_app.command(
    "show",
    cls=FluxCommand,
    epilog=examples("flux artefacts show candidate", "flux artefacts show 20261130"),
)
def artefacts_show(ref: RefArg) -> None:
    """Print an artefact's manifest as JSON."""
    from flux_cli.commands.artefacts_cmd import show_command

    show_command(STATE.settings(), ref)


@artefacts_app.command(
    "promote",
    cls=FluxCommand,
    epilog=examples(
        "flux artefacts promote candidate            # -> production",
        "flux artefacts promote 20261130 --alias staging",
    ),
)
def artefacts_promote(
    ref: RefArg,
    alias: Annotated[
        str | None,
        typer.Option("--alias", metavar="NAME", help="Alias to move (default: production)."),
    ] = None,
) -> None:
    """Point an alias (default production) at an artefact."""
    from flux_cli.commands.artefacts_cmd import promote_command

    promote_command(STATE.settings(), ref, alias)


@models_app.command(
    "list", cls=FluxCommand, epilog=examples("flux models list", "flux models list --json")
)
def models_list(as_json: JsonOpt = False) -> None:
    """Built-in and plug-in forecasters (entry points `flux.forecasters`), their settings and
    defaults."""
    from flux_cli.commands.models_cmd import list_command

    list_command(STATE.settings(), as_json=as_json)


@models_app.command(
    "check",
    cls=FluxCommand,
    epilog=examples("flux models check drift_mean", "flux models check xgboost --json"),
)
def models_check(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A registered model name.")],
    as_json: JsonOpt = False,
) -> None:
    """Run the forecaster contract check (models.contract.check_forecaster) on a model, built with
    its [models.NAME] settings; exit 1 when a check fails."""
    from flux_cli.commands.models_cmd import check_command

    check_command(STATE.settings(), name, as_json=as_json)


@app.command(
    "monitor",
    cls=FluxCommand,
    epilog=examples(
        "flux monitor",
        "flux monitor --days 28 --multiple 1.5 --plot monitor.png",
        "flux monitor --restaurant r05 --json",
    ),
)
def monitor_(
    target: TargetOpt = "covers",
    freq: FreqOpt = "D",
    days: Annotated[
        int,
        typer.Option("--days", metavar="N", help="Compare the last N days that have actuals."),
    ] = 28,
    multiple: Annotated[
        float,
        typer.Option(
            "--multiple",
            metavar="X",
            help="Flag a restaurant whose error exceeds this multiple of expected.",
        ),
    ] = 1.5,
    restaurant: RestaurantOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE", help="Write a PNG plot of error against expected."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare published forecasts with actuals; flag restaurants doing worse than expected.

    Exit 3 when any restaurant is flagged.
    """
    from flux_cli.commands.monitor_cmd import MonitorOptions, monitor_command

    _bind_scope(restaurant)
    options = MonitorOptions(
        target=target,
        freq=freq,
        days=days,
        multiple=multiple,
        restaurants=restaurant,
        plot=plot,
        as_json=as_json,
    )
    monitor_command(STATE.settings(), options)


@app.command(
    "doctor",
    cls=FluxCommand,
    epilog=examples("flux doctor", "flux --config /etc/flux/flux.toml doctor"),
)
def doctor_(as_json: JsonOpt = False) -> None:
    """Check the configuration, database, migrations, TimescaleDB, tenancy (row-level
    security), artefact store, SageMaker settings and each configured POS vendor (one cheap
    authenticated call); say what is wrong and how to fix it. Exit 1 when a check fails."""
    from flux_cli.commands.doctor_cmd import doctor_command

    doctor_command(STATE.config, as_json=as_json, overrides=STATE.tenant_overrides())


@db_app.command(
    "upgrade", cls=FluxCommand, epilog=examples("FLUX_AUTO_MIGRATE=false flux db upgrade")
)
def db_upgrade() -> None:
    """Migrate the database schema to this Flux's version."""
    from flux_cli.commands.db_cmd import upgrade

    upgrade(STATE.settings())


@db_app.command(
    "status", cls=FluxCommand, epilog=examples("flux db status", "flux db status --json")
)
def db_status(as_json: JsonOpt = False) -> None:
    """Show the database, its schema revision and whether TimescaleDB is in use."""
    from flux_cli.commands.db_cmd import status

    status(STATE.settings(), as_json=as_json)


def main() -> None:
    """Entry point: the same as the ``flux`` console script (see :mod:`flux_cli.launcher`)."""
    from flux_cli.launcher import main as launch

    launch()


__all__ = ["EXIT_USAGE", "app", "main"]
