"""``flux doctor``: checks that Flux can work here and says how to fix what cannot.

The checks run in order, each giving a :class:`Check` (``ok``, ``warn``, ``fail`` or ``skipped``,
a one-line detail and, unless ok, how to fix it)::

    configuration   the settings load; which file, database and artefact store they name
    database        one connection, no retries (a short connect timeout on PostgreSQL)
    migrations      the schema's revision against this Flux's newest one
    timescaledb     the extension and the order_lines hypertable (PostgreSQL only)
    tenancy         the tenant commands work for; on PostgreSQL, whether row-level security
                    holds the connected role (not a superuser, a member of flux_pipeline, every
                    table's policies in force)
    artefacts       the store lists its artefacts and aliases
    sagemaker       the FLUX_SAGEMAKER_* settings are complete and well-formed (offline)
    pos             each configured POS vendor ([pos.<vendor>]) answers one cheap authenticated
                    call (Square: the location; Clover: the merchant; Toast: the login)

An invalid configuration skips the rest; an unreachable database skips the checks that need it.
The doctor changes nothing: it creates no database file, migrates nothing, writes nothing to the
store (there is no public delete to clean up after a write probe, so the store check reads only)
and never calls SageMaker. No password or credential reaches a detail: URLs are redacted and every
text is scrubbed of the database and endpoint passwords before it is returned.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipelines.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ConfigError, FluxError
from pipelines.io import schema, tenancy
from pipelines.io.artifact_store import ArtifactStore, LocalStore, RetryPolicy
from pipelines.io.artifacts import open_artifacts, parse_s3_uri
from pipelines.io.aws import default_region
from pipelines.io.db import (
    Database,
    DriverError,
    probe_settings,
    redact,
    safe_error,
    sqlite_problems,
)
from pipelines.redaction import known_secrets_of, mask
from pipelines.settings import DEFAULT_CONFIG_FILE, Settings, load_settings

__all__ = ["Check", "DoctorReport", "Status", "check_sagemaker", "run"]

Status = Literal["ok", "warn", "fail", "skipped"]

CONFIGURATION = "configuration"
DATABASE = "database"
MIGRATIONS = "migrations"
TIMESCALEDB = "timescaledb"
TENANCY = "tenancy"
ARTEFACTS = "artefacts"
SAGEMAKER = "sagemaker"
POS = "pos"
CHECKS = (
    CONFIGURATION,
    DATABASE,
    MIGRATIONS,
    TIMESCALEDB,
    TENANCY,
    ARTEFACTS,
    SAGEMAKER,
    POS,
)

PG_CONNECT_TIMEOUT_SECONDS = 10
PROBE_RETRY = RetryPolicy(attempts=2, wait_initial=0.2, wait_max=1.0, timeout=10.0)
"""The store probe retries little and waits little: the doctor should answer in seconds."""

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_ECR_IMAGE = re.compile(
    r"\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?"
    r"/[a-z0-9][a-z0-9._/-]*(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})?"
)
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


@dataclass(frozen=True)
class Check:
    """One check's outcome.

    Attributes:
        name: One of :data:`CHECKS`.
        status: ``ok``, ``warn``, ``fail`` or ``skipped``.
        detail: What was found, in one line.
        fix: How to fix it (None when ok or skipped).
    """

    name: str
    status: Status
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """The check as JSON-ready data."""
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Whether no check failed (warnings allowed)."""
        return not any(c.status == "fail" for c in self.checks)

    @property
    def exit_code(self) -> int:
        """2 when the configuration is invalid, 1 when another check failed, else 0."""
        if any(c.name == CONFIGURATION and c.status == "fail" for c in self.checks):
            return EXIT_USAGE
        return EXIT_OK if self.ok else EXIT_FAILURE

    def to_dict(self) -> dict[str, Any]:
        """``{"ok": bool, "checks": [{"name", "status", "detail", "fix"}, ...]}``."""
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


