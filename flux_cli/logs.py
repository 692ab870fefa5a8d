"""Logging: structlog, JSON when not on a terminal, quiet by default on one."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from pipelines.redaction import scrub

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


def configure(verbosity: int, fmt: str = "auto") -> None:
    """Configures stdlib logging and structlog once, at the edge.

    Args:
        verbosity: 0 quiet (warnings), 1 info, 2 debug.
        fmt: auto (JSON when stderr is not a terminal), json, or console.
    """
    tty = sys.stderr.isatty()
    use_json = fmt == "json" or (fmt == "auto" and not tty)
    if verbosity >= 2:
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
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=tty)
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
            foreign_pre_chain=shared,
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
