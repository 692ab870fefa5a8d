"""Flux's one settings class.

Settings come from (highest first) explicit values, ``FLUX_*`` environment variables, and an
optional TOML file (``--config``, ``FLUX_CONFIG``, or ``./flux.toml``). Only the edges (the CLI,
the SageMaker entry point) build :class:`Settings`; everything below receives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipelines.errors import ConfigError, UsageError

DEFAULT_CONFIG_FILE = Path("flux.toml")


class RunConfig(BaseModel):
    """The nightly job (``flux run``), the ``[run]`` table of flux.toml.

    Attributes:
        source: Where new exports arrive: a folder or ``s3://bucket/prefix`` (None: import
            nothing, just retrain/predict/publish).
        target: The demand target forecast and published.
        horizon: Days forecast.
        freqs: Frequencies predicted and published (``D``, ``h``, ``15min``).
        retrain_every_days: Retrain when the current artefact is at least this many days old.
        retrain_on_history_change: Retrain when the history the artefact was trained on changed
            (restated or backfilled data, a new restaurant).
        publish: Publish after predicting.
        margin: How much the ensemble must beat seasonal naive to publish.
        backend: Where training runs: local or sagemaker.
        jobs: Parallel workers for local training.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    target: str = "covers"
    horizon: int = Field(default=28, ge=1, le=366)
    freqs: tuple[Literal["D", "h", "15min"], ...] = ("D",)
    retrain_every_days: int = Field(default=7, ge=0)
    retrain_on_history_change: bool = True
    publish: bool = True
    margin: float = Field(default=0.0, ge=0.0, lt=1.0)
    backend: Literal["local", "sagemaker"] = "local"
    jobs: int = Field(default=1, ge=1, le=64)


