"""Logging: structlog, JSON when not on a terminal, quiet by default on one.

stdlib records (``logging.getLogger(...).info("...", extra={...})``) go through the same
processors, their ``extra`` fields included, so a pipeline module that logs through stdlib loses
nothing. Secrets are masked in every line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from pipelines.redaction import scrub

LogFormat = Literal["auto", "json", "console"]
LOG_FORMATS: tuple[LogFormat, ...] = ("auto", "json", "console")

_NOISY = (
    "cmdstanpy",
    "prophet",
    "prophet.plot",
    "matplotlib",
    "botocore",
    "boto3",
    "urllib3",
    "alembic",
    "numexpr",
)


def _scrub_values(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_values(v) for v in value]
    return value


def scrub_secrets(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: no password, key or credentialed URL reaches a log line."""
    return {k: _scrub_values(v) for k, v in event.items()}


def uses_json(fmt: str = "auto") -> bool:
    """Whether log lines are JSON: asked for, or ``auto`` with stderr not a terminal."""
    return fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())


def configure(
    verbosity: int, fmt: str = "auto", *, quiet: bool = False, no_color: bool = False
) -> bool:
    """Configures stdlib logging and structlog, at the edge. Returns whether lines are JSON.

    Args:
        verbosity: 0 quiet on a terminal (warnings; info when not on one), 1 info, 2 debug.
        fmt: auto (JSON when stderr is not a terminal), json, or console.
        quiet: errors only, whatever the verbosity.
        no_color: no escape codes in console lines (``NO_COLOR`` is honoured too).
    """
    import os

    tty = sys.stderr.isatty()
    use_json = uses_json(fmt)
    if quiet:
        level = logging.ERROR
    elif verbosity >= 2:
        level = logging.DEBUG
    elif verbosity == 1 or not tty:
        level = logging.INFO
    else:
        level = logging.WARNING
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    colors = tty and not no_color and not os.environ.get("NO_COLOR")
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(
            colors=colors,
            exception_formatter=(
                structlog.dev.RichTracebackFormatter(color_system="truecolor")
                if colors
                else structlog.dev.plain_traceback
            ),
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                scrub_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.ERROR if verbosity < 2 else logging.INFO)
    logging.captureWarnings(fmt == "json")  # a library's warning is a JSON line too
    return use_json
