"""Flux's artefacts: which store holds them, what a trained one holds, and its manifest.

This module owns the artefact. It opens the configured store (:func:`open_artifacts`; the store
itself, with its checksums, aliases and exports, is :mod:`pipelines.io.artifact_store` for a
folder and :mod:`pipelines.io.artifact_s3` for S3, imported only for an ``s3://`` URI so boto3
loads only when used), lays the shards of a training run out as files (:func:`artifact_files`),
assembles the manifest (:func:`build_manifest`), and reads a shard back for forecasting
(:func:`read_shard_map`, :func:`read_shard_files`).

What a trained artefact holds::

    shards.json                      restaurant_id -> the shard that models it
    shards/<shard>/trained.json      what that shard's fit produced (:class:`Trained` but files)
    shards/<shard>/ensemble.json     the ensemble (:mod:`models.persistence`): its settings,
    shards/<shard>/residuals.json    residual table and each member's own files, e.g.
    shards/<shard>/prophet/<r>.json  one Prophet per restaurant and
    shards/<shard>/xgboost.ubj       the global XGBoost model
    manifest.json                    written last; it commits the artefact

A local run has one shard, ``local``; a SageMaker run one per host (``algo-1`` …), each written
by the host with :func:`shard_files` and merged here by :func:`merge_shards`, so both backends
produce the same layout. (Artefacts written before ``trained.json`` existed lack it; nothing
reads it back from a stored artefact.)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from models.artifact import ArtifactManifest, MemberSpec, check_relpath
from pipelines.errors import ArtifactIntegrityError, ConfigError
from pipelines.io.artifact_store import ArtifactStore, LocalStore, RetryPolicy
from pipelines.settings import Settings
from pipelines.version import flux_version, git_sha, library_versions

if TYPE_CHECKING:
    from pipelines.fitting import TrainConfig, Trained

__all__ = [
    "LIBRARIES",
    "LOCAL_SHARD",
    "SHARDS_DIR",
    "SHARDS_FILE",
    "TRAINED_FILE",
    "artifact_files",
    "build_manifest",
    "failures",
    "merge_shards",
    "open_artifacts",
    "open_store",
    "parse_s3_uri",
    "read_shard_files",
    "read_shard_map",
    "shard_files",
]

SHARDS_FILE = "shards.json"
"""An artefact's map of restaurant -> shard."""
SHARDS_DIR = "shards"
"""Each shard's files live under ``shards/<shard>/``."""
TRAINED_FILE = "trained.json"
"""A shard's record of its fit: the :class:`~pipelines.fitting.Trained` fields but files."""
LOCAL_SHARD = "local"
"""The one shard of a local run."""
LIBRARIES = ("pandas", "numpy", "prophet", "xgboost", "scikit-learn", "holidays")
"""The libraries whose versions the manifest records (they matter for loading it)."""

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


# --- opening a store -----------------------------------------------------------------------------


def open_artifacts(settings: Settings, *, retry: RetryPolicy | None = None) -> ArtifactStore:
    """The configured artefact store (``artifacts_uri``, ``s3_endpoint_url``).

    Raises:
        ConfigError: the URI is not a folder, ``file://`` or ``s3://`` URI.
    """
    return open_store(
        settings.resolved_artifacts_uri, s3_endpoint_url=settings.s3_endpoint_url, retry=retry
    )


def open_store(
    uri: str, *, s3_endpoint_url: str | None = None, retry: RetryPolicy | None = None
) -> ArtifactStore:
    """The store at ``uri``: a folder path, ``file:///path`` or ``s3://bucket/prefix``.

    Args:
        uri: Where the store lives (``Settings.resolved_artifacts_uri``).
        s3_endpoint_url: Endpoint of an S3-compatible store (``Settings.s3_endpoint_url``).
        retry: How S3 requests are retried (default :class:`RetryPolicy`).

    Raises:
        ConfigError: an unsupported scheme or a malformed URI.
    """
    if not uri.strip():
        raise ConfigError("artifacts_uri is empty")
    if uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(uri)
        from pipelines.io.artifact_s3 import S3Store

        return S3Store(bucket, prefix, endpoint_url=s3_endpoint_url, retry=retry or RetryPolicy())
    if uri.startswith("file://"):
        return LocalStore(_parse_file_uri(uri))
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", uri):
        raise ConfigError(f"{uri}: unsupported artefact store (use a folder or s3://bucket/prefix)")
    return LocalStore(Path(uri).expanduser())


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """The bucket and key prefix of ``s3://bucket/prefix`` (the prefix may be empty).

    Raises:
        ConfigError: not a valid bucket name, a query or fragment, or an unsafe prefix.
    """
    parts = urlsplit(uri)
    prefix = parts.path.strip("/")
    if parts.scheme != "s3" or not _BUCKET.fullmatch(parts.netloc) or parts.query or parts.fragment:
        raise ConfigError(f"{uri}: not a valid s3://bucket/prefix URI")
    if prefix:
        try:
            check_relpath(prefix)
        except ValueError:
            raise ConfigError(f"{uri}: invalid S3 prefix {prefix!r}") from None
    return parts.netloc, prefix


