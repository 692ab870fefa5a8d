"""Terminal output: one console for results (stdout) and one for messages (stderr)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Not on a terminal (a pipe, a log file) rich would assume 80 columns and squeeze tables.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def interactive() -> bool:
    """Whether a person is watching (stderr is a terminal)."""
    return sys.stderr.isatty()


def print_json(data: Any) -> None:
    """Prints JSON for scripts (no colour, one document)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """Prints one error line to stderr."""
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