@dataclass
class _Target:
    """What the configuration names, and what the checks learn on the way."""

    settings: Settings
    db: Database
    display_url: str
    store: ArtifactStore
    dialect: str | None = None
    revision: str | None = None
    db_exists: bool = True


def run(
    config_file: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
) -> DoctorReport:
    """Runs every check.

    Args:
        config_file: The ``--config`` file, if given.
        environ: The process environment (read for ``FLUX_CONFIG`` and the AWS region).
        overrides: Settings given on the command line (``--tenant``, ``--all-tenants``).

    Returns:
        The report; it never raises for a problem it can describe.
    """
    config_check, target = _check_config(config_file, environ, overrides or {})
    if target is None:
        skipped = [Check(n, "skipped", "the configuration is invalid") for n in CHECKS[1:]]
        return DoctorReport((config_check, *skipped))
    secrets = _secrets(target.settings)
    checks = [config_check]
    locations: dict[str, str] = {}
    try:
        db_check = _check_database(target)
        checks.append(db_check)
        if db_check.status == "fail":
            why = "the database is not reachable"
            checks += [Check(n, "skipped", why) for n in (MIGRATIONS, TIMESCALEDB, TENANCY)]
        else:
            checks.append(_check_migrations(target))
            checks.append(_check_timescale(target))
            checks.append(_check_tenancy(target))
            if target.revision is not None and target.revision == target.db.head_revision():
                locations = _pos_locations(target)
    finally:
        target.db.dispose()
    checks.append(_check_store(target.store))
    checks.append(check_sagemaker(target.settings, environ))
    checks.append(check_pos(target.settings, locations))
    return DoctorReport(tuple(_scrub(c, secrets) for c in checks))


# --- configuration -------------------------------------------------------------------------------


