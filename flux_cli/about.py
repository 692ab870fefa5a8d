"""``flux --version``: what is running, without importing anything heavy (versions come from
package metadata, the sha from git)."""

from __future__ import annotations

import platform
import sys

from pipelines.version import flux_version, git_sha, library_versions

KEY_LIBRARIES = (
    "pandas",
    "numpy",
    "scikit-learn",
    "prophet",
    "cmdstanpy",
    "xgboost",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "boto3",
    "pydantic",
    "typer",
    "rich",
    "structlog",
)


def version_text() -> str:
    """``flux 0.1.0 (git 1a2b3c4d5e6f)``, then Python and the key libraries, one per line."""
    sha = git_sha()
    lines = [
        f"flux {flux_version()} (git {sha[:12] if sha else 'unknown'})",
        f"Python {platform.python_version()} ({platform.python_implementation()}, {sys.platform})",
    ]
    versions = library_versions(KEY_LIBRARIES)
    width = max(len(n) for n in versions) if versions else 0
    lines += [f"  {name:<{width}}  {version}" for name, version in versions.items()]
    return "\n".join(lines)
