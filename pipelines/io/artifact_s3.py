"""The artefact store on S3 (or an S3-compatible service such as MinIO).

Credentials come from boto3's standard chain (environment, shared files, instance or task role);
``endpoint_url`` points at an S3-compatible service. Throttling, 5xx answers and network errors
are retried with tenacity (see :class:`~pipelines.io.artifact_store.RetryPolicy`; botocore's own
retries are off so the policy is the only one); then an :class:`~pipelines.errors.ArtifactError`
names the URI and the reason, with credentials and URL user info scrubbed.

Member files are uploaded first and ``manifest.json`` last, with ``If-None-Match: *`` so two
writers can never both commit one id.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    SSLError,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from models.artifact import MANIFEST_FILE, ArtifactManifest
from pipelines.errors import ArtifactError
from pipelines.io.artifact_store import ARTEFACTS, ArtifactStore, RetryPolicy, Staging
from pipelines.io.files import sha256
from pipelines.redaction import known_secrets, scrub

if TYPE_CHECKING:
    from botocore.loaders import Loader
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef, PaginatorConfigTypeDef

__all__ = ["S3Store", "is_transient"]

T = TypeVar("T")
log = logging.getLogger(__name__)

_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "SlowDown",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
    }
)
_DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "403", "Forbidden"})
_BAD_CREDENTIALS = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
)
_QUERY = re.compile(r"(?<=[a-z0-9/])\?[^\s\"']*")  # a URL's query (may hold a signature)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def is_transient(exc: BaseException) -> bool:
    """Whether a boto error is worth retrying: throttling, a 5xx answer, a timeout or network."""
    if isinstance(exc, ClientError):
        return _code(exc) in _THROTTLING or _status(exc) == 429 or _status(exc) >= 500
    if isinstance(exc, SSLError):
        return False
    return isinstance(exc, ConnectionError | HTTPClientError)


@cache
def _shared_loader() -> Loader:
    """botocore's service-model loader, shared so each new store skips re-parsing S3's model."""
    loader: Loader = botocore.session.get_session().get_component("data_loader")
    return loader


def _new_session() -> boto3.session.Session:
    """A boto3 session (standard credential chain) that reuses the shared model loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    return boto3.session.Session(botocore_session=core)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _reason(exc: BaseException, attempts: int, bucket: str) -> str:
    """Plain words for a boto error."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "no usable AWS credentials (environment, shared config or instance role)"
    if is_transient(exc):
        what = f"{_code(exc)} (HTTP {_status(exc)})" if isinstance(exc, ClientError) else None
        return f"gave up after {attempts} attempt(s): {what or _first_line(exc)}"
    if isinstance(exc, ClientError):
        return _client_reason(exc, bucket)
    return _first_line(exc)


def _client_reason(exc: ClientError, bucket: str) -> str:
    """Plain words for an error answer from S3."""
    code = _code(exc)
    if code == "NoSuchBucket":
        return f"bucket {bucket!r} does not exist"
    if code in _DENIED:
        return "access denied (check the credentials and the bucket policy)"
    if code in _BAD_CREDENTIALS:
        return f"the credentials were rejected ({code})"
    message = exc.response.get("Error", {}).get("Message", "")
    return f"{code or 'error'} (HTTP {_status(exc)}){': ' + message if message else ''}"


class S3Store(ArtifactStore):
    """A store under ``s3://bucket/prefix``.

    Args:
        bucket: The bucket (it must exist).
        prefix: Key prefix of the store's root ("" for the bucket's root).
        endpoint_url: Endpoint of an S3-compatible service (None: AWS).
        retry: Retries of throttling, 5xx and network errors.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.retry = retry or RetryPolicy()
        self._session = _new_session()
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=self.retry.timeout,
            read_timeout=self.retry.timeout,
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self._client: S3Client = self._session.client(
            "s3", endpoint_url=endpoint_url, config=config
        )

    # --- requests --------------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        """Runs one request with retries; a boto error becomes an ArtifactError."""
        policy = self.retry
        retrying = Retrying(
            stop=stop_after_attempt(max(policy.attempts, 1)),
            wait=wait_exponential(multiplier=policy.wait_initial, max=policy.wait_max)
            + wait_random(0, policy.wait_initial),  # jitter spreads out throttled clients
            retry=retry_if_exception(is_transient),
            before_sleep=partial(self._log_retry, action),
            reraise=True,
        )
        try:
            return retrying(fn)
        except (ClientError, BotoCoreError) as exc:
            reason = _reason(exc, self.retry.attempts, self.bucket)
            raise ArtifactError(f"{self.uri}: {action}: {self._scrub(reason)}") from exc

    def _log_retry(self, action: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: %s: attempt %d failed (%s); retrying",
            self.uri,
            action,
            state.attempt_number,
            self._scrub(_first_line(exc)) if exc else "unknown error",
        )

    def _scrub(self, text: str) -> str:
        """``text`` without URL user info or any of the session's credentials."""
        try:
            creds = self._session.get_credentials()
            frozen = creds.get_frozen_credentials() if creds else None
        except BotoCoreError:
            frozen = None
        keys = [frozen.access_key, frozen.secret_key, frozen.token] if frozen else []
        return _QUERY.sub("", scrub(text, known_secrets(keys)))

    # --- primitives ------------------------------------------------------------------------------

    def _get(self, key: str) -> bytes | None:
        def fetch() -> bytes | None:
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if _code(exc) == "NoSuchKey":
                    return None
                raise
            return response["Body"].read()

        return self._call(f"cannot read {key}", fetch)

    def _put(self, key: str, data: bytes) -> None:
        self._call(
            f"cannot write {key}",
            lambda: self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data),
        )

    def _put_file(self, key: str, path: Path) -> None:
        def upload() -> None:
            with path.open("rb") as fh:
                self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=fh)

        self._call(f"cannot write {key}", upload)

    def _put_new(self, key: str, data: bytes) -> bool:
        """Stores ``data`` only if nothing is at ``key``; False when something already is."""

        def put() -> bool:
            try:
                self._client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
                )
            except ClientError as exc:
                if _code(exc) == "PreconditionFailed" or _status(exc) == 412:
                    return False
                raise
            return True

        return self._call(f"cannot write {key}", put)

    def _delete(self, keys: Iterable[str]) -> None:
        full = [self._key(k) for k in keys]
        for start in range(0, len(full), 1000):
            self._call("cannot delete", partial(self._delete_batch, full[start : start + 1000]))

    def _delete_batch(self, keys: list[str]) -> None:
        objects: list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys]
        self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})

    def _list(self, prefix: str, *, delimiter: bool, limit: int = 0) -> tuple[list[str], list[str]]:
        """Keys and sub-folder prefixes under ``prefix`` (relative to it)."""
        full = self._key(prefix)

        def collect() -> tuple[list[str], list[str]]:
            keys: list[str] = []
            folders: list[str] = []
            paginator = self._client.get_paginator("list_objects_v2")
            config: PaginatorConfigTypeDef = {"MaxItems": limit, "PageSize": limit} if limit else {}
            if delimiter:
                pages = paginator.paginate(
                    Bucket=self.bucket, Prefix=full, Delimiter="/", PaginationConfig=config
                )
            else:
                pages = paginator.paginate(Bucket=self.bucket, Prefix=full, PaginationConfig=config)
            for page in pages:
                keys.extend(obj["Key"][len(full) :] for obj in page.get("Contents", []))
                folders.extend(p["Prefix"][len(full) :] for p in page.get("CommonPrefixes", []))
            return keys, folders

        return self._call(f"cannot list {prefix or '/'}", collect)

    def objects(self) -> list[tuple[str, str, int]]:
        """Every object under the prefix as ``(relative key, etag, size)``, sorted by key (used
        to read an inbox of exports)."""
        full = self._key("")
        if full and not full.endswith("/"):
            full += "/"

        def collect() -> list[tuple[str, str, int]]:
            found: list[tuple[str, str, int]] = []
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    key = obj["Key"][len(full) :]
                    if key and not key.endswith("/"):
                        found.append((key, obj.get("ETag", "").strip('"'), obj.get("Size", 0)))
            return sorted(found)

        return self._call("cannot list the inbox", collect)

    def fetch(self, key: str) -> bytes:
        """One object under the prefix (``key`` relative to it)."""
        data = self._get(key)
        if data is None:
            raise ArtifactError(f"{self.uri}: {key} disappeared while it was being read")
        return data

    def _has(self, key: str) -> bool:
        keys, _ = self._list(key, delimiter=False, limit=1)
        return keys[:1] == [""]

    def _has_prefix(self, prefix: str) -> bool:
        keys, _ = self._list(f"{prefix}/", delimiter=False, limit=1)
        return bool(keys)

    def _list_dirs(self, prefix: str, starting: str = "") -> list[str]:
        _, folders = self._list(f"{prefix}/{starting}", delimiter=True)
        return sorted(starting + f.rstrip("/") for f in folders)

    def _list_files(self, prefix: str) -> list[str]:
        keys, _ = self._list(f"{prefix}/", delimiter=True)
        return sorted(keys)

    def _stage(self, artifact_id: str) -> Staging:
        return _S3Staging(self, artifact_id)