def _config_source(config_file: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The TOML file :func:`load_settings` reads (the same order: option, env, ./flux.toml)."""
    if config_file is not None:
        return config_file
    if environ.get("FLUX_CONFIG"):
        return Path(environ["FLUX_CONFIG"])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _check_config(
    config_file: Path | None, environ: Mapping[str, str], overrides: Mapping[str, Any]
) -> tuple[Check, _Target | None]:
    source = _config_source(config_file, environ)
    where = f"config file {source}" if source else "no config file (defaults and FLUX_* variables)"
    try:
        settings = load_settings(config_file, environ=dict(environ), **overrides)
        Database(settings)  # validates the URL and the backend; connects to nothing
        store = open_artifacts(settings, retry=PROBE_RETRY)
    except ConfigError as exc:
        if source is not None and not source.is_file():
            fix = "pass an existing file with --config or FLUX_CONFIG, or create it"
        elif source is not None:
            fix = f"correct {source} (or the FLUX_* variable named) and run `flux doctor` again"
        else:
            fix = "correct the FLUX_* environment variable named and run `flux doctor` again"
        return Check(CONFIGURATION, "fail", str(exc), fix), None
    display = redact(settings.resolved_database_url)
    target = _Target(
        settings=settings,
        db=Database(probe_settings(settings, PG_CONNECT_TIMEOUT_SECONDS)),
        display_url=display,
        store=store,
    )
    detail = f"{where}; database {display}; artefacts {store.uri}"
    return Check(CONFIGURATION, "ok", detail), target


def _secrets(settings: Settings) -> list[str]:
    """Passwords and POS credentials that must never appear in a detail."""
    found = known_secrets_of([settings.resolved_database_url, settings.s3_endpoint_url])
    for cfg in settings.pos.configured().values():
        for value in (cfg.token, cfg.client_secret, cfg.api_key, cfg.api_secret):
            if value is not None and value.get_secret_value():
                found.append(value.get_secret_value())
    return found


def _scrub(check: Check, secrets: list[str]) -> Check:
    fix = mask(check.fix, secrets) if check.fix is not None else None
    return Check(check.name, check.status, mask(check.detail, secrets), fix)


# --- database ------------------------------------------------------------------------------------


def _writable(path: Path) -> bool:
    """Whether ``path`` (a folder) can be written, or created under its nearest existing parent."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _check_database(target: _Target) -> Check:
    sqlite_file = target.db.sqlite_file
    if sqlite_file is not None and not sqlite_file.exists():
        target.dialect, target.db_exists = "sqlite", False
        if _writable(sqlite_file.parent):
            detail = f"SQLite file {sqlite_file} does not exist yet; Flux creates it on first use"
            return Check(DATABASE, "ok", detail)
        return Check(
            DATABASE,
            "fail",
            f"cannot create the SQLite file {sqlite_file}: its folder is not writable",
            "set FLUX_HOME (or FLUX_DATABASE_URL) to a writable location",
        )
    try:
        with target.db.connect() as conn:
            target.dialect = conn.dialect.name
            version = ".".join(str(p) for p in conn.dialect.server_version_info or ())
    except (FluxError, DriverError) as exc:
        return Check(DATABASE, "fail", _db_error(target, exc), _db_fix(target))
    if target.dialect == "sqlite" and (problems := sqlite_problems(target.db)):
        return Check(
            DATABASE,
            "fail",
            f"the SQLite file {sqlite_file} is corrupt (PRAGMA quick_check: {problems})",
            "restore the file from a backup, or move it aside and re-import the exports into a "
            "new one (`flux import`)",
        )
    name = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(target.dialect, target.dialect)
    return Check(DATABASE, "ok", f"{target.display_url}: connected, {name} {version}".rstrip())


def _db_error(target: _Target, exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, FluxError) else safe_error(exc, target.db.url)
    # The probe's URL carries a connect_timeout the user did not set: show theirs.
    return text.replace(target.db.display_url, target.display_url)


def _db_fix(target: _Target) -> str:
    if target.db.backend == "sqlite":
        return "check that FLUX_HOME or FLUX_DATABASE_URL names a readable SQLite database file"
    return (
        "check FLUX_DATABASE_URL (host, port, user, password, database name) and that the "
        "PostgreSQL server is running and accepts connections from here"
    )


def _check_migrations(target: _Target) -> Check:
    db = target.db
    try:
        head = db.head_revision()
        current = db.current_revision() if target.db_exists else None
        known = current is None or db._is_known(current)
    except (FluxError, DriverError) as exc:
        fix = "check that the database user may read the alembic_version table"
        return Check(MIGRATIONS, "fail", _db_error(target, exc), fix)
    target.revision = current
    if current == head:
        return Check(MIGRATIONS, "ok", f"schema at revision {head} (current)")
    if not known:
        return Check(
            MIGRATIONS,
            "fail",
            f"schema at revision {current}, newer than this Flux knows (newest: {head})",
            "upgrade Flux to the version that migrated this database (or point "
            "FLUX_DATABASE_URL at another database)",
        )
    state = f"schema at revision {current}" if current else "empty database (no schema yet)"
    if target.settings.auto_migrate:
        return Check(
            MIGRATIONS,
            "warn",
            f"{state}; Flux needs {head} and migrates on first use (auto_migrate is on)",
            "run `flux db upgrade` to migrate now",
        )
    return Check(
        MIGRATIONS,
        "fail",
        f"{state}; Flux needs {head} and auto_migrate is off",
        "run `flux db upgrade` (or set FLUX_AUTO_MIGRATE=true)",
    )


def _check_tenancy(target: _Target) -> Check:
    settings = target.settings
    scope = "all tenants (--all-tenants)" if settings.all_tenants else f"tenant {settings.tenant}"
    if target.dialect != "postgresql":
        return Check(
            TENANCY,
            "ok",
            f"{scope}; SQLite has no row-level security: Flux's own queries keep to the tenant",
        )
    if target.revision is None or target.revision != target.db.head_revision():
        return Check(TENANCY, "ok", f"{scope}; row-level security comes with the migration")
    try:
        with target.db.connect() as conn:
            status = tenancy.rls_status(conn, sorted(schema.metadata.tables))
    except (FluxError, DriverError) as exc:
        fix = "check that the database user may read pg_roles and pg_class"
        return Check(TENANCY, "fail", _db_error(target, exc), fix)
    return _rls_verdict(scope, status)


def _rls_verdict(scope: str, status: tenancy.RlsStatus) -> Check:
    """The tenancy check's outcome on PostgreSQL from the connection's set-up."""
    if status.unprotected:
        return Check(
            TENANCY,
            "fail",
            f"{scope}; no forced row-level security on: {', '.join(status.unprotected)}",
            "run `flux db upgrade` as the tables' owner",
        )
    if status.roles_missing:
        return Check(
            TENANCY,
            "warn",
            f"{scope}; the roles {', '.join(status.roles_missing)} do not exist",
            "run `flux db upgrade` as a role that may create roles (CREATEROLE)",
        )
    if status.bypasses:
        return Check(
            TENANCY,
            "warn",
            f"{scope}; {status.user} is a superuser or BYPASSRLS: row-level security does not "
            "hold it (Flux's own queries still keep to the tenant)",
            f"connect as a login role that is a member of {tenancy.PIPELINE_ROLE} "
            f"(CREATE ROLE flux LOGIN IN ROLE {tenancy.PIPELINE_ROLE})",
        )
    if not status.pipeline_member:
        return Check(
            TENANCY,
            "warn",
            f"{scope}; {status.user} is not a member of {tenancy.PIPELINE_ROLE}: Flux may lack "
            "privileges, and --all-tenants sees nothing",
            f"GRANT {tenancy.PIPELINE_ROLE} TO {status.user}",
        )
    return Check(
        TENANCY,
        "ok",
        f"{scope}; row-level security holds {status.user} on every table "
        f"(member of {tenancy.PIPELINE_ROLE})",
    )


def _check_timescale(target: _Target) -> Check:
    mode = target.settings.timescale
    if target.dialect != "postgresql":
        return Check(TIMESCALEDB, "ok", f"not applicable ({target.dialect or 'this database'})")
    if mode == "off":
        return Check(TIMESCALEDB, "ok", "off (timescale = 'off'): plain PostgreSQL rollups")
    try:
        with target.db.connect() as conn:
            caps = target.db.capabilities(conn)
            installed, available = target.db.timescale_extension(conn)
    except (FluxError, DriverError) as exc:
        fix = "check that the database user may read pg_extension"
        return Check(TIMESCALEDB, "fail", _db_error(target, exc), fix)
    return _timescale_verdict(
        target, hypertable=caps.timescale, installed=installed, available=available
    )


def _timescale_verdict(
    target: _Target, *, hypertable: bool, installed: str | None, available: bool
) -> Check:
    """The TimescaleDB check's outcome from what PostgreSQL reported."""
    if hypertable:
        detail = f"TimescaleDB {installed}: order_lines is a hypertable (time_bucket rollups)"
        return Check(TIMESCALEDB, "ok", detail)
    if installed:
        if target.revision is None:
            detail = f"TimescaleDB {installed}; order_lines becomes a hypertable at migration"
            return Check(TIMESCALEDB, "ok", detail)
        return Check(
            TIMESCALEDB,
            "warn",
            f"TimescaleDB {installed} is installed but order_lines is not a hypertable (the "
            "schema was migrated without it): plain PostgreSQL rollups",
            "to use TimescaleDB, migrate a new database that has the extension "
            "(`flux db upgrade`) and import into it",
        )
    if target.settings.timescale == "on":
        how = (
            "run `CREATE EXTENSION timescaledb;` in this database as a superuser"
            if available
            else "install TimescaleDB on the server (Amazon RDS does not offer it)"
        )
        return Check(
            TIMESCALEDB,
            "fail",
            "timescale = 'on' but the timescaledb extension is not installed in this database",
            f"{how}, or set FLUX_TIMESCALE=auto",
        )
    return Check(TIMESCALEDB, "ok", "not installed; plain PostgreSQL rollups")


# --- artefact store ------------------------------------------------------------------------------


def _check_store(store: ArtifactStore) -> Check:
    local = isinstance(store, LocalStore)
    if isinstance(store, LocalStore):  # repeated (not `local`) so mypy narrows the type
        if store.root.exists() and not store.root.is_dir():
            return Check(
                ARTEFACTS,
                "fail",
                f"{store.uri} is a file, not a folder",
                "set FLUX_ARTIFACTS_URI (or FLUX_HOME) to a folder",
            )
        if not _writable(store.root):
            return Check(
                ARTEFACTS,
                "fail",
                f"{store.uri}: the folder is not writable",
                "set FLUX_ARTIFACTS_URI (or FLUX_HOME) to a writable folder",
            )
    try:
        artefacts = store.list_artifacts()
        aliases = store.aliases()
    except FluxError as exc:
        if local:
            fix = "check that FLUX_ARTIFACTS_URI (or FLUX_HOME) names a readable folder"
        else:
            fix = (
                "check that the bucket exists, that the AWS credentials (AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID or a role) may list and read it, and FLUX_S3_ENDPOINT_URL "
                "for an S3-compatible service"
            )
        return Check(ARTEFACTS, "fail", str(exc), fix)
    if isinstance(store, LocalStore) and not store.root.exists():
        return Check(ARTEFACTS, "ok", f"{store.uri}: empty (the folder is created on first write)")
    listed = f"{len(artefacts)} artefact(s)"
    if artefacts:
        listed += f", newest {artefacts[0].artifact_id}"
    named = ", ".join(f"{name} -> {target}" for name, target in aliases.items()) or "none"
    detail = f"{store.uri}: {listed}; aliases: {named}"
    if not local:
        detail += " (read access checked; the doctor writes nothing)"
    return Check(ARTEFACTS, "ok", detail)


# --- SageMaker -----------------------------------------------------------------------------------


def _env(name: str) -> str:
    return f"FLUX_{name.upper()}"


def _is_s3_uri(uri: str) -> bool:
    try:
        parse_s3_uri(uri)
    except ConfigError:
        return False
    return True


def check_sagemaker(settings: Settings, environ: Mapping[str, str]) -> Check:
    """Validates the ``FLUX_SAGEMAKER_*`` settings offline (SageMaker is never called).

    Args:
        settings: The settings.
        environ: The environment, for ``AWS_DEFAULT_REGION``.
    """
    optional = ("sagemaker_image_uri", "sagemaker_role_arn", "sagemaker_s3_prefix")
    if not any(
        getattr(settings, n) for n in (*optional, "sagemaker_region", "sagemaker_endpoint_url")
    ):
        return Check(SAGEMAKER, "ok", "not configured (local training only)")
    problems: list[str] = []
    fixes: list[str] = []
    warnings: list[str] = []
    missing = [_env(n) for n in optional if not getattr(settings, n)]
    if missing:
        problems.append(f"configured in part: {', '.join(missing)} not set")
        fixes.append(
            f"set {', '.join(missing)} (environment or flux.toml), or unset every "
            "FLUX_SAGEMAKER_* setting to train locally only"
        )
    image = (settings.sagemaker_image_uri or "").strip()
    image_match = _ECR_IMAGE.fullmatch(image) if image else None
    if image and image_match is None:
        problems.append(f"{_env('sagemaker_image_uri')} is not an Amazon ECR image URI")
        fixes.append(
            f"set {_env('sagemaker_image_uri')} to "
            "<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>"
        )
    role = (settings.sagemaker_role_arn or "").strip()
    if role and not _ROLE_ARN.fullmatch(role):
        problems.append(f"{_env('sagemaker_role_arn')} is not an IAM role ARN")
        fixes.append(
            f"set {_env('sagemaker_role_arn')} to arn:aws:iam::<12-digit account>:role/<name>"
        )
    prefix = (settings.sagemaker_s3_prefix or "").strip()
    if prefix and not _is_s3_uri(prefix):
        problems.append(f"{_env('sagemaker_s3_prefix')} is not an s3://bucket/prefix URI")
        fixes.append(f"set {_env('sagemaker_s3_prefix')} to s3://<bucket>/<prefix>")
    region = (
        settings.sagemaker_region or environ.get("AWS_DEFAULT_REGION") or default_region() or ""
    )
    if not region:
        problems.append("no AWS region")
        fixes.append(f"set {_env('sagemaker_region')} (or AWS_DEFAULT_REGION)")
    elif not _REGION.fullmatch(region):
        problems.append(f"{region!r} is not an AWS region")
        fixes.append(f"set {_env('sagemaker_region')} to a region such as eu-west-1")
    elif image_match is not None and image_match["region"] != region:
        warnings.append(
            f"the image is in {image_match['region']} but jobs run in {region} "
            "(SageMaker pulls images from the job's region)"
        )
    if problems:
        return Check(SAGEMAKER, "fail", "; ".join(problems), "; ".join(fixes))
    detail = (
        f"image {image}, role {role}, staging {prefix}, region {region}, "
        f"up to {settings.sagemaker_instance_count} x {settings.sagemaker_instance_type} "
        "(checked offline)"
    )
    if warnings:
        fix = f"push the image to ECR in {region} or set {_env('sagemaker_region')}"
        return Check(SAGEMAKER, "warn", f"{detail}; {'; '.join(warnings)}", fix)
    return Check(SAGEMAKER, "ok", detail)


# --- POS vendors ---------------------------------------------------------------------------------


def _pos_locations(target: _Target) -> dict[str, str]:
    """One ``pos_location_id`` per provider (the first restaurant's), for the cheap calls."""
    from pipelines.io import imports

    try:
        with target.db.connect() as conn:
            directory = imports.load_directory(conn)
    except (DriverError, FluxError):
        return {}
    out: dict[str, str] = {}
    for info in sorted(directory, key=lambda r: r.id):
        if info.pos_provider and info.pos_location_id:
            out.setdefault(info.pos_provider, info.pos_location_id)
    return out


def check_pos(settings: Settings, locations: Mapping[str, str]) -> Check:
    """Each configured POS vendor answers one cheap authenticated call (one try, no retries).

    Args:
        settings: The settings (``[pos]``).
        locations: A ``pos_location_id`` per provider, from the restaurants (may be empty).
    """
    from pipelines.errors import ProviderError
    from pipelines.io.pos import providers, secrets
    from pipelines.io.pos.http import CircuitBreaker

    configured = settings.pos.configured()
    if not configured:
        return Check(POS, "ok", "not configured (flux pull has no [pos.<vendor>] settings)")
    found: list[str] = []
    problems: list[str] = []
    fixes: list[str] = []
    for name, cfg in configured.items():
        try:
            resolved = secrets.resolve(name, cfg, settings.pos)
            provider = providers.build(
                name,
                resolved.model_copy(update={"max_attempts": 1, "timeout_seconds": 10.0}),
                CircuitBreaker(name, failures=1),
            )
        except ConfigError as exc:
            problems.append(str(exc))
            fixes.append(f"set the [pos.{name}] credentials")
            continue
        location = locations.get(name)
        try:
            provider.check(location)
        except (ProviderError, ConfigError) as exc:
            problems.append(str(exc))
            fixes.append(
                f"check [pos.{name}] base_url and credentials"
                + (f" and the pos_location_id {location!r}" if location else "")
            )
            continue
        finally:
            provider.client.close()
        found.append(f"{name} ok" + (f" ({location})" if location else ""))
    if problems:
        return Check(POS, "fail", "; ".join(found + problems), "; ".join(fixes))
    return Check(POS, "ok", "; ".join(found))
