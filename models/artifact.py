"""The artefact manifest: what a trained ensemble is, as versioned JSON.

An artefact is a folder of member files plus ``manifest.json``; the manifest is written last, so
a folder without one is not an artefact. This module only describes and (de)serialises the
manifest; :mod:`pipelines.io.artifacts` assembles it and :mod:`pipelines.io.artifact_store`
stores it.

Schema history (each change bumps :data:`SCHEMA_VERSION` and registers an upgrader that turns a
document of version ``n`` into one of version ``n + 1``):

- 1: the first release.
- 2: adds ``levels`` (the interval levels the artefact forecasts) and ``extra``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
)

from models.freqs import Freq

__all__ = [
    "MANIFEST_FILE",
    "SCHEMA_VERSION",
    "UPGRADES",
    "ArtifactManifest",
    "ManifestError",
    "ManifestVersionError",
    "MemberSpec",
    "check_name",
    "check_relpath",
    "new_artifact_id",
    "upgrade",
]

SCHEMA_VERSION: Final = 2
MANIFEST_FILE: Final = "manifest.json"
DEFAULT_LEVELS = (80, 95)  # what every schema-1 artefact forecast

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ManifestError(ValueError):
    """A manifest that cannot be read: bad JSON or a field that breaks the schema."""


class ManifestVersionError(ManifestError):
    """A manifest whose schema version this Flux cannot read (newer, or without an upgrader)."""


# --- names ---------------------------------------------------------------------------------------


def check_name(name: str, what: str = "name") -> str:
    """Returns ``name`` if it is a safe artefact id or alias name.

    A name starts with a letter or digit and holds only letters, digits, ``.``, ``_`` and ``-``
    (at most 128 characters), so it can never escape its folder.

    Raises:
        ValueError: the name is not safe.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit)"
        )
    return name


def check_relpath(rel: str) -> str:
    """Returns ``rel`` if it is a safe relative file path (``/``-separated, no ``..``).

    Each segment starts with a letter, digit or ``_`` and holds only letters, digits, ``.``,
    ``_`` and ``-``; no absolute paths, backslashes, empty, hidden, ``.`` or ``..`` segments.

    Raises:
        ValueError: the path is not safe.
    """
    segments = rel.split("/") if isinstance(rel, str) else [""]
    if not all(_SEGMENT.fullmatch(seg) for seg in segments):
        raise ValueError(f"invalid relative path {rel!r}")
    return rel


def new_artifact_id(now: datetime | None = None) -> str:
    """A new artefact id: the UTC time then a short random part, e.g. ``20261129T143012Z-9f3a1c2b``.

    Ids sort by creation time (to the second); the random part keeps them unique.
    """
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"


# --- the model -----------------------------------------------------------------------------------

Name = Annotated[str, AfterValidator(lambda v: check_name(v, "artifact id"))]
RelPath = Annotated[str, AfterValidator(check_relpath)]
Level = Annotated[int, Field(gt=0, lt=100)]
JsonDict = dict[str, JsonValue]


def _check_sha256(value: str) -> str:
    if not _SHA256.fullmatch(value):
        raise ValueError(f"not a lowercase hex SHA-256: {value!r}")
    return value


Sha256 = Annotated[str, AfterValidator(_check_sha256)]


