"""Database access: engines, the dialect's capabilities, and the schema's migration state.

SQLite (the embedded default), PostgreSQL and TimescaleDB (detected, never required) are
supported. Connection URLs never reach a message or log with their password.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import DatabaseError as SADatabaseError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from pipelines.errors import ConfigError, DatabaseError, MigrationError
from pipelines.io import tenancy
from pipelines.redaction import (
    known_secrets,
    normalise_url,
    redact_url,
    register_secret,
    scrub,
)
from pipelines.settings import Settings

__all__ = [
    "Connection",
    "Database",
    "DbCapabilities",
    "DriverError",
    "probe_settings",
    "redact",
    "safe_error",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

DriverError = SQLAlchemyError
"""What a database driver or SQLAlchemy raises (for callers that report rather than crash)."""


def redact(url: str | URL) -> str:
    """The URL with its password (and any secret in its query) hidden, safe for messages and
    logs; never raises."""
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    return redact_url(url)


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL of ``url`` (an ``@`` in the password encoded first).

    Raises:
        ConfigError: not a URL SQLAlchemy can read (e.g. a non-numeric port), named redacted.
    """
    try:
        return make_url(normalise_url(url))
    except (ArgumentError, ValueError) as exc:
        reason = "the port must be a number" if "int()" in str(exc) else "cannot be parsed"
        raise ConfigError(
            f"FLUX_DATABASE_URL is not a valid URL ({reason}): {redact_url(url)}"
        ) from None


