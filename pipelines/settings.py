"""Flux's one settings class.

Settings come from (highest first) explicit values, ``FLUX_*`` environment variables, and an
optional TOML file (``--config``, ``FLUX_CONFIG``, or ``./flux.toml``). Only the edges (the CLI,
the SageMaker entry point) build :class:`Settings`; everything below receives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from models.spec import ModelSpec, Weighting
from pipelines.errors import ConfigError, UsageError

DEFAULT_CONFIG_FILE = Path("flux.toml")


class RunConfig(BaseModel):
    """The nightly job (``flux run``), the ``[run]`` table of flux.toml.

    Attributes:
        source: Where new exports arrive: a folder or ``s3://bucket/prefix``, or ``"pos"``: pull
            them from the POS vendors' APIs (``[pos]``, ``flux pull``) (None: import
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


class ProviderConfig(BaseModel):
    """One POS vendor's API, a ``[pos.<vendor>]`` table of flux.toml (``FLUX_POS__SQUARE__TOKEN``).

    Credentials are :class:`~pydantic.SecretStr`: they print as ``**********`` and are never
    logged. Which ones a vendor needs: Square and Clover ``token``; Toast ``client_id`` +
    ``client_secret`` (OAuth client credentials); Lightspeed ``client_id`` + ``client_secret`` +
    ``refresh_token`` (OAuth authorization code grant, refreshed each run); Revel ``api_key`` +
    ``api_secret`` (and its ``base_url``, the account's ``https://<subdomain>.revelup.com``).

    Attributes:
        base_url: The API host (None: the vendor's production host).
        token: A bearer access token.
        client_id: OAuth client id.
        client_secret: OAuth client secret.
        api_key: API key.
        api_secret: API secret.
        refresh_token: OAuth refresh token (Lightspeed: from the one-time authorization).
        page_size: Records asked for per page (None: the vendor's maximum).
        timeout_seconds: Connect and read timeout of one request.
        max_attempts: Tries per request (timeouts, dropped connections, 5xx and 429 are retried).
        backoff_seconds: First retry's wait; doubled each retry, with full jitter.
        max_wait_seconds: The longest one wait may be (a longer ``Retry-After`` fails the call).
        secret_name: An AWS Secrets Manager secret holding the credentials this table lacks (a
            JSON object with ``token``, ``client_id``, ``client_secret``... keys).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    page_size: int | None = Field(default=None, ge=1, le=10_000)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_attempts: int = Field(default=5, ge=1, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0, le=600)
    max_wait_seconds: float = Field(default=120.0, ge=0, le=3600)
    secret_name: str | None = None


class PosConfig(BaseModel):
    """``flux pull``: the POS vendors' APIs, the ``[pos]`` table of flux.toml (``FLUX_POS__*``).

    Attributes:
        square, clover, toast, revel, lightspeed: Each vendor's API (None: not configured; its
            restaurants are not pulled).
        lookback_hours: Each pull starts this long before the last one ended, for late edits
            (voids and refunds arrive after the sale); the overlap never duplicates.
        initial_days: How far back the first pull of a restaurant goes.
        breaker_failures: Failed calls in a row that open a provider's circuit breaker.
        breaker_cooldown_seconds: How long an open breaker refuses calls before one probe.
        secrets_file: A TOML file of credentials, one ``[<vendor>]`` table each (filled in where
            the settings leave a credential unset).
        secrets_region: The AWS region of the Secrets Manager secrets (None: boto3's default).
        secrets_endpoint_url: A Secrets Manager endpoint (None: AWS's).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    square: ProviderConfig | None = None
    clover: ProviderConfig | None = None
    toast: ProviderConfig | None = None
    revel: ProviderConfig | None = None
    lightspeed: ProviderConfig | None = None
    lookback_hours: float = Field(default=48.0, ge=0, le=24 * 366)
    initial_days: int = Field(default=30, ge=1, le=3660)
    breaker_failures: int = Field(default=3, ge=1, le=100)
    breaker_cooldown_seconds: float = Field(default=300.0, ge=0, le=86_400)
    secrets_file: Path | None = None
    secrets_region: str | None = None
    secrets_endpoint_url: str | None = None

    def configured(self) -> dict[str, ProviderConfig]:
        """The vendors with a ``[pos.<vendor>]`` table, by name."""
        names = ("square", "clover", "toast", "revel", "lightspeed")
        return {n: cfg for n in names if (cfg := getattr(self, n)) is not None}


_SPEC_DEFAULTS = ModelSpec.model_fields  # one set of defaults: the spec's


class EnsembleConfig(BaseModel):
    """The ensemble, the ``[ensemble]`` table of flux.toml (``FLUX_ENSEMBLE__WEIGHTING`` etc.).

    Attributes:
        members: The models the ensemble combines.
        weighting: ``auto`` (chosen on held-out data), ``min_variance``, ``inverse_error``,
            ``per_restaurant``, ``stacking`` or ``best``.
        levels: Central interval levels in percent.
        regressors: Imported regressors (exogenous drivers) the models use (Prophet and XGBoost;
            see docs/formats.md, format ``regressors``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    members: tuple[str, ...] = _SPEC_DEFAULTS["members"].default
    weighting: Weighting = _SPEC_DEFAULTS["weighting"].default
    levels: tuple[int, ...] = _SPEC_DEFAULTS["levels"].default
    regressors: tuple[str, ...] = _SPEC_DEFAULTS["regressors"].default

    @model_validator(mode="after")
    def _check(self) -> EnsembleConfig:
        try:
            ModelSpec(
                members=self.members,
                weighting=self.weighting,
                levels=self.levels,
                regressors=self.regressors,
            )
        except ValidationError as exc:
            raise ValueError(_first_error(exc)) from None
        return self


def _first_error(exc: ValidationError) -> str:
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


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
        tenant: The tenant (restaurant group) commands work for (``--tenant``,
            ``FLUX_TENANT``); single-team installs keep ``default``. See docs/tenancy.md.
        all_tenants: Work for every tenant at once (``--all-tenants``): explicit, for the
            nightly job and an operator's imports; commands that train, forecast or publish
            still run one tenant at a time.
        pos: The POS vendors' APIs for ``flux pull`` (``[pos.square]``,
            ``FLUX_POS__SQUARE__TOKEN`` etc.).
        models: Settings per model (``[models.xgboost]``, ``[models.prophet]``...: any
            forecaster's ``__init__`` settings; ``flux models list`` shows them), checked when
            loaded: an unknown key fails listing the valid ones.
        ensemble: The ensemble's members, weighting and levels (``[ensemble]``).
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
    tenant: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    all_tenants: bool = False

    @property
    def tenant_scope(self) -> str | None:
        """The tenant connections are scoped to (None: all tenants)."""
        return None if self.all_tenants else self.tenant

    pos: PosConfig = Field(default_factory=PosConfig)
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)

    @field_validator("models")
    @classmethod
    def _check_models(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not value:
            return value
        try:
            return ModelSpec(params=value).params
        except ValidationError as exc:
            raise ValueError(_first_error(exc)) from None

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
        """The artefact store URI, defaulting to ``<home>/artefacts``; another tenant than
        ``default`` has its own store under ``tenants/<tenant>`` there (its artefacts, its
        ``production`` alias and its published exports)."""
        base = self.artifacts_uri or (self.home / "artefacts").as_posix()
        if self.all_tenants or self.tenant == "default":
            return base
        return f"{base.rstrip('/')}/tenants/{self.tenant}"

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
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{origin}setting {where!r}: {msg}") from None
    return Settings.model_validate(bound.model_dump())
