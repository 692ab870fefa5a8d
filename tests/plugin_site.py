"""The example plug-in (``tests/plugins/flux-example-forecaster``), made importable for a test.

:func:`install_example_plugin` lays the package out as an installed distribution would be in a
site folder: the package itself plus ``flux_example_forecaster-0.1.0.dist-info`` with its
``METADATA`` and the ``entry_points.txt`` written from the plug-in's own ``pyproject.toml`` (so
the test registers exactly what ``pip install`` would). Put the folder on ``sys.path`` (or
``PYTHONPATH``) and ``importlib.metadata`` finds the entry point; delete ``entry_points.txt`` and
the registration is gone. Nothing is installed into the project's virtual environment, so
``uv run --locked`` works from a fresh clone.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

PLUGIN = Path(__file__).parent / "plugins" / "flux-example-forecaster"
PACKAGE = "flux_example_forecaster"


def install_example_plugin(site: Path) -> Path:
    """Lays the plug-in out in ``site``; returns its ``entry_points.txt``."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    site.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PLUGIN / PACKAGE, site / PACKAGE, dirs_exist_ok=True)
    info = site / f"{PACKAGE}-{project['version']}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    entry_points = info / "entry_points.txt"
    entry_points.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return entry_points