class LimitsConfig(BaseModel):
    """Limits on inputs and requests, the ``[limits]`` table of flux.toml (``FLUX_LIMITS__*``).

    Each is refused with exit 2, naming the limit, when exceeded.

    Attributes:
        max_file_mb: The largest file ``flux import`` reads, once gunzipped (a gzip bomb stops
            here, not in memory).
        max_text_chars: The longest item, category, restaurant or event name an import stores.
        max_backfill_days: The most as-of dates one ``flux predict --from/--to`` may cover.
        max_horizon_days: The longest horizon ``flux train``/``backtest`` accept, in days.
        max_as_of_gap_days: How many days after the latest data an explicit ``--as-of`` may be
            (``flux predict --as-of 2999-01-01`` is refused rather than forecast and published).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_file_mb: int = Field(default=2048, ge=1, le=1_048_576)
    max_text_chars: int = Field(default=1_000, ge=16, le=1_000_000)
    max_backfill_days: int = Field(default=366, ge=1, le=36_600)
    max_horizon_days: int = Field(default=366, ge=1, le=3_660)
    max_as_of_gap_days: int = Field(default=31, ge=0, le=36_600)

    def check(self, limit: str, value: int, what: str) -> None:
        """Refuses ``value`` (described by ``what``, e.g. ``--horizon 100000``) when it is over
        the limit named ``limit``.

        Raises:
            UsageError: over the limit (exit 2); the message names the limit and how to raise it.
        """
        cap = int(getattr(self, limit))
        if value > cap:
            raise UsageError(
                f"{what} is over limits.{limit} = {cap:,} (raise it in [limits] of flux.toml "
                f"or FLUX_LIMITS__{limit.upper()} if you mean it)"
            )


class Settings(BaseSettings):
    """Everything Flux can be configured with.

    Attributes:
        home: Folder for the embedded database, local artefacts and reject files.
        database_url: SQLAlchemy URL; default: a SQLite file in ``home``.
        artifacts_uri: Artefact store: a folder path or ``s3://bucket/prefix``; default:
            ``home/artefacts``.
        auto_migrate: Upgrade the database schema on first use when it is behind.
        timescale: Use TimescaleDB features when the extension is installed (``auto``), always
            (``on``: fail without it), or never (``off``).
        log_format: ``auto`` (JSON when not on a terminal), ``json`` or ``console``.
        s3_endpoint_url: Endpoint of an S3-compatible store (None: AWS).
        locks: How runs lock restaurants: ``auto`` (PostgreSQL advisory locks, or lock files
            beside a SQLite database), ``database``, ``file`` (lock files in ``home``: for a
            server that takes one connection at a time; only safe when every run shares one
            machine), or ``off``.
        sagemaker_*: Training-job settings for ``flux train --backend sagemaker``: the training
            image, execution role, S3 staging prefix, instance type and count, region, API
            endpoint, and how long to wait.
        run: The nightly job's settings (``[run]`` in flux.toml, ``FLUX_RUN__SOURCE`` etc.).
        limits: Limits on inputs and requests (``[limits]``, ``FLUX_LIMITS__MAX_FILE_MB`` etc.).
    """

    model_config = SettingsConfigDict(env_prefix="FLUX_", extra="forbid", env_nested_delimiter="__")

    config_file: ClassVar[Path | None] = None

    home: Path = Path(".flux")
    database_url: str | None = None
    artifacts_uri: str | None = None
    auto_migrate: bool = True
    timescale: Literal["auto", "on", "off"] = "auto"
    log_format: Literal["auto", "json", "console"] = "auto"
    s3_endpoint_url: str | None = None
    db_connect_retries: int = Field(default=3, ge=0, le=20)
    locks: Literal["auto", "database", "file", "off"] = "auto"
    sagemaker_image_uri: str | None = None
    sagemaker_role_arn: str | None = None
    sagemaker_s3_prefix: str | None = None
    sagemaker_instance_type: str = "ml.m5.xlarge"
    sagemaker_instance_count: int = Field(default=2, ge=1, le=100)
    sagemaker_region: str | None = None
    sagemaker_endpoint_url: str | None = None
    sagemaker_max_wait_seconds: int = Field(default=8 * 3600, ge=60)
    run: RunConfig = Field(default_factory=RunConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)

    @field_validator("home")
    @classmethod
    def _check_home(cls, value: Path) -> Path:
        import os

        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file, not a folder; FLUX_HOME must be a folder")
        if value.is_dir() and not os.access(value, os.R_OK | os.W_OK | os.X_OK):
            raise ValueError(f"{value} is not readable and writable by this user")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError("must be a URL such as postgresql+psycopg://user@host/db")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<home>/flux.db``."""
        if self.database_url:
            url = self.database_url
            if url.startswith(("postgresql://", "postgres://")):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.home / 'flux.db').as_posix()}"

    @property
    def resolved_artifacts_uri(self) -> str:
        """The artefact store URI, defaulting to ``<home>/artefacts``."""
        return self.artifacts_uri or (self.home / "artefacts").as_posix()

    @property
    def rejects_dir(self) -> Path:
        """Where reject files go."""
        return self.home / "rejects"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.config_file))
        return tuple(sources)


def load_settings(
    config_file: Path | None = None, environ: dict[str, str] | None = None, **overrides: Any
) -> Settings:
    """Builds the settings (called by the edges only).

    Args:
        config_file: A TOML file; default ``$FLUX_CONFIG`` or ``./flux.toml`` when it exists.
        environ: The environment to read ``FLUX_CONFIG`` from (default: the process's).
        **overrides: Explicit values, highest priority.

    Raises:
        ConfigError: the file is missing or unreadable, or a value is invalid.
    """
    import os
    import tomllib

    env = os.environ if environ is None else environ
    path = config_file or (Path(env["FLUX_CONFIG"]) if env.get("FLUX_CONFIG") else None)
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{path}: not a readable TOML file: {exc}") from exc

    class _Bound(Settings):
        config_file: ClassVar[Path | None] = path

    try:
        bound = _Bound(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        origin = f"{path}: " if path else ""
        raise ConfigError(f"{origin}setting {where!r}: {err['msg']}") from None
    return Settings.model_validate(bound.model_dump())
