"""Terminal output: results on stdout, messages on stderr.

stdout carries what a command produces (tables, summaries, ``--json`` documents). stderr carries
messages about the run (notes, warnings, errors, progress) and log lines:

- on a terminal, or with ``--log-format console``: text messages and console log lines;
- ``auto`` off a terminal: text messages and JSON log lines (a person reading a CI log sees the
  messages; a machine reads the JSON);
- ``--log-format json`` or ``FLUX_LOG_FORMAT=json``: only JSON lines; every message is a log line
  (``event`` is its text), tables meant for stderr go to stdout, and a command's error is the
  ``error`` field of its ``command finished`` line, so a scheduler's log file is valid JSONL.

:func:`configure` sets the mode once, at the edge; the consoles honour ``NO_COLOR`` and
``--no-color`` and never wrap a line when the output is not a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

PIPE_WIDTH = 4096
"""Width rich lays tables out in when the output is not a terminal: wide enough that no line
is ever wrapped (tables keep their natural width; text is never wrapped)."""

Level = Literal["debug", "info", "warning", "error"]


@dataclass
class Mode:
    """How output behaves, set by :func:`configure`.

    Attributes:
        json_logs: Log lines are JSON.
        json_only: Everything on stderr is a JSON line (JSON asked for explicitly).
        quiet: Only errors on stderr (no progress, notes or warnings).
        no_color: No colour or other escape codes anywhere.
    """

    json_logs: bool = False
    json_only: bool = False
    quiet: bool = False
    no_color: bool = False


MODE = Mode()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with control characters (an escape sequence in a file name, a carriage return,
    a bell) shown as ``\\x1b``-style escapes, so no input can drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SafeConsole(Console):
    """A rich console that never writes the control characters of the text it is given, in a
    printed string or a table cell alike (its own colour codes are added after, when it
    renders)."""

    def render_str(self, text: str, **kwargs: Any) -> Any:
        return super().render_str(visible(text), **kwargs)


def color_disabled(no_color: bool = False) -> bool:
    """Whether colour is off: ``--no-color``, or ``NO_COLOR`` set to anything (no-color.org)."""
    return no_color or bool(os.environ.get("NO_COLOR"))


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    plain = MODE.no_color
    return SafeConsole(
        stderr=stderr,
        highlight=False,
        soft_wrap=not tty,
        width=None if tty else PIPE_WIDTH,
        no_color=plain,
        color_system=None if plain else "auto",
    )


out = _console(stderr=False)
err = _console(stderr=True)


def configure(
    *, json_logs: bool = False, json_only: bool = False, quiet: bool = False, no_color: bool = False
) -> None:
    """Sets the output mode and rebuilds both consoles for the current streams."""
    global out, err  # noqa: PLW0603 (the consoles are rebuilt once, at the edge)
    MODE.json_logs = json_logs or json_only
    MODE.json_only = json_only
    MODE.quiet = quiet
    MODE.no_color = color_disabled(no_color)
    out = _console(stderr=False)
    err = _console(stderr=True)


def interactive() -> bool:
    """Whether a person is watching: stderr is a terminal and messages are text, not JSON."""
    return sys.stderr.isatty() and not MODE.json_logs


def show_progress() -> bool:
    """Whether to draw progress bars (a person is watching and did not ask for quiet)."""
    return interactive() and not MODE.quiet


def print_json(data: Any) -> None:
    """Prints one JSON document on stdout: indented on a terminal, one line otherwise (so that a
    scheduler capturing stdout and stderr together still gets valid JSONL)."""
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(data, indent=indent, default=str) + "\n")
    sys.stdout.flush()


def message(text: str, level: Level = "info", **fields: Any) -> None:
    """A message about the run: text on stderr, or (JSON only) a log line whose ``event`` is
    ``text``, plus ``fields``. Quiet mode keeps only errors. Text is printed as is (no markup)."""
    if MODE.json_only:
        import structlog

        getattr(structlog.get_logger("flux.cli"), level)(text, **fields)
        return
    if MODE.quiet and level != "error":
        return
    prefix = {"warning": "[yellow]warning:[/] ", "error": "[bold red]error:[/] "}.get(level, "")
    err.print(prefix, end="", markup=True)
    err.print(text, markup=False)


def note(text: str, **fields: Any) -> None:
    """An informational message (see :func:`message`)."""
    message(text, "info", **fields)


def warn(text: str, **fields: Any) -> None:
    """A warning (see :func:`message`)."""
    message(text, "warning", **fields)


def error(text: str, **fields: Any) -> None:
    """An error that does not end the command (see :func:`message`)."""
    message(text, "error", **fields)


def diagnostic_table(table: Table, event: str, level: Level = "warning", **fields: Any) -> None:
    """A table about the run (e.g. reject reasons): on stderr for a person; when stderr is JSON
    only, the table goes to stdout with the results and ``event`` with ``fields`` to the log."""
    if MODE.json_only:
        out.print(table)
        message(event, level, **fields)
    elif not (MODE.quiet and level != "error"):
        err.print(table)