class MemberSpec(BaseModel):
    """One ensemble member: its registry name, its settings and its files in the artefact.

    Attributes:
        name: The forecaster's registry name (e.g. ``prophet``).
        params: The settings it was built with (JSON).
        files: Its files, relative to the artefact folder.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    params: JsonDict = Field(default_factory=dict)
    files: list[RelPath] = Field(default_factory=list)


class ArtifactManifest(BaseModel):
    """What one trained artefact is: its provenance, training window, members and files.

    Attributes:
        schema_version: The manifest schema (always :data:`SCHEMA_VERSION` once loaded).
        artifact_id: The immutable id (see :func:`new_artifact_id`).
        created_at: When it was trained (timezone-aware; stored in UTC).
        flux_version: The Flux version that trained it.
        library_versions: Versions of the libraries that matter for loading it.
        git_sha: The commit of the training code, when known.
        trained_on: ``local`` or ``sagemaker``.
        target: The forecast target (``covers``, ``orders``, ``net_sales``, ``visitors``).
        freq: The series frequency.
        horizon: Steps ahead it forecasts.
        training_start: First ``ds`` it was trained on.
        training_end: Last ``ds`` it was trained on.
        restaurants: Restaurant ids it covers.
        data_fingerprint: A hash of the training data.
        members: The ensemble's members.
        weights: The ensemble's combination (free-form JSON).
        backtest_metrics: Backtest results that gate publishing (free-form JSON).
        levels: Central interval levels (percent) it forecasts.
        spec: The model specification it was trained from (:class:`models.spec.ModelSpec` as
            JSON; empty for artefacts trained before specs were recorded).
        extra: Anything else (free-form JSON).
        files: Every file in the artefact (relative path → SHA-256), filled in by the store.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[2] = SCHEMA_VERSION
    artifact_id: Name
    created_at: AwareDatetime
    flux_version: str
    library_versions: dict[str, str] = Field(default_factory=dict)
    git_sha: str | None = None
    trained_on: Literal["local", "sagemaker"]
    target: str = Field(min_length=1)
    freq: Freq
    horizon: int = Field(gt=0)
    training_start: datetime
    training_end: datetime
    restaurants: list[str]
    data_fingerprint: str
    members: list[MemberSpec] = Field(min_length=1)
    weights: JsonDict = Field(default_factory=dict)
    backtest_metrics: JsonDict = Field(default_factory=dict)
    levels: list[Level] = Field(default_factory=lambda: list(DEFAULT_LEVELS))
    spec: JsonDict = Field(default_factory=dict)
    extra: JsonDict = Field(default_factory=dict)
    files: dict[RelPath, Sha256] = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("members")
    @classmethod
    def _unique_members(cls, value: list[MemberSpec]) -> list[MemberSpec]:
        names = [m.name for m in value]
        if len(set(names)) != len(names):
            raise ValueError(f"member names must be unique, got {names}")
        return value

    def member_files(self) -> set[str]:
        """Every file the members name."""
        return {rel for member in self.members for rel in member.files}

    def with_files(self, files: dict[str, str]) -> ArtifactManifest:
        """A copy with ``files`` (relative path → SHA-256) as its file table, validated.

        Raises:
            ManifestError: a path or checksum is invalid.
        """
        return _validate({**self.model_dump(mode="json"), "files": files})

    def to_json(self) -> str:
        """The manifest as indented JSON (fields in a fixed order)."""
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> ArtifactManifest:
        """Parses a manifest of any known schema version, upgrading it to the current one.

        Raises:
            ManifestVersionError: the schema version is newer than this Flux or unknown.
            ManifestError: not JSON, or a field breaks the schema.
        """
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ManifestError(f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ManifestError("not a JSON object")
        return _validate(upgrade(data))


def _validate(data: dict[str, Any]) -> ArtifactManifest:
    try:
        return ArtifactManifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "manifest"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ManifestError(f"field {where!r}: {err['msg']}{more}") from None


# --- schema upgrades -----------------------------------------------------------------------------

Upgrader = Callable[[dict[str, Any]], dict[str, Any]]
UPGRADES: dict[int, Upgrader] = {}
"""Version ``n`` → the function that turns a version-``n`` document into version ``n + 1``."""


def _upgrades_from(version: int) -> Callable[[Upgrader], Upgrader]:
    def register(fn: Upgrader) -> Upgrader:
        UPGRADES[version] = fn
        return fn

    return register


@_upgrades_from(1)
def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 had no ``levels`` (it always forecast 80% and 95%) and no ``extra``."""
    return {"levels": list(DEFAULT_LEVELS), "extra": {}, **data, "schema_version": 2}


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrades a manifest document, step by step, to :data:`SCHEMA_VERSION`.

    Raises:
        ManifestVersionError: no or a non-integer version, a version newer than this Flux
            reads, or a step without an upgrader.
    """
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ManifestVersionError(f"invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise ManifestVersionError(
            f"schema version {version} is newer than this Flux reads ({SCHEMA_VERSION}); "
            "upgrade Flux"
        )
    while version < SCHEMA_VERSION:
        if version not in UPGRADES:
            raise ManifestVersionError(f"no upgrade from schema version {version}")
        data = UPGRADES[version](data)
        if data.get("schema_version") != version + 1:
            raise ManifestVersionError(f"the upgrader from schema {version} did not bump it")
        version += 1
    return data
