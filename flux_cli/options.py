"""Options shared by several commands, and the parsers that validate choices.

Every choice (``--backend``, ``--target``, ``--freq``, ``--models``, ``--format``) is checked
while the command line is parsed, before any data or heavy library is loaded, and a bad value
names the valid ones. Each parser also offers its values to shell completion. Help texts show a
metavar that says what a value is (``DATE``, ``ID``, ``N``), never a Python type name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from models import columns as c
from models.freqs import FREQS
from pipelines.io.adapters import FORMATS

BACKENDS = ("local", "sagemaker")
TARGET_PATTERNS = ("item:NAME", "category:NAME")


def _listing(values: Sequence[str]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def choice(values: Sequence[str], hint: str = "") -> Callable[[str], str]:
    """A parser accepting one of ``values``; the error names them (and ``hint``)."""

    def parse(value: str) -> str:
        if value not in values:
            raise typer.BadParameter(f"{value!r}: choose {_listing(values)}{hint}")
        return value

    return parse


def complete(values: Sequence[str]) -> Callable[[str], list[str]]:
    """Shell completion over ``values``."""

    def values_starting(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return values_starting


def check_shards(backend: str, shards: int | None) -> int | None:
    """``--shards``, which only a SageMaker run takes.

    Raises:
        UsageError: ``--shards`` without ``--backend sagemaker``.
    """
    if shards is not None and backend != "sagemaker":
        from pipelines.errors import UsageError

        raise UsageError("--shards needs --backend sagemaker")
    return shards


def metavar(values: Sequence[str]) -> str:
    """``[a|b|c]``, the metavar of a choice."""
    return "[" + "|".join(values) + "]"


# --- numbers ------------------------------------------------------------------------------------


def in_range(
    low: float, high: float | None = None, *, below: bool = False
) -> Callable[[float | None], float | None]:
    """A callback accepting a number from ``low`` up to ``high`` (``below``: strictly under it);
    the error says the range. (A callback rather than Typer's ``min=``/``max=``, whose
    ``x>=1`` notation would show in every help page.)"""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        over = high is not None and (value >= high if below else value > high)
        if value < low or over:
            top = "" if high is None else f" {'to under' if below else 'to'} {high:g}"
            span = f"from {low:g}{top}" if high is not None else f"at least {low:g}"
            raise typer.BadParameter(f"{value:g}: must be {span}")
        return value

    return check


# --- days ----------------------------------------------------------------------------------------


def parse_day_range(value: str) -> str:
    """``FROM..TO``: two ISO dates, the first not after the second (returned as given)."""
    day_range(value)
    return value


def day_range(value: str) -> tuple[dt.date, dt.date]:
    """The two dates of a ``FROM..TO`` range.

    Raises:
        typer.BadParameter: not two ISO dates joined by ``..``, or FROM after TO.
    """
    first, sep, last = value.partition("..")
    try:
        if not sep:
            raise ValueError
        span = (dt.date.fromisoformat(first.strip()), dt.date.fromisoformat(last.strip()))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: expected FROM..TO, e.g. 2026-09-01..2026-09-30"
        ) from None
    if span[0] > span[1]:
        raise typer.BadParameter(f"{value!r}: FROM is after TO")
    return span


# --- targets ------------------------------------------------------------------------------------

TARGET_HELP = f"The demand target: {', '.join(c.SERIES_TARGETS)}, {_listing(TARGET_PATTERNS)}."


def parse_target(value: str) -> str:
    """A series target, ``item:NAME`` or ``category:NAME``."""
    kind, _, name = value.partition(":")
    if value in c.SERIES_TARGETS or (kind in ("item", "category") and name.strip()):
        return value
    raise typer.BadParameter(
        f"{value!r} is not a target: choose {', '.join(c.SERIES_TARGETS)}, "
        f"{_listing(TARGET_PATTERNS)}"
    )


def _complete_target(incomplete: str) -> list[str]:
    values = [*c.SERIES_TARGETS, "item:", "category:"]
    return [v for v in values if v.startswith(incomplete)]


TargetOpt = Annotated[
    str,
    typer.Option(
        "--target",
        parser=parse_target,
        metavar="TARGET",
        autocompletion=_complete_target,
        help=TARGET_HELP,
    ),
]

# --- models -------------------------------------------------------------------------------------


def model_names() -> list[str]:
    """Every model a backtest can compare (the registry; light to import)."""
    from models import registry

    return registry.available()


def parse_models(value: str) -> str:
    """A comma-separated list of registered model names."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    valid = model_names()
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise typer.BadParameter(
            f"unknown model(s) {', '.join(unknown) or repr(value)}: choose from {', '.join(valid)}"
        )
    return ",".join(names)


def complete_models(incomplete: str) -> list[str]:
    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    return [prefix + m for m in model_names() if m.startswith(last)]


# --- import formats -----------------------------------------------------------------------------

IMPORT_FORMATS = FORMATS
"""The import formats, for ``--format``'s help, completion and validation (the adapters'
registry, which loads no adapter)."""

parse_format = choice(IMPORT_FORMATS)

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        parser=parse_format,
        metavar="FORMAT",
        autocompletion=complete(IMPORT_FORMATS),
        help=f"Force a format: {', '.join(IMPORT_FORMATS)} (default: detect each file).",
    ),
]

# --- shared options -----------------------------------------------------------------------------

parse_freq = choice(FREQS)
FreqOpt = Annotated[
    str,
    typer.Option(
        "--freq",
        parser=parse_freq,
        metavar=metavar(FREQS),
        autocompletion=complete(FREQS),
        help="D (daily), h (hourly) or 15min (the daily forecast split by intraday profile).",
    ),
]
PULL_PROVIDERS = ("square", "clover", "toast", "revel", "lightspeed")
"""The vendors ``flux pull`` talks to (``pipelines.io.pos.providers.SUPPORTED``, kept here so
``--help`` does not load httpx)."""

RestaurantOpt = Annotated[
    list[str] | None,
    typer.Option("--restaurant", "-r", metavar="ID", help="Only this restaurant (repeatable)."),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the result as JSON on stdout (indented on a terminal, one line otherwise).",
    ),
]
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
    typer.Option(
        "--wait-timeout",
        metavar="SECONDS",
        callback=in_range(0),
        help="How long --wait waits at most (default 6 hours).",
    ),
]
JobsOpt = Annotated[
    int,
    typer.Option(
        "--jobs", "-j", metavar="N", callback=in_range(1, 64), help="Parallel workers (1-64)."
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", metavar="N", help="Random seed.")]
ShardedBackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        parser=choice(BACKENDS),
        metavar=metavar(BACKENDS),
        autocompletion=complete(BACKENDS),
        help="Where it runs: local (this machine) or sagemaker (a job sharded by restaurant; "
        "the parts are merged and recorded as a local run).",
    ),
]
ShardsOpt = Annotated[
    int | None,
    typer.Option(
        "--shards",
        metavar="N",
        callback=in_range(1, 1000),
        help="With --backend sagemaker: instances, one shard of the restaurants each "
        "(default: FLUX_SAGEMAKER_INSTANCE_COUNT).",
    ),
]
OutputFolderOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", metavar="FOLDER", help="Write frames, metrics and plots to this folder."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="A model setting over flux.toml's (repeatable): models.MODEL.SETTING=VALUE "
        "(`flux models list` shows them) or ensemble.members|weighting|levels|regressors=VALUE.",
    ),
]