def _parse_file_uri(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise ConfigError(f"{uri}: use file:///absolute/path or a plain folder path")
    return Path(unquote(parts.path))


# --- shards: one fit's files ---------------------------------------------------------------------


def _jsonable(value: object) -> object:
    """JSON for numpy scalars and anything else json cannot encode."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def _record(trained: Trained, shard: str) -> dict[str, Any]:
    """``trained.json``'s content: the shard and every :class:`Trained` field but ``files``."""
    record: dict[str, Any] = {"host": shard}
    record.update({f.name: getattr(trained, f.name) for f in fields(trained) if f.name != "files"})
    return record


def shard_files(trained: Trained, shard: str) -> dict[str, bytes]:
    """One shard's files, relative to its folder: the ensemble's files and ``trained.json``.

    Raises:
        ValueError: the ensemble's files include ``trained.json``.
    """
    if TRAINED_FILE in trained.files:
        raise ValueError(f"the ensemble's files may not include {TRAINED_FILE}")
    record = json.dumps(_record(trained, shard), indent=2, default=_jsonable) + "\n"
    return {**trained.files, TRAINED_FILE: record.encode()}


def _shard_record(shard: str, files: Mapping[str, bytes]) -> dict[str, Any]:
    raw = files.get(TRAINED_FILE)
    if raw is None:
        raise ValueError(f"host {shard}: its model has no {TRAINED_FILE}")
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"host {shard}: {TRAINED_FILE} is not valid JSON ({exc})") from exc
    if not isinstance(record, dict) or not isinstance(record.get("restaurants"), list):
        raise ValueError(f"host {shard}: {TRAINED_FILE} has no restaurants list")
    if record.get("host") != shard:
        raise ValueError(f"host {shard}: {TRAINED_FILE} was written by {record.get('host')!r}")
    return record