def safe_error(exc: BaseException, url: str | URL) -> str:
    """The first line of a driver error, with any password of ``url`` removed."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    return scrub(text, known_secrets([url]))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@dataclass(frozen=True)
class DbCapabilities:
    """What the connected database can do."""

    dialect: str  # "sqlite" | "postgresql"
    timescale: bool  # order_lines is a TimescaleDB hypertable
    copy: bool  # COPY FROM STDIN is available


class Database:
    """One database: its engine, capabilities and migrations."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.resolved_database_url
        register_secret(self.url)
        parsed = parse_url(self.url)
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"unsupported database {parsed.get_backend_name()!r} in {redact(self.url)}; "
                "use sqlite or postgresql"
            )
        self._parsed = parsed

    @property
    def display_url(self) -> str:
        """The URL without its password."""
        return redact(self._parsed)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql`` (from the URL; connects to nothing)."""
        return str(self._parsed.get_backend_name())

    @property
    def sqlite_file(self) -> Path | None:
        """The file of an embedded SQLite database (None: PostgreSQL or in memory)."""
        path = self._parsed.database
        if self.backend != "sqlite" or not path or path == ":memory:":
            return None
        return Path(path)

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created on first use)."""
        kwargs: dict[str, Any] = {}
        if self._parsed.get_backend_name() == "sqlite":
            db_path = self._parsed.database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs["pool_pre_ping"] = True
            # Server-side prepared statements break behind some poolers and proxies.
            kwargs["connect_args"] = {"prepare_threshold": None}
            if self._parsed.query.get("flux_pool") == "null":
                kwargs["poolclass"] = sa.pool.NullPool
        url = self._parsed.difference_update_query(["flux_pool", "flux_copy"])  # ours, not libpq's
        try:
            engine = sa.create_engine(url, **kwargs)
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            raise ConfigError(f"cannot use database {self.display_url}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection, retried with backoff while the server is unreachable.

        Raises:
            DatabaseError: the server cannot be reached, or the connection is lost (or the
                server fails) while in use; an open transaction is then rolled back.
        """
        conn = self._connect_with_retry()
        try:
            tenancy.apply(conn, self.settings.tenant_scope)
            yield conn
        except DBAPIError as exc:
            if not (exc.connection_invalidated or isinstance(exc, OperationalError)):
                raise  # a bug (bad SQL, a constraint): keep the traceback
            what = "lost the connection to" if exc.connection_invalidated else "error from"
            raise DatabaseError(
                f"{what} the database {self.display_url}: {safe_error(exc, self.url)}"
            ) from None
        finally:
            conn.close()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self.connect() as conn, conn.begin():
            yield conn

    def _connect_with_retry(self) -> Connection:
        attempts = self.settings.db_connect_retries + 1
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(attempts),
                wait=wait_exponential(multiplier=0.5, max=8),
                retry=retry_if_exception_type(OperationalError),
                reraise=False,
            ):
                with attempt:
                    return self.engine.connect()
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise DatabaseError(
                f"cannot connect to the database {self.display_url} after {attempts} "
                f"attempt(s): {safe_error(cause or exc, self.url)}"
            ) from None
        except SADatabaseError as exc:
            raise DatabaseError(
                f"cannot connect to the database {self.display_url}: {safe_error(exc, self.url)}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ capabilities

    def capabilities(self, conn: Connection) -> DbCapabilities:
        """Detects what the connected database offers."""
        if conn.dialect.name != "postgresql":
            return DbCapabilities(dialect=conn.dialect.name, timescale=False, copy=False)
        timescale = False
        if self.settings.timescale != "off":
            installed = conn.execute(
                sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
            ).scalar()
            if installed:
                timescale = bool(
                    conn.execute(
                        sa.text(
                            "SELECT 1 FROM timescaledb_information.hypertables "
                            "WHERE hypertable_name = 'order_lines'"
                        )
                    ).scalar()
                )
        copy = self._parsed.query.get("flux_copy", "on") != "off"
        return DbCapabilities(dialect="postgresql", timescale=timescale, copy=copy)

    def timescale_extension(self, conn: Connection) -> tuple[str | None, bool]:
        """PostgreSQL only: the installed TimescaleDB version (None: not installed), and whether
        the server offers the extension at all."""
        installed = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        ).scalar()
        available = conn.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        ).scalar()
        return (None if installed is None else str(installed)), bool(available)

    # ---------------------------------------------------------------------- migrations

    def _alembic_config(self, conn: Connection) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        cfg.attributes["timescale"] = self.settings.timescale
        return cfg

    def head_revision(self) -> str:
        """The newest migration this Flux knows."""
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(MIGRATIONS_DIR))
        head = script.get_current_head()
        assert head is not None
        return head

    def is_missing(self) -> bool:
        """Whether the database does not exist yet (an embedded SQLite file not created yet);
        asking, unlike connecting, creates nothing."""
        return self.sqlite_file is not None and not self.sqlite_file.exists()

    def current_revision(self) -> str | None:
        """The database's migration revision (None: an empty database)."""
        from alembic.migration import MigrationContext

        with self.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> tuple[str | None, str]:
        """Migrates the schema to the newest revision. Returns (before, after)."""
        from alembic import command

        self.check_integrity()
        before = self.current_revision()
        self._refuse_newer(before)
        try:
            with self.begin() as conn:
                command.upgrade(self._alembic_config(conn), "head")
        except RuntimeError as exc:
            raise MigrationError(str(exc)) from exc
        except SADatabaseError as exc:
            raise DatabaseError(f"migration failed: {safe_error(exc, self.url)}") from None
        return before, self.head_revision()

    def check_integrity(self) -> None:
        """An embedded SQLite file: ``PRAGMA quick_check`` (about half a second per 100 MB),
        once per process for a file of a given size and modification time. PostgreSQL and a
        file not created yet pass.

        Raises:
            DatabaseError: the file is corrupt or not a SQLite database.
        """
        path = self.sqlite_file
        if path is None or not path.is_file():
            return
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in _CHECKED_FILES:
            return
        problems = sqlite_problems(self)
        if problems:
            raise DatabaseError(
                f"the SQLite database {path} is corrupt ({problems}); nothing was read or "
                "written. Restore it from a backup, or move it aside and re-import the exports "
                "into a new one"
            )
        _CHECKED_FILES.add(key)

    def ensure_schema(self) -> None:
        """Makes sure the database is sound (SQLite: :meth:`check_integrity`) and the schema
        current: migrates when allowed, else explains what to run.

        Raises:
            DatabaseError: the SQLite file is corrupt.
            MigrationError: the schema is behind and auto-migration is off, or it is newer than
                this Flux.
        """
        self.check_integrity()
        current = self.current_revision()
        head = self.head_revision()
        if current == head:
            return
        self._refuse_newer(current)
        if not self.settings.auto_migrate:
            raise MigrationError(
                f"the database {self.display_url} is at schema revision {current or 'none'}, "
                f"Flux needs {head}; run `flux db upgrade` (or set FLUX_AUTO_MIGRATE=true)"
            )
        self.upgrade()

    def is_newer(self, revision: str | None) -> bool:
        """Whether ``revision`` is one this Flux does not know: a newer Flux migrated the
        database (downgrading is never done for you)."""
        return revision is not None and not self._is_known(revision)

    def _refuse_newer(self, current: str | None) -> None:
        if self.is_newer(current):
            raise MigrationError(
                f"the database {self.display_url} is at schema revision {current}, newer than "
                f"this Flux ({self.head_revision()}); upgrade Flux (`flux db upgrade` cannot "
                "go back)"
            )

    def _is_known(self, revision: str) -> bool:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(MIGRATIONS_DIR))
        return any(rev.revision == revision for rev in script.walk_revisions())

    def dispose(self) -> None:
        """Closes pooled connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()


_CHECKED_FILES: set[tuple[str, int, int]] = set()


def sqlite_problems(db: Database, limit: int = 3) -> str | None:
    """What ``PRAGMA quick_check`` finds wrong with ``db``'s SQLite file, in one line (None: the
    file is sound). A file that is not a database at all is a problem too."""
    import sqlite3

    path = db.sqlite_file
    if path is None:
        return None
    try:  # the driver itself (no engine, no pragmas): quick, and it writes nothing
        con = sqlite3.connect(path, timeout=30)
        try:
            rows = con.execute(f"PRAGMA quick_check({int(limit)})").fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:
        return None  # busy, or cannot be opened: not corruption; the command's own use says it
    except sqlite3.DatabaseError as exc:  # "file is not a database", "disk image is malformed"
        return safe_error(exc, db.url)
    found = [line.strip() for (text,) in rows for line in str(text).splitlines() if line.strip()]
    found = [line for line in found if line != "*** in database main ***"]
    if found == ["ok"]:
        return None
    return "; ".join(found[:limit])


def probe_settings(settings: Settings, connect_timeout: int) -> Settings:
    """The settings for one quick connection: no retries, and on PostgreSQL a connect timeout of
    ``connect_timeout`` seconds unless the URL sets one."""
    url = parse_url(settings.resolved_database_url)
    update: dict[str, Any] = {"db_connect_retries": 0}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(connect_timeout)})
        update["database_url"] = url.render_as_string(hide_password=False)
    return settings.model_copy(update=update)
