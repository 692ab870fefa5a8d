"""The artefact store: immutable artefacts, aliases and exports under one root.

:class:`ArtifactStore` holds everything a store does (naming rules, checksums, manifests,
aliases, exports) over a handful of primitives; :class:`LocalStore` implements them on a folder,
``S3Store`` (:mod:`pipelines.io.artifact_s3`) on ``s3://bucket/prefix``. Which store the settings
name, and what a Flux artefact holds, is :mod:`pipelines.io.artifacts`'s business. Both stores
share one layout under their root::

    artefacts/<id>/<member files>   uploaded first
    artefacts/<id>/manifest.json    written last: it commits the artefact
    aliases/<name>.json             {"artifact_id": ..., "updated_at": ...}
    published/...                   exports (put_bytes / get_bytes)
    .staging/                       local only: artefacts being written, invisible to readers

A folder without ``manifest.json`` is not an artefact: listing skips it and loading says it is
incomplete. Every file's SHA-256 is in the manifest and is checked on every read. Committed
artefacts are immutable. Every failure is an :class:`~pipelines.errors.ArtifactError` naming the
store's URI (never a secret); a checksum mismatch is an
:class:`~pipelines.errors.ArtifactIntegrityError` naming the file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from models.artifact import (
    MANIFEST_FILE,
    ArtifactManifest,
    ManifestError,
    ManifestVersionError,
    check_name,
    check_relpath,
    new_artifact_id,
)
from pipelines.errors import ArtifactError, ArtifactIntegrityError
from pipelines.io.files import atomic_write

__all__ = [
    "ARTEFACTS",
    "ArtifactStore",
    "FileSource",
    "LocalStore",
    "RetryPolicy",
    "Staging",
]

log = logging.getLogger(__name__)

ARTEFACTS = "artefacts"
ALIASES = "aliases"
STAGING = ".staging"
_RESERVED = frozenset({ARTEFACTS, ALIASES})

FileSource = dict[str, bytes] | Path
"""An artefact's files: relative path → bytes, or a staging folder to copy (recursively)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a remote store retries throttling, 5xx and network errors.

    Attributes:
        attempts: Tries per request (1: no retry).
        wait_initial: Seconds before the first retry; doubles each time.
        wait_max: The longest wait between tries.
        timeout: Connect and read timeout of each try, in seconds.
    """

    attempts: int = 5
    wait_initial: float = 0.5
    wait_max: float = 8.0
    timeout: float = 30.0


class Staging(ABC):
    """One artefact being written: member files first, then the manifest commits it."""

    @abstractmethod
    def write(self, rel: str, source: bytes | Path) -> str:
        """Stores one member file and returns its SHA-256."""

    @abstractmethod
    def commit(self, manifest: ArtifactManifest) -> None:
        """Writes the manifest last, making the artefact visible.

        Raises:
            ArtifactError: the id was committed meanwhile, or the write failed.
        """

    @abstractmethod
    def abort(self) -> None:
        """Removes what was written (best effort; never raises)."""


class ArtifactStore(ABC):
    """Immutable artefacts, aliases and exports under one root (see the module docstring).

    Subclasses provide a handful of primitives over ``/``-separated keys relative to the root;
    everything else (naming rules, checksums, manifests, aliases) is shared.
    """

    uri: str

    # --- artefacts -------------------------------------------------------------------------------

    def new_id(self) -> str:
        """A new, sortable artefact id (UTC time + short random part)."""
        return new_artifact_id()

    def write_artifact(
        self, artifact_id: str, files: FileSource, manifest: ArtifactManifest
    ) -> ArtifactManifest:
        """Writes an artefact: its files, then its manifest (which commits it).

        Args:
            artifact_id: The new id; must equal ``manifest.artifact_id``.
            files: Relative path → bytes, or a staging folder whose files are copied.
            manifest: The manifest; its ``files`` table is replaced by the computed checksums.

        Returns:
            The committed manifest, with every file's SHA-256.

        Raises:
            ArtifactError: an invalid name, the id already exists, or a write failed (nothing
                is committed then).
            ValueError: the manifest names another id, or a member names a file not given.
        """
        self._check(artifact_id, "artifact id")
        if manifest.artifact_id != artifact_id:
            raise ValueError(f"manifest is for {manifest.artifact_id!r}, not {artifact_id!r}")
        sources = self._sources(files)
        missing = sorted(manifest.member_files() - sources.keys())
        if missing:
            raise ValueError(f"members name files that were not given: {', '.join(missing)}")
        if self._has(_manifest_key(artifact_id)):
            raise self._exists_error(artifact_id)
        staging = self._stage(artifact_id)
        try:
            hashes = {rel: staging.write(rel, src) for rel, src in sorted(sources.items())}
            committed = manifest.with_files(hashes)
            staging.commit(committed)
        except BaseException:
            staging.abort()
            raise
        log.info("artefact written", extra={"store": self.uri, "artifact_id": artifact_id})
        return committed

    def read_manifest(self, artifact_id: str) -> ArtifactManifest:
        """The manifest of a committed artefact, upgraded to the current schema.

        Raises:
            ArtifactError: no such artefact, an incomplete one, or a newer schema.
            ArtifactIntegrityError: the manifest is not valid.
        """
        self._check(artifact_id, "artifact id")
        raw = self._get(_manifest_key(artifact_id))
        if raw is None:
            if self._has_prefix(f"{ARTEFACTS}/{artifact_id}"):
                raise ArtifactError(
                    f"{self.uri}: artefact {artifact_id} is incomplete (no {MANIFEST_FILE}; "
                    "its write never finished)"
                )
            raise ArtifactError(f"{self.uri}: no artefact {artifact_id}")
        return self._parse_manifest(artifact_id, raw)

    def read_file(self, artifact_id: str, rel: str) -> bytes:
        """One file of a committed artefact, checked against the manifest's SHA-256.

        Raises:
            ArtifactError: no such artefact or file.
            ArtifactIntegrityError: the file is missing or its checksum does not match.
        """
        return self.read_verified(self.read_manifest(artifact_id), rel)

    def download(self, artifact_id: str, dest: Path) -> ArtifactManifest:
        """Copies a committed artefact into the folder ``dest``, each file verified.

        Files are written atomically and ``manifest.json`` last, as in the store.

        Raises:
            ArtifactError: the artefact cannot be read or ``dest`` cannot be written.
            ArtifactIntegrityError: a file is corrupt (``dest`` then has no manifest).
        """
        manifest = self.read_manifest(artifact_id)
        for rel in sorted(manifest.files):
            _write_local(dest.joinpath(*rel.split("/")), self.read_verified(manifest, rel))
        _write_local(dest / MANIFEST_FILE, manifest.to_json().encode())
        return manifest

    def list_artifacts(self) -> list[ArtifactManifest]:
        """Committed artefacts, newest first (unreadable ones are logged and skipped)."""
        found: list[ArtifactManifest] = []
        for artifact_id in self._artifact_dirs():
            raw = self._get(_manifest_key(artifact_id))
            if raw is None:
                continue
            try:
                found.append(self._parse_manifest(artifact_id, raw))
            except ArtifactError as exc:
                log.warning("skipping unreadable artefact: %s", exc)
        return sorted(found, key=lambda m: (m.created_at, m.artifact_id), reverse=True)

    # --- aliases ---------------------------------------------------------------------------------

    def set_alias(self, name: str, artifact_id: str) -> None:
        """Points alias ``name`` at a committed artefact (atomically replacing its target).

        Raises:
            ArtifactError: an invalid name, or ``artifact_id`` is not a committed artefact.
        """
        self._check(name, "alias name")
        self.read_manifest(artifact_id)
        body = {"artifact_id": artifact_id, "updated_at": datetime.now(UTC).isoformat()}
        self._put(_alias_key(name), (json.dumps(body, indent=2) + "\n").encode())

    def get_alias(self, name: str) -> str | None:
        """The artefact id alias ``name`` points at, or None when there is no such alias.

        Raises:
            ArtifactError: an invalid name.
            ArtifactIntegrityError: the alias file is not valid.
        """
        self._check(name, "alias name")
        raw = self._get(_alias_key(name))
        return None if raw is None else self._parse_alias(name, raw)

    def aliases(self) -> dict[str, str]:
        """Every alias and the id it points at, sorted by name."""
        names = sorted(
            f.removesuffix(".json")
            for f in self._list_files(ALIASES)
            if f.endswith(".json") and _is_name(f.removesuffix(".json"))
        )
        out = {name: self.get_alias(name) for name in names}
        return {name: target for name, target in out.items() if target is not None}

    def resolve(self, ref: str) -> str:
        """The committed artefact id that ``ref`` means: an id, an alias or a unique id prefix.

        Raises:
            ArtifactError: nothing matches, the prefix is ambiguous, or an alias points at an
                artefact that is not committed.
        """
        if not _is_name(ref):
            raise ArtifactError(f"{self.uri}: {ref!r} is not a valid artefact id or alias name")
        if self._has(_manifest_key(ref)):
            return ref
        target = self.get_alias(ref)
        if target is not None:
            if not self._has(_manifest_key(target)):
                raise ArtifactError(
                    f"{self.uri}: alias {ref!r} points at {target}, which is not a committed "
                    "artefact"
                )
            return target
        matches = sorted(i for i in self._artifact_dirs(ref) if self._has(_manifest_key(i)))
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ArtifactError(f"{self.uri}: no artefact or alias matches {ref!r}")
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise ArtifactError(
            f"{self.uri}: {ref!r} is ambiguous: it starts {len(matches)} artefact ids ({shown})"
        )

    # --- exports ---------------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes) -> None:
        """Stores ``data`` at ``key`` (e.g. ``published/2026-11-29/forecast.parquet``), atomically.

        Raises:
            ArtifactError: an invalid or reserved key (``artefacts/``, ``aliases/``), or the
                write failed.
        """
        self._put(self._export_key(key), data)

    def get_bytes(self, key: str) -> bytes:
        """The bytes stored at ``key`` by :meth:`put_bytes`.

        Raises:
            ArtifactError: an invalid or reserved key, or nothing is stored there.
        """
        data = self._get(self._export_key(key))
        if data is None:
            raise ArtifactError(f"{self.uri}: {key} not found")
        return data

    # --- backend primitives ----------------------------------------------------------------------

    @abstractmethod
    def _get(self, key: str) -> bytes | None:
        """The object at ``key``, or None if there is none."""

    @abstractmethod
    def _put(self, key: str, data: bytes) -> None:
        """Stores one object atomically (readers see the old or the new bytes, never a mix)."""

    @abstractmethod
    def _has(self, key: str) -> bool:
        """Whether an object exists at ``key``."""

    @abstractmethod
    def _has_prefix(self, prefix: str) -> bool:
        """Whether anything is stored under the folder ``prefix``."""

    @abstractmethod
    def _list_dirs(self, prefix: str, starting: str = "") -> list[str]:
        """Names of the sub-folders of ``prefix`` that start with ``starting``."""

    @abstractmethod
    def _list_files(self, prefix: str) -> list[str]:
        """Names of the files directly in the folder ``prefix``."""

    @abstractmethod
    def _stage(self, artifact_id: str) -> Staging:
        """Starts writing artefact ``artifact_id``."""

    # --- shared helpers --------------------------------------------------------------------------

    def _check(self, name: str, what: str) -> None:
        try:
            check_name(name, what)
        except ValueError as exc:
            raise ArtifactError(f"{self.uri}: {exc}") from None

    def _exists_error(self, artifact_id: str) -> ArtifactError:
        return ArtifactError(
            f"{self.uri}: artefact {artifact_id} already exists; artefacts are immutable"
        )

    def _artifact_dirs(self, starting: str = "") -> list[str]:
        return [d for d in self._list_dirs(ARTEFACTS, starting) if _is_name(d)]

    def _sources(self, files: FileSource) -> dict[str, bytes | Path]:
        sources: dict[str, bytes | Path] = (
            dict(_folder_files(files, self.uri)) if isinstance(files, Path) else dict(files)
        )
        for rel in sources:
            try:
                check_relpath(rel)
            except ValueError as exc:
                raise ArtifactError(f"{self.uri}: artefact file: {exc}") from None
            if rel == MANIFEST_FILE:
                raise ArtifactError(f"{self.uri}: {MANIFEST_FILE} is reserved for the manifest")
        return sources

    def _parse_manifest(self, artifact_id: str, raw: bytes) -> ArtifactManifest:
        where = f"{self.uri}: artefact {artifact_id}"
        try:
            manifest = ArtifactManifest.from_json(raw)
        except ManifestVersionError as exc:
            raise ArtifactError(f"{where}: {MANIFEST_FILE}: {exc}") from None
        except ManifestError as exc:
            raise ArtifactIntegrityError(f"{where}: {MANIFEST_FILE} is invalid: {exc}") from None
        if manifest.artifact_id != artifact_id:
            raise ArtifactIntegrityError(
                f"{where}: {MANIFEST_FILE} names another artefact ({manifest.artifact_id})"
            )
        return manifest

    def read_verified(self, manifest: ArtifactManifest, rel: str) -> bytes:
        """One file of the artefact ``manifest`` describes (one :meth:`read_manifest` gave),
        checked against its SHA-256: :meth:`read_file` without reading the manifest again, for
        reading many files of one artefact (a fleet's thousands of Prophet files).

        Raises:
            ArtifactError: the manifest lists no such file.
            ArtifactIntegrityError: the file is missing or its checksum does not match.
        """
        where = f"{self.uri}: artefact {manifest.artifact_id}"
        expected = manifest.files.get(rel)
        if expected is None:
            raise ArtifactError(f"{where} has no file {rel!r}")
        data = self._get(f"{ARTEFACTS}/{manifest.artifact_id}/{rel}")
        if data is None:
            raise ArtifactIntegrityError(f"{where}: file {rel} is missing")
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ArtifactIntegrityError(
                f"{where}: file {rel} is corrupt (SHA-256 {actual[:12]}…, "
                f"the manifest says {expected[:12]}…)"
            )
        return data

    def _parse_alias(self, name: str, raw: bytes) -> str:
        try:
            target = json.loads(raw)["artifact_id"]
            return check_name(target, "artifact id")
        except (ValueError, KeyError, TypeError):
            raise ArtifactIntegrityError(
                f"{self.uri}: alias {name}: {_alias_key(name)} is not valid"
            ) from None

    def _export_key(self, key: str) -> str:
        try:
            check_relpath(key)
        except ValueError as exc:
            raise ArtifactError(f"{self.uri}: {exc}") from None
        if key.split("/", 1)[0] in _RESERVED:
            raise ArtifactError(f"{self.uri}: {key}: artefacts/ and aliases/ are reserved")
        return key


def _manifest_key(artifact_id: str) -> str:
    return f"{ARTEFACTS}/{artifact_id}/{MANIFEST_FILE}"


def _alias_key(name: str) -> str:
    return f"{ALIASES}/{name}.json"


def _is_name(name: str) -> bool:
    try:
        check_name(name)
    except ValueError:
        return False
    return True


def _folder_files(folder: Path, uri: str) -> Iterator[tuple[str, Path]]:
    """The regular files under ``folder`` as (relative path, path); symlinks are refused."""
    if not folder.is_dir():
        raise ArtifactError(f"{uri}: staging folder {folder} does not exist")
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise ArtifactError(f"{uri}: staging folder has a symlink: {path}")
        if path.is_file():
            yield path.relative_to(folder).as_posix(), path


# --- local folders -------------------------------------------------------------------------------


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full (no space left on device)"
    return exc.strerror or str(exc)


@contextmanager
def _os_errors(what: str) -> Iterator[None]:
    """Turns an OSError into an ArtifactError starting with ``what``."""
    try:
        yield
    except OSError as exc:
        raise ArtifactError(f"{what}: {_os_reason(exc)}") from exc


def _write_new(path: Path, source: bytes | Path) -> str:
    """Writes a new file (durably: fsync) from bytes or a file; returns its SHA-256."""
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as out:
        if isinstance(source, bytes):
            digest.update(source)
            out.write(source)
        else:
            with source.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _write_local(path: Path, data: bytes) -> None:
    with _os_errors(f"cannot write {path}"), atomic_write(path, "wb") as fh:
        fh.write(data)


def _fsync_dir(path: Path) -> None:
    """Makes a rename in ``path`` durable (best effort: not every platform allows it)."""
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalStore(ArtifactStore):
    """A store in a local folder; an artefact is staged in ``.staging/`` and renamed into place.

    Args:
        root: The store's folder (created on the first write).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = root.as_posix()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def _get(self, key: str) -> bytes | None:
        with _os_errors(f"{self.uri}: cannot read {key}"):
            try:
                return self._path(key).read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                return None

    def _put(self, key: str, data: bytes) -> None:
        with (
            _os_errors(f"{self.uri}: cannot write {key}"),
            atomic_write(self._path(key), "wb") as fh,
        ):
            fh.write(data)

    def _has(self, key: str) -> bool:
        return self._path(key).is_file()

    def _has_prefix(self, prefix: str) -> bool:
        return self._path(prefix).is_dir()

    def _list_dirs(self, prefix: str, starting: str = "") -> list[str]:
        return [
            p.name for p in self._children(prefix) if p.is_dir() and p.name.startswith(starting)
        ]

    def _list_files(self, prefix: str) -> list[str]:
        return [p.name for p in self._children(prefix) if p.is_file()]

    def _children(self, prefix: str) -> list[Path]:
        folder = self._path(prefix)
        with _os_errors(f"{self.uri}: cannot list {prefix}"):
            return sorted(folder.iterdir()) if folder.is_dir() else []

    def _stage(self, artifact_id: str) -> Staging:
        return _LocalStaging(self, artifact_id)

    def _publish(self, staged: Path, artifact_id: str) -> None:
        """Renames a staged folder to ``artefacts/<id>``: the commit, atomic on one filesystem."""
        final = self._path(f"{ARTEFACTS}/{artifact_id}")
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            staged.rename(final)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            if (final / MANIFEST_FILE).exists():
                raise self._exists_error(artifact_id) from None
            self._discard(final)  # the remains of a write that never committed
            staged.rename(final)
        _fsync_dir(final.parent)

    def _discard(self, folder: Path) -> None:
        trash = Path(tempfile.mkdtemp(prefix="discard.", dir=self._path(STAGING)))
        folder.rename(trash / folder.name)
        shutil.rmtree(trash, ignore_errors=True)


class _LocalStaging(Staging):
    """Writes into ``<root>/.staging/<id>.<random>/``; commit renames it into place."""

    def __init__(self, store: LocalStore, artifact_id: str) -> None:
        self.store = store
        self.artifact_id = artifact_id
        self.what = f"{store.uri}: cannot write artefact {artifact_id}"
        staging_root = store._path(STAGING)
        with _os_errors(self.what):
            staging_root.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f"{artifact_id}.", dir=staging_root))

    def write(self, rel: str, source: bytes | Path) -> str:
        with _os_errors(self.what):
            return _write_new(self.folder.joinpath(*rel.split("/")), source)

    def commit(self, manifest: ArtifactManifest) -> None:
        with _os_errors(self.what):
            _write_new(self.folder / MANIFEST_FILE, manifest.to_json().encode())
            _fsync_dir(self.folder)
            self.store._publish(self.folder, self.artifact_id)

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
