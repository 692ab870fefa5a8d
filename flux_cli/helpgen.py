"""Renders every ``--help`` page of the live Typer app into ``flux_cli/help.txt``, the pages
:mod:`flux_cli.launcher` serves without loading Typer.

Run ``python -m flux_cli.helpgen`` after changing a command, option or help text;
``tests/test_cli.py`` fails while the stored pages differ from the live ones.
"""

from __future__ import annotations

from typing import Any

from flux_cli.launcher import HELP_FILE, HELP_WIDTH, PAGE_MARK


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        out += _paths(sub, (*prefix, name))
    return out


def command_paths() -> list[tuple[str, ...]]:
    """Every command path: ``()``, ``("import",)``, ..., ``("db", "status")``."""
    from typer.main import get_command

    from flux_cli.main import app

    return _paths(get_command(app))


def render_pages() -> dict[str, str]:
    """The live help page of every command, at the stored width."""
    from typer.testing import CliRunner

    from flux_cli.main import app

    runner = CliRunner()
    env = {"COLUMNS": str(HELP_WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
    pages = {}
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], prog_name="flux", env=env)
        if result.exit_code != 0:
            raise RuntimeError(f"flux {' '.join(path)} --help failed: {result.output}")
        pages[" ".join(path)] = result.stdout
    return pages


def render_file() -> str:
    """``help.txt``'s text."""
    return "".join(
        f"{PAGE_MARK}{' '.join(['flux', path]).strip()}\n{page}"
        for path, page in render_pages().items()
    )


def main() -> None:
    """Rewrites ``flux_cli/help.txt``."""
    HELP_FILE.write_text(render_file(), encoding="utf-8")
    print(f"wrote {HELP_FILE}")


if __name__ == "__main__":
    main()
