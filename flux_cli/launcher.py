"""The ``flux`` executable.

Before anything else it sets process-wide defaults: OpenMP's passive wait policy
(``OMP_WAIT_POLICY=PASSIVE``, unless the user chose one), so that XGBoost's and scikit-learn's
OpenMP threads sleep rather than spin while they wait; on a busy machine spinning threads make
multi-threaded fits many times slower. The variable must be set before any library loads OpenMP,
which is why it is set here, first.

Then it answers ``flux --help``, ``flux COMMAND --help`` and ``flux --version`` without loading
Typer, rich or anything else: the help pages are stored in ``help.txt`` beside this module
(rendered by :mod:`flux_cli.helpgen`; a test fails when they drift from the live ones), so help is
as fast as Python starts. Everything else runs the Typer app in :mod:`flux_cli.main`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HELP_FILE = Path(__file__).with_name("help.txt")
PAGE_MARK = "=== "
HELP_WIDTH = 80
"""The stored pages are rendered at this width (Click's widest); a narrower terminal gets live
help, wrapped to fit."""


def read_pages(text: str | None = None) -> dict[str, str]:
    """The stored help pages: command path (``""``, ``"import"``, ``"db status"``) -> page."""
    if text is None:
        try:
            text = HELP_FILE.read_text(encoding="utf-8")
        except OSError:
            return {}
    pages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        if line.startswith(PAGE_MARK):
            current = pages.setdefault(
                line[len(PAGE_MARK) :].strip().removeprefix("flux").strip(), []
            )
        elif current is not None:
            current.append(line)
    return {path: "".join(lines) for path, lines in pages.items()}


def stored_help(args: list[str], prog: str) -> str | None:
    """The stored page for ``flux [COMMAND...] --help``, or None when it must be rendered live
    (other options, another program name, a narrow terminal)."""
    if not args or args[-1] not in ("-h", "--help") or Path(prog).name != "flux":
        return None
    path = args[:-1]
    if any(a.startswith("-") for a in path):
        return None
    import shutil

    if shutil.get_terminal_size().columns < HELP_WIDTH:
        return None
    return read_pages().get(" ".join(path))


def main() -> None:
    """Entry point of the ``flux`` console script."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = sys.argv[1:]
    if args == ["--version"]:
        from flux_cli.about import version_text

        sys.stdout.write(version_text() + "\n")
        raise SystemExit(0)
    page = stored_help(args, sys.argv[0])
    if page is not None:
        sys.stdout.write(page)
        raise SystemExit(0)
    from flux_cli.main import app, install_signal_handlers

    install_signal_handlers()
    app()
