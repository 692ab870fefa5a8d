"""Run locks: two runs that touch the same restaurant and target never interleave.

A run scoped to some restaurants holds the target's lock *shared* and each restaurant's lock
*exclusive*; a run over every restaurant holds the target's lock *exclusive*. So two runs for
disjoint restaurants proceed side by side, while any overlap (including an all-restaurant run)
makes the second one wait or stop.

PostgreSQL: session-level advisory locks on a dedicated connection (released when the connection
closes, so a killed process never leaves a lock behind). SQLite: ``flock`` on files in a folder
beside the database file (released by the kernel when the process dies), and, on Linux, an
open-file-description byte-range lock on the database file itself for each key (far beyond any
byte SQLite locks), so deleting the lock folder cannot let a second run in: the folder only
names the holder for the "locked by" message.

Locks are taken by the edges (the CLI commands), once per command, never inside the pipeline
steps, so a nightly ``flux run`` that calls several steps holds one lock for all of them.

(The file locks stay on ``fcntl.flock`` rather than the ``filelock`` package: its locks are
exclusive only, and its Unix lock truncates the lock file on every attempt, erasing the holder's
name that the next run's message quotes; ``flock`` gives shared and exclusive locks, conflicts
between two open files even within one process, and is released by the kernel when a process
dies.)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.errors import ConfigError, FluxError
from pipelines.io.db import Database
from pipelines.settings import Settings

ALL = "*"
POLL_SECONDS = 0.2
ANCHOR_BASE = 1 << 40
"""Where the byte-range locks on a SQLite file start: far beyond SQLite's own lock bytes
(around 1 GiB) and beyond any database Flux will hold."""
_HELD: set[tuple[str, str]] = set()


def held(namespace: str, restaurants: frozenset[str] | None) -> bool:
    """Whether this process holds (really, not with ``locks = off``) the locks a run over
    ``restaurants`` (None: all) of ``namespace`` needs: then no other run can be working on
    them, and a record of one still ``running`` was left by a killed process."""
    return all((k.namespace, k.restaurant) in _HELD for k in keys_for(namespace, restaurants))


class LockBusy(FluxError):
    """Another run holds a lock this run needs (exit 1; ``--wait`` waits for it)."""


@dataclass(frozen=True)
class LockKey:
    """One lock: ``namespace`` (a target, or ``data`` for imports) and a restaurant or ``*``."""

    namespace: str
    restaurant: str
    shared: bool

    @property
    def name(self) -> str:
        """The lock's name, e.g. ``covers/r05``."""
        return f"{self.namespace}/{self.restaurant}"

    @property
    def number(self) -> int:
        """A signed 64-bit key for ``pg_advisory_lock``."""
        digest = hashlib.sha256(f"flux:{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def describe(self) -> str:
        """Plain words for messages."""
        who = "every restaurant" if self.restaurant == ALL else f"restaurant {self.restaurant}"
        return f"{who}, {self.namespace}"


def keys_for(namespace: str, restaurants: frozenset[str] | None) -> list[LockKey]:
    """The locks a run over ``restaurants`` (None: all) of ``namespace`` needs, in a fixed
    order (so two runs never deadlock by taking them in opposite orders)."""
    if not restaurants:
        return [LockKey(namespace, ALL, shared=False)]
    return [LockKey(namespace, ALL, shared=True)] + [
        LockKey(namespace, r, shared=False) for r in sorted(restaurants)
    ]


def holder_text(command: str) -> str:
    """Who holds a lock, for the message the next run prints."""
    return f"{command} (pid {os.getpid()} on {socket.gethostname()})"


@contextlib.contextmanager
def hold(
    settings: Settings,
    namespace: str,
    restaurants: frozenset[str] | None,
    *,
    wait: float = 0.0,
    command: str = "flux",
) -> Iterator[list[LockKey]]:
    """Holds the locks of a run for the duration of the ``with`` block.

    Args:
        settings: Which database (PostgreSQL: advisory locks; SQLite: lock files).
        namespace: The target (``covers``), or ``data`` for imports.
        restaurants: The run's restaurants (None: all).
        wait: Seconds to wait for a busy lock (0: fail at once).
        command: Shown to a run that finds the lock busy.

    Raises:
        LockBusy: a lock is still held by another run after ``wait`` seconds.
    """
    keys = keys_for(namespace, restaurants)
    db = Database(settings)
    mode = settings.locks
    if mode == "auto":
        mode = "database" if db.backend == "postgresql" else "file"
    if mode == "off":
        yield keys
    elif mode == "database":
        if db.backend != "postgresql":
            raise ConfigError("locks = 'database' needs PostgreSQL; use auto or file")
        with _pg_locks(db, keys, wait, holder_text(command)):
            _HELD.update((k.namespace, k.restaurant) for k in keys)
            try:
                yield keys
            finally:
                _HELD.difference_update((k.namespace, k.restaurant) for k in keys)
    else:
        with _file_locks(
            _lock_dir(settings, db), keys, wait, holder_text(command), anchor=db.sqlite_file
        ):
            _HELD.update((k.namespace, k.restaurant) for k in keys)
            try:
                yield keys
            finally:
                _HELD.difference_update((k.namespace, k.restaurant) for k in keys)
        return


def _busy(key: LockKey, holder: str | None, wait: float) -> LockBusy:
    by = f" by {holder}" if holder else " by another flux run"
    waited = f" after waiting {wait:g}s" if wait else ""
    return LockBusy(
        f"{key.describe()} is locked{by}{waited}; rerun when it has finished, or pass --wait "
        "to wait for it"
    )


def _deadline(wait: float) -> float:
    return time.monotonic() + max(wait, 0.0)


# --- PostgreSQL ------------------------------------------------------------------------------


@contextlib.contextmanager
def _pg_locks(db: Database, keys: list[LockKey], wait: float, holder: str) -> Iterator[None]:
    with db.connect() as raw:  # retried with backoff; a clear error when the server is down
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(sa.text("SELECT set_config('application_name', :n, false)"), {"n": holder})
            deadline = _deadline(wait)
            for key in keys:
                fn = "pg_try_advisory_lock_shared" if key.shared else "pg_try_advisory_lock"
                while not conn.execute(sa.text(f"SELECT {fn}(:k)"), {"k": key.number}).scalar():
                    if time.monotonic() >= deadline:
                        raise _busy(key, _pg_holder(conn, key), wait)
                    time.sleep(POLL_SECONDS)
            yield
        finally:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))