def _owners(shards: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Restaurant -> shard, sorted by restaurant.

    Raises:
        ValueError: a restaurant is in two shards.
    """
    owner: dict[str, str] = {}
    for shard, restaurants in sorted(shards.items()):
        for rid in restaurants:
            if rid in owner:
                raise ValueError(f"restaurant {rid} was trained by both {owner[rid]} and {shard}")
            owner[str(rid)] = shard
    return dict(sorted(owner.items()))


def merge_shards(models: Mapping[str, Mapping[str, bytes]]) -> dict[str, Trained]:
    """What each shard trained, from the files :func:`shard_files` wrote (one host's model each).

    Raises:
        ValueError: no shards, a shard without a valid ``trained.json`` (or one another shard
            wrote), or a restaurant trained by two shards.
    """
    from pipelines.fitting import Trained

    if not models:
        raise ValueError("no host models to merge")
    records = {shard: _shard_record(shard, files) for shard, files in sorted(models.items())}
    _owners({shard: record["restaurants"] for shard, record in records.items()})
    wanted = [f.name for f in fields(Trained) if f.name != "files"]
    merged: dict[str, Trained] = {}
    for shard, record in records.items():
        missing = [name for name in wanted if name not in record]
        if missing:
            raise ValueError(
                f"host {shard}: {TRAINED_FILE} lacks {', '.join(missing)} (was the training "
                "image built from an older Flux?)"
            )
        ensemble = {rel: data for rel, data in models[shard].items() if rel != TRAINED_FILE}
        merged[shard] = Trained(files=ensemble, **{name: record[name] for name in wanted})
    return merged


def artifact_files(shards: Mapping[str, Trained]) -> dict[str, bytes]:
    """An artefact's files (but its manifest): ``shards.json`` and every shard's folder.

    Raises:
        ValueError: no shards, or a restaurant in two shards.
    """
    if not shards:
        raise ValueError("an artefact needs at least one shard")
    owners = _owners({shard: trained.restaurants for shard, trained in shards.items()})
    files = {
        f"{SHARDS_DIR}/{shard}/{rel}": data
        for shard, trained in sorted(shards.items())
        for rel, data in sorted(shard_files(trained, shard).items())
    }
    files[SHARDS_FILE] = (json.dumps(owners, indent=2) + "\n").encode()
    return files


# --- the manifest --------------------------------------------------------------------------------


def failures(shards: Mapping[str, Trained]) -> dict[str, str]:
    """Every restaurant the shards could not model, with the reason."""
    return {rid: why for trained in shards.values() for rid, why in trained.failed.items()}


def _json(value: object) -> Any:
    return json.loads(json.dumps(value, default=str))


def build_manifest(
    artifact_id: str,
    config: TrainConfig,
    shards: Mapping[str, Trained],
    *,
    trained_on: Literal["local", "sagemaker"],
    fingerprint: str,
    extra: Mapping[str, Any],
) -> ArtifactManifest:
    """The manifest of an artefact made of ``shards`` (its file table is filled in by the store).

    A local artefact records its one shard's weights and validation metrics as they are; a
    SageMaker artefact records them per host (each host validated its own restaurants).

    Args:
        artifact_id: The new artefact's id.
        config: How it was trained (target, frequency, horizon, members, levels).
        shards: Shard -> what it trained (:func:`merge_shards`, or one local fit).
        trained_on: ``local`` or ``sagemaker``.
        fingerprint: :func:`pipelines.fitting.fingerprint` of all the training data.
        extra: More facts to record (job name, seed, restaurant scope); the shards' failures
            (:func:`failures`) are added as ``failed``.
    """
    if not shards:
        raise ValueError("an artefact needs at least one shard")
    first = next(iter(shards.values()))

    def per_shard(facts: Mapping[str, dict[str, Any]]) -> Any:
        return _json(facts[next(iter(facts))] if trained_on == "local" else facts)

    return ArtifactManifest(
        artifact_id=artifact_id,
        created_at=dt.datetime.now(dt.UTC),
        flux_version=flux_version(),
        library_versions=library_versions(LIBRARIES),
        git_sha=git_sha(),
        trained_on=trained_on,
        target=config.target,
        freq=config.freq,
        horizon=config.horizon,
        training_start=dt.datetime.fromisoformat(min(t.training_start for t in shards.values())),
        training_end=dt.datetime.fromisoformat(max(t.training_end for t in shards.values())),
        restaurants=sorted({r for t in shards.values() for r in t.restaurants}),
        data_fingerprint=fingerprint,
        members=[
            MemberSpec(
                name=member,
                params=_json(first.member_params.get(member, {})),
                files=sorted(
                    f"{SHARDS_DIR}/{shard}/{rel}"
                    for shard, trained in shards.items()
                    for rel in trained.member_files.get(member, [])
                ),
            )
            for member in config.members
        ],
        weights=per_shard({s: t.weights for s, t in shards.items()}),
        backtest_metrics=per_shard({s: t.validation_metrics for s, t in shards.items()}),
        levels=list(config.levels),
        spec=config.spec.record(),
        extra=_json({"failed": failures(shards), **extra}),
    )


# --- reading a trained artefact ------------------------------------------------------------------


def read_shard_map(store: ArtifactStore, artifact_id: str) -> dict[str, str]:
    """Restaurant -> shard of a trained artefact.

    Raises:
        ArtifactError: the artefact or its shard map cannot be read.
        ArtifactIntegrityError: the shard map is not a JSON object.
    """
    raw = store.read_file(artifact_id, SHARDS_FILE)
    try:
        shards = json.loads(raw)
    except ValueError:
        shards = None
    if not isinstance(shards, dict):
        raise ArtifactIntegrityError(
            f"{store.uri}: artefact {artifact_id}: {SHARDS_FILE} is not a JSON object"
        )
    return {str(rid): str(shard) for rid, shard in shards.items()}


def read_shard_files(
    store: ArtifactStore, manifest: ArtifactManifest, shard: str
) -> dict[str, bytes]:
    """One shard's files, relative to its folder, each verified against the manifest."""
    prefix = f"{SHARDS_DIR}/{shard}/"
    return {
        rel.removeprefix(prefix): store.read_verified(manifest, rel)
        for rel in sorted(manifest.files)
        if rel.startswith(prefix)
    }
