"""Local file helpers: hashing, and writing files atomically (temporary name, then rename)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for a type: `flux artefacts list` must not load pandas
    import pandas as pd


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Writes to a temporary file beside ``path`` and renames it into place on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    text = "b" not in mode
    try:
        with os.fdopen(
            fd, mode, encoding="utf-8" if text else None, newline="" if text else None
        ) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(path: Path, option: str) -> None:
    """Makes sure a file can be written at ``path`` (its folder created, a scratch file made and
    removed there) before any work is done for it.

    Raises:
        UsageError: the folder cannot be created or written (exit 2), naming ``option``.
    """
    from pipelines.errors import UsageError

    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a folder, not a file", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        Path(tmp).unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"{path}: {option} cannot be written ({reason}); nothing was run"
        ) from None


def rejects_path(folder: Path, batch_id: str, source: Path) -> Path:
    """Where the rejects of one imported file go."""
    name = source.name
    for suffix in (".gz", ".csv", ".json", ".parquet"):
        name = name.removesuffix(suffix)
    return folder / f"{batch_id[:8]}-{name}.rejects.csv"


def write_rejects(path: Path, rejects: pd.DataFrame) -> None:
    """Writes a rejects table (row, field, reason, raw) atomically."""
    with atomic_write(path) as fh:
        rejects.to_csv(fh, index=False)