def _pg_holder(conn: Connection, key: LockKey) -> str | None:
    unsigned = key.number & 0xFFFFFFFFFFFFFFFF
    row = conn.execute(
        sa.text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :hi "
            "AND l.objid::bigint = :lo AND l.pid <> pg_backend_pid() LIMIT 1"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
    ).scalar()
    return str(row) if row else None


# --- SQLite ----------------------------------------------------------------------------------


def _lock_dir(settings: Settings, db: Database) -> Path:
    """Beside a SQLite database file; else in ``home``."""
    path = db.sqlite_file
    return settings.home / "locks" if path is None else path.parent / f".{path.name}.locks"


def _anchor_lock(fd: int, key: LockKey) -> bool:
    """An open-file-description lock on one byte of the database file for ``key`` (shared or
    exclusive); False when another run holds it. Released when ``fd`` closes or the process
    dies; unlike a lock file, nothing a user can delete."""
    import fcntl
    import struct

    offset = ANCHOR_BASE + (key.number & 0x3FFFFFFF)
    kind = fcntl.F_RDLCK if key.shared else fcntl.F_WRLCK
    request = struct.pack("hhqqi", kind, os.SEEK_SET, offset, 1, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


@contextlib.contextmanager
def _file_locks(
    folder: Path, keys: list[LockKey], wait: float, holder: str, anchor: Path | None = None
) -> Iterator[None]:
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    handles: list[IO[str]] = []
    exclusive: list[IO[str]] = []
    anchor_fd: int | None = None
    if anchor is not None and hasattr(fcntl, "F_OFD_SETLK") and anchor.is_file():
        # (a database not created yet has no anchor: the lock files alone guard the first run)
        anchor_fd = os.open(anchor, os.O_RDWR)
    try:
        deadline = _deadline(wait)
        for key in keys:
            digest = hashlib.sha256(key.name.encode()).hexdigest()[:16]
            fh: IO[str] = (folder / f"{digest}.lock").open("a+", encoding="utf-8")
            handles.append(fh)
            mode = (fcntl.LOCK_SH if key.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
            while True:
                try:
                    if anchor_fd is not None and not _anchor_lock(anchor_fd, key):
                        raise BlockingIOError
                    fcntl.flock(fh.fileno(), mode)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        fh.seek(0)
                        raise _busy(key, fh.read().strip() or None, wait) from None
                    time.sleep(POLL_SECONDS)
            if not key.shared:
                fh.seek(0)
                fh.truncate()
                fh.write(holder)
                fh.flush()
                exclusive.append(fh)
        yield
    finally:
        for fh in exclusive:
            with contextlib.suppress(OSError):
                fh.truncate(0)
        for fh in reversed(handles):
            with contextlib.suppress(OSError):
                fh.close()  # closing the file releases its flock
        if anchor_fd is not None:
            os.close(anchor_fd)  # releases every byte-range lock taken through it