class _S3Staging(Staging):
    """Uploads member files under ``artefacts/<id>/``; commit puts the manifest if absent."""

    def __init__(self, store: S3Store, artifact_id: str) -> None:
        self.store = store
        self.artifact_id = artifact_id
        self.written: list[str] = []

    def _member_key(self, rel: str) -> str:
        return f"{ARTEFACTS}/{self.artifact_id}/{rel}"

    def write(self, rel: str, source: bytes | Path) -> str:
        key = self._member_key(rel)
        self.written.append(key)
        if isinstance(source, bytes):
            self.store._put(key, source)
            return hashlib.sha256(source).hexdigest()
        digest = sha256(source)
        self.store._put_file(key, source)
        return digest

    def commit(self, manifest: ArtifactManifest) -> None:
        key, body = self._member_key(MANIFEST_FILE), manifest.to_json().encode()
        # A retried put finds the manifest its own earlier try stored (the answer was lost).
        if not self.store._put_new(key, body) and self.store._get(key) != body:
            raise self.store._exists_error(self.artifact_id)

    def abort(self) -> None:
        """Deletes the uploaded member files unless another writer committed this id."""
        try:
            if self.written and not self.store._has(self._member_key(MANIFEST_FILE)):
                self.store._delete(self.written)
        except ArtifactError:
            pass
