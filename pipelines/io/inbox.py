"""The nightly job's S3 inbox: the exports waiting under ``s3://bucket/prefix``, and the record
of those already imported (table ``source_objects``: by source, key and ETag), so an object is
neither imported nor even downloaded twice. (A folder inbox needs no record: ``flux import``
recognises a file it has imported by its content hash.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from pipelines.io import schema, tenancy
from pipelines.io.artifacts import parse_s3_uri
from pipelines.io.db import Database

if TYPE_CHECKING:
    from pipelines.io.artifact_s3 import S3Store

__all__ = ["Inbox", "InboxObject", "imported", "open_inbox", "record_imported"]


@dataclass(frozen=True)
class InboxObject:
    """One object in the inbox: its key (relative to the inbox's prefix), ETag and size."""

    key: str
    etag: str
    size: int


class Inbox:
    """The objects under an ``s3://bucket/prefix`` inbox.

    Args:
        store: The S3 store rooted at the inbox's prefix.
    """

    def __init__(self, store: S3Store) -> None:
        self._store = store
        self.uri = store.uri

    def objects(self) -> list[InboxObject]:
        """Every object, sorted by key.

        Raises:
            ArtifactError: the inbox cannot be listed.
        """
        return [InboxObject(k, e, s) for k, e, s in self._store.objects()]

    def fetch(self, key: str) -> bytes:
        """One object's bytes.

        Raises:
            ArtifactError: it cannot be read (or disappeared).
        """
        return self._store.fetch(key)


def open_inbox(uri: str, *, s3_endpoint_url: str | None = None) -> Inbox:
    """The inbox at ``s3://bucket/prefix`` (boto3 is imported only now).

    Raises:
        ConfigError: not a valid ``s3://`` URI.
    """
    from pipelines.io.artifact_s3 import S3Store

    bucket, prefix = parse_s3_uri(uri)
    return Inbox(S3Store(bucket, prefix, endpoint_url=s3_endpoint_url))


def imported(db: Database, source: str) -> set[tuple[str, str]]:
    """The (key, ETag) of every object of ``source`` imported before."""
    t = schema.source_objects
    with db.connect() as conn:
        stmt = sa.select(t.c.object_key, t.c.etag)
        rows = conn.execute(stmt.where(t.c.source == source, *tenancy.where(conn, t)))
        return {(str(r[0]), str(r[1])) for r in rows}


def record_imported(
    db: Database, source: str, objects: Iterable[InboxObject], batch_id: str | None
) -> None:
    """Remembers objects as imported (by the import batch ``batch_id``), in one transaction.

    The objects must not be recorded yet (callers pass those :func:`imported` did not list).
    """
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "source": source,
            "object_key": o.key,
            "etag": o.etag,
            "size": o.size,
            "imported_at": now,
            "batch_id": batch_id,
        }
        for o in objects
    ]
    if rows:
        with db.begin() as conn:
            conn.execute(sa.insert(schema.source_objects), rows)
