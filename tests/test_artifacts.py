"""The artefact store and manifest: the same contract on a local folder and on S3 (moto server).

The S3 lane runs against moto's real HTTP server (no patching of boto3), so requests, retries,
conditional writes and error answers go through botocore as they would against AWS or MinIO.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, SSLError

from models.artifact import (
    SCHEMA_VERSION,
    ArtifactManifest,
    ManifestError,
    ManifestVersionError,
    MemberSpec,
    check_relpath,
    new_artifact_id,
    upgrade,
)
from pipelines.errors import ArtifactError, ArtifactIntegrityError, ConfigError
from pipelines.io.artifact_s3 import S3Store, is_transient
from pipelines.io.artifact_store import ArtifactStore, LocalStore, RetryPolicy, Staging
from pipelines.io.artifacts import open_store
from tests.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY, free_port

FIXTURES = Path(__file__).parent / "fixtures" / "artifacts"
V1_ID = "20250301T120000Z-0a1b2c3d"
ACCESS_KEY, SECRET_KEY = AWS_ACCESS_KEY, AWS_SECRET_KEY
FAST = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.02, timeout=5)
FILES = {"members/naive.json": b'{"season": 7}\n', "members/median.json": b'{"weeks": 8}\n'}


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_client(moto_endpoint: str) -> Any:
    """A client of the moto server for setting up and inspecting buckets."""
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def bucket(moto_client: Any, aws_env: None) -> str:
    """A new, empty bucket on the moto server."""
    name = f"flux-{uuid.uuid4().hex[:12]}"
    moto_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_store(bucket: str, moto_endpoint: str) -> S3Store:
    """A store under a prefix of a new bucket."""
    store = open_store(f"s3://{bucket}/flux/prod", s3_endpoint_url=moto_endpoint, retry=FAST)
    assert isinstance(store, S3Store)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    """The same store contract on both backends."""
    if request.param == "local":
        return open_store(str(tmp_path / "store"))
    store: ArtifactStore = request.getfixturevalue("s3_store")
    return store


def make_manifest(artifact_id: str, *, created_at: datetime | None = None) -> ArtifactManifest:
    return ArtifactManifest(
        artifact_id=artifact_id,
        created_at=created_at or datetime(2026, 11, 29, 14, 30, tzinfo=UTC),
        flux_version="0.1.0",
        library_versions={"pandas": "2.2.3"},
        git_sha="abc1234",
        trained_on="local",
        target="covers",
        freq="D",
        horizon=14,
        training_start=datetime(2025, 1, 1),
        training_end=datetime(2026, 11, 28),
        restaurants=["r-001", "r-002"],
        data_fingerprint="f" * 64,
        members=[
            MemberSpec(name="seasonal_naive", params={"season": 7}, files=["members/naive.json"]),
            MemberSpec(name="weekday_median", params={"weeks": 8}, files=["members/median.json"]),
        ],
        weights={"kind": "inverse_error", "weights": {"seasonal_naive": 0.4}},
        backtest_metrics={"ensemble": {"mase": 0.8}},
        levels=[80, 95],
        extra={"note": "test"},
    )


def write(store: ArtifactStore, artifact_id: str | None = None, **kw: Any) -> ArtifactManifest:
    artifact_id = artifact_id or store.new_id()
    return store.write_artifact(artifact_id, dict(FILES), make_manifest(artifact_id, **kw))


def load_v1_fixture(store: ArtifactStore) -> None:
    """Copies the stored schema-1 store, byte for byte, into ``store``."""
    root = FIXTURES / "v1"
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        store._put(path.relative_to(root).as_posix(), path.read_bytes())


class Crashing(Staging):
    """A staging that dies after ``after`` files; without cleanup it leaves what a kill leaves."""

    def __init__(self, inner: Staging, after: int, *, cleanup: bool) -> None:
        self.inner, self.after, self.cleanup, self.count = inner, after, cleanup, 0

    def write(self, rel: str, source: bytes | Path) -> str:
        if self.count == self.after:
            raise RuntimeError("killed mid-write")
        self.count += 1
        return self.inner.write(rel, source)

    def commit(self, manifest: ArtifactManifest) -> None:
        self.inner.commit(manifest)

    def abort(self) -> None:
        if self.cleanup:
            self.inner.abort()


def crash_after(
    monkeypatch: pytest.MonkeyPatch, store: ArtifactStore, after: int, *, cleanup: bool
) -> None:
    real = store._stage
    monkeypatch.setattr(store, "_stage", lambda aid: Crashing(real(aid), after, cleanup=cleanup))


# --- round trip ----------------------------------------------------------------------------------


def test_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    written = write(store)
    assert set(written.files) == set(FILES)
    assert written.files == {rel: hashlib.sha256(data).hexdigest() for rel, data in FILES.items()}
    assert store.read_manifest(written.artifact_id) == written
    for rel, data in FILES.items():
        assert store.read_file(written.artifact_id, rel) == data
    dest = tmp_path / "download"
    assert store.download(written.artifact_id, dest) == written
    assert (dest / "members" / "naive.json").read_bytes() == FILES["members/naive.json"]
    assert ArtifactManifest.from_json((dest / "manifest.json").read_bytes()) == written


def test_write_from_staging_folder(store: ArtifactStore, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    for rel, data in FILES.items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_bytes(data)
    artifact_id = store.new_id()
    written = store.write_artifact(artifact_id, staging, make_manifest(artifact_id))
    assert sorted(written.files) == sorted(FILES)
    assert store.read_file(artifact_id, "members/median.json") == FILES["members/median.json"]


def test_write_validates_its_input(store: ArtifactStore) -> None:
    aid = store.new_id()
    with pytest.raises(ValueError, match=r"not '"):
        store.write_artifact(aid, dict(FILES), make_manifest(store.new_id()))
    with pytest.raises(ValueError, match=r"members name files"):
        store.write_artifact(aid, {"members/naive.json": b"x"}, make_manifest(aid))
    with pytest.raises(ArtifactError, match=r"invalid relative path"):
        store.write_artifact(aid, {**FILES, "../escape": b"x"}, make_manifest(aid))
    with pytest.raises(ArtifactError, match=r"reserved"):
        store.write_artifact(aid, {**FILES, "manifest.json": b"{}"}, make_manifest(aid))
    with pytest.raises(ArtifactError, match=r"invalid artifact id"):
        store.read_manifest("../../etc")
    assert store.list_artifacts() == []


# --- immutability and half-written artefacts -----------------------------------------------------


def test_committed_artefacts_are_immutable(store: ArtifactStore) -> None:
    first = write(store)
    with pytest.raises(ArtifactError, match=r"already exists; artefacts are immutable"):
        store.write_artifact(
            first.artifact_id,
            dict.fromkeys(FILES, b"other"),
            make_manifest(first.artifact_id),
        )
    assert store.read_file(first.artifact_id, "members/naive.json") == FILES["members/naive.json"]


def test_immutable_even_when_the_existence_check_races(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit itself refuses (local: rename onto a committed folder; S3: If-None-Match)."""
    first = write(store)
    monkeypatch.setattr(store, "_has", lambda key: False)
    # a different manifest for the same id (an identical one is a retried commit: accepted)
    with pytest.raises(ArtifactError, match=r"already exists"):
        write(store, first.artifact_id, created_at=datetime(2026, 11, 30, tzinfo=UTC))
    monkeypatch.undo()
    assert store.read_manifest(first.artifact_id) == first


@pytest.mark.parametrize("cleanup", [True, False], ids=["exception", "kill"])
def test_a_crash_mid_write_commits_nothing(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch, cleanup: bool
) -> None:
    aid = store.new_id()
    crash_after(monkeypatch, store, 1, cleanup=cleanup)
    with pytest.raises(RuntimeError, match=r"killed"):
        write(store, aid)
    monkeypatch.undo()
    assert store.list_artifacts() == []
    with pytest.raises(ArtifactError, match=rf"artefact {aid} is incomplete|no artefact {aid}$"):
        store.read_manifest(aid)
    with pytest.raises(ArtifactError, match=r"no artefact or alias matches"):
        store.resolve(aid[:8])
    assert write(store, aid).artifact_id == aid  # the id can still be written
    assert [m.artifact_id for m in store.list_artifacts()] == [aid]


def test_a_folder_without_manifest_is_not_an_artefact(store: ArtifactStore) -> None:
    aid = store.new_id()
    store._put(f"artefacts/{aid}/members/naive.json", b"half")
    assert store.list_artifacts() == []
    with pytest.raises(ArtifactError, match=rf"artefact {aid} is incomplete \(no manifest.json"):
        store.read_manifest(aid)
    with pytest.raises(ArtifactError, match=r"no artefact or alias matches"):
        store.resolve(aid)
    write(store, aid)  # the leftovers are replaced by a complete write
    assert store.read_file(aid, "members/naive.json") == FILES["members/naive.json"]


def test_local_crash_leaves_only_invisible_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "store")
    aid = store.new_id()
    crash_after(monkeypatch, store, 1, cleanup=False)
    with pytest.raises(RuntimeError):
        write(store, aid)
    assert not (tmp_path / "store" / "artefacts" / aid).exists()
    assert next((tmp_path / "store" / ".staging").iterdir()).name.startswith(aid)
    assert store.list_artifacts() == []


def test_local_disk_full_commits_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(str(tmp_path / "store"))
    first = write(store)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ArtifactError, match=r"cannot write artefact .*: the disk is full"):
        write(store)
    with pytest.raises(ArtifactError, match=r"cannot write published/x.json: the disk is full"):
        store.put_bytes("published/x.json", b"{}")
    with pytest.raises(ArtifactError, match=r"the disk is full"):
        store.set_alias("production", first.artifact_id)
    monkeypatch.undo()
    assert [m.artifact_id for m in store.list_artifacts()] == [first.artifact_id]
    assert list((tmp_path / "store" / ".staging").iterdir()) == []
    assert store.get_alias("production") is None
    assert not (tmp_path / "store" / "published").exists() or not list(
        (tmp_path / "store" / "published").iterdir()
    )


# --- integrity -----------------------------------------------------------------------------------


def test_corruption_is_detected(store: ArtifactStore, tmp_path: Path) -> None:
    written = write(store)
    aid = written.artifact_id
    store._put(f"artefacts/{aid}/members/median.json", b'{"weeks": 9}\n')
    assert store.read_file(aid, "members/naive.json") == FILES["members/naive.json"]
    with pytest.raises(ArtifactIntegrityError, match=r"file members/median.json is corrupt"):
        store.read_file(aid, "members/median.json")
    dest = tmp_path / "download"
    with pytest.raises(ArtifactIntegrityError, match=r"members/median.json"):
        store.download(aid, dest)
    assert not (dest / "manifest.json").exists()
    with pytest.raises(ArtifactError, match=r"has no file 'nope.json'"):
        store.read_file(aid, "nope.json")


def test_missing_file_and_bad_manifest(store: ArtifactStore) -> None:
    good, bad = write(store), write(store)
    manifest = json.loads(store._get(f"artefacts/{good.artifact_id}/manifest.json") or b"")
    manifest["files"]["members/extra.bin"] = "0" * 64
    store._put(f"artefacts/{good.artifact_id}/manifest.json", json.dumps(manifest).encode())
    with pytest.raises(ArtifactIntegrityError, match=r"file members/extra.bin is missing"):
        store.read_file(good.artifact_id, "members/extra.bin")
    store._put(f"artefacts/{bad.artifact_id}/manifest.json", b"{not json")
    with pytest.raises(ArtifactIntegrityError, match=r"manifest.json is invalid: not valid JSON"):
        store.read_manifest(bad.artifact_id)
    assert [m.artifact_id for m in store.list_artifacts()] == [good.artifact_id]


def test_a_newer_schema_is_refused_clearly(store: ArtifactStore) -> None:
    aid = write(store).artifact_id
    data = json.loads(make_manifest(aid).to_json())
    store._put(
        f"artefacts/{aid}/manifest.json", json.dumps({**data, "schema_version": 99}).encode()
    )
    with pytest.raises(ArtifactError, match=r"schema version 99 is newer .*upgrade Flux"):
        store.read_manifest(aid)


# --- aliases, resolve, listing -------------------------------------------------------------------


def test_aliases_and_resolve(store: ArtifactStore) -> None:
    a = write(store, "20261129T100000Z-aaaa1111").artifact_id
    b = write(store, "20261129T100000Z-aaaa2222").artifact_id
    c = write(store, "20261130T090000Z-bbbb3333").artifact_id
    assert store.get_alias("production") is None
    store.set_alias("production", a)
    store.set_alias("staging", b)
    store.set_alias("production", c)  # moving an alias replaces it
    assert store.get_alias("production") == c
    assert store.aliases() == {"production": c, "staging": b}
    assert store.resolve(a) == a
    assert store.resolve("production") == c
    assert store.resolve("20261130") == c
    assert store.resolve("20261129T100000Z-aaaa2") == b
    with pytest.raises(ArtifactError, match=r"ambiguous: it starts 2 artefact ids"):
        store.resolve("20261129")
    with pytest.raises(ArtifactError, match=r"no artefact or alias matches 'nightly'"):
        store.resolve("nightly")
    with pytest.raises(ArtifactError, match=r"not a valid artefact id or alias name"):
        store.resolve("../production")
    with pytest.raises(ArtifactError, match=r"no artefact 20990101"):
        store.set_alias("production", "20990101T000000Z-00000000")
    with pytest.raises(ArtifactError, match=r"invalid alias name"):
        store.set_alias("../prod", a)
    assert store.get_alias("production") == c


def test_an_alias_to_a_missing_artefact_is_reported(store: ArtifactStore) -> None:
    store._put("aliases/production.json", b'{"artifact_id": "20990101T000000Z-00000000"}')
    with pytest.raises(ArtifactError, match=r"alias 'production' points at .*not a committed"):
        store.resolve("production")
    store._put("aliases/broken.json", b"[]")
    with pytest.raises(ArtifactIntegrityError, match=r"alias broken: aliases/broken.json"):
        store.get_alias("broken")


def test_listing_is_newest_first(store: ArtifactStore) -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    ids = {}
    for days in (2, 0, 5, 1):
        ids[days] = write(store, created_at=base + timedelta(days=days)).artifact_id
    store._put(f"artefacts/{store.new_id()}/members/naive.json", b"half-written")
    store._put("artefacts/not an id/manifest.json", b"{}")
    assert [m.artifact_id for m in store.list_artifacts()] == [ids[5], ids[2], ids[1], ids[0]]


def test_exports(store: ArtifactStore) -> None:
    store.put_bytes("published/2026-11-29/forecast.json", b"[1, 2]")
    store.put_bytes("published/2026-11-29/forecast.json", b"[3]")
    assert store.get_bytes("published/2026-11-29/forecast.json") == b"[3]"
    with pytest.raises(ArtifactError, match=r"published/2026-11-30/x.json not found"):
        store.get_bytes("published/2026-11-30/x.json")
    for key in ("artefacts/x/manifest.json", "aliases/production.json"):
        with pytest.raises(ArtifactError, match=r"reserved"):
            store.put_bytes(key, b"{}")
    for key in ("../outside", "/abs", "a//b", ".staging/x", "a\\b"):
        with pytest.raises(ArtifactError, match=r"invalid relative path"):
            store.put_bytes(key, b"x")


# --- an artefact written by an older Flux ---------------------------------------------------------


def test_a_stored_v1_artefact_still_loads(store: ArtifactStore, tmp_path: Path) -> None:
    load_v1_fixture(store)
    assert store.resolve("production") == V1_ID
    manifest = store.read_manifest(V1_ID)
    assert manifest.schema_version == SCHEMA_VERSION == 2
    assert manifest.levels == [80, 95]
    assert manifest.extra == {}
    assert manifest.horizon == 14 and manifest.freq == "D" and manifest.target == "covers"
    assert [m.name for m in manifest.members] == ["seasonal_naive", "weekday_median"]
    member = json.loads(store.read_file(V1_ID, "members/seasonal_naive.json"))
    assert member == {"model": "seasonal_naive", "season_length": 7}
    assert [m.artifact_id for m in store.list_artifacts()] == [V1_ID]
    saved = store.download(V1_ID, tmp_path / "v1")
    assert json.loads((tmp_path / "v1" / "manifest.json").read_text())["schema_version"] == 2
    assert saved == manifest


def test_the_v1_fixture_really_is_schema_1() -> None:
    raw = json.loads((FIXTURES / "v1" / "artefacts" / V1_ID / "manifest.json").read_text())
    assert raw["schema_version"] == 1
    assert "levels" not in raw and "extra" not in raw


# --- the manifest (pure) -------------------------------------------------------------------------


def test_manifest_json_round_trip() -> None:
    manifest = make_manifest(new_artifact_id())
    assert ArtifactManifest.from_json(manifest.to_json()) == manifest
    assert ArtifactManifest.from_json(manifest.to_json().encode()) == manifest
    assert json.loads(manifest.to_json())["schema_version"] == SCHEMA_VERSION


def test_manifest_is_frozen_and_strict() -> None:
    manifest = make_manifest(new_artifact_id())
    with pytest.raises(ValueError, match=r"frozen"):
        manifest.horizon = 3  # type: ignore[misc]
    data = json.loads(manifest.to_json())
    with pytest.raises(ManifestError, match=r"field 'colour'"):
        ArtifactManifest.from_json(json.dumps({**data, "colour": "red"}))
    with pytest.raises(ManifestError, match=r"field 'created_at'"):
        ArtifactManifest.from_json(json.dumps({**data, "created_at": "2026-01-01T00:00:00"}))
    with pytest.raises(ManifestError, match=r"field 'files"):
        ArtifactManifest.from_json(json.dumps({**data, "files": {"../x": "0" * 64}}))
    with pytest.raises(ManifestError, match=r"member names must be unique"):
        ArtifactManifest.from_json(json.dumps({**data, "members": data["members"][:1] * 2}))
    with pytest.raises(ManifestError, match=r"not a JSON object"):
        ArtifactManifest.from_json("[]")


def test_created_at_is_stored_in_utc() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 11, 29, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    manifest = make_manifest(new_artifact_id(), created_at=local)
    assert manifest.created_at == local and manifest.created_at.tzinfo == UTC


def test_upgrade_path() -> None:
    v1 = json.loads((FIXTURES / "v1" / "artefacts" / V1_ID / "manifest.json").read_text())
    up = upgrade(dict(v1))
    assert up["schema_version"] == 2 and up["levels"] == [80, 95] and up["extra"] == {}
    with pytest.raises(ManifestVersionError, match=r"newer than this Flux"):
        upgrade({**v1, "schema_version": SCHEMA_VERSION + 1})
    for bad in (None, "1", 0, True):
        with pytest.raises(ManifestVersionError, match=r"invalid schema_version"):
            upgrade({**v1, "schema_version": bad})


def test_ids_sort_by_time() -> None:
    early = new_artifact_id(datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC))
    late = new_artifact_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert early.startswith("20260101T235959Z-") and len(early) == 25
    assert early < late
    assert new_artifact_id() != new_artifact_id()


@pytest.mark.parametrize(
    "rel", ["", "/abs", "a/../b", "..", "a//b", ".hidden", "a/./b", "a\\b", "a b", "a/"]
)
def test_unsafe_relative_paths_are_refused(rel: str) -> None:
    with pytest.raises(ValueError, match=r"invalid relative path"):
        check_relpath(rel)


# --- choosing a store ----------------------------------------------------------------------------


def test_open_store_by_uri(tmp_path: Path, aws_env: None) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    local = open_store(f"file://{tmp_path}/a%20b")
    assert isinstance(local, LocalStore) and local.root == tmp_path / "a b"
    s3 = open_store("s3://my-bucket/flux/prod/")
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("my-bucket", "flux/prod")
    assert open_store("s3://my-bucket").uri == "s3://my-bucket"
    for bad in ("gs://bucket/x", "file://host/x", "s3://Bad_Bucket/x", "s3://b/../x", " "):
        with pytest.raises(ConfigError):
            open_store(bad)


def test_a_local_store_does_not_import_boto3(tmp_path: Path) -> None:
    code = (
        "import sys; from pipelines.io.artifacts import open_store; "
        f"open_store({str(tmp_path)!r}).list_artifacts(); "
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


# --- S3 failures ---------------------------------------------------------------------------------


def assert_no_secret(exc: BaseException) -> None:
    for secret in (SECRET_KEY, ACCESS_KEY, "hunter2"):
        assert secret not in str(exc) and secret not in repr(exc)


def test_s3_missing_bucket(moto_endpoint: str, aws_env: None) -> None:
    store = open_store("s3://flux-no-such-bucket/p", s3_endpoint_url=moto_endpoint, retry=FAST)
    with pytest.raises(ArtifactError, match=r"^s3://flux-no-such-bucket/p: .*does not exist") as e:
        store.list_artifacts()
    assert_no_secret(e.value)
    aid = store.new_id()
    with pytest.raises(ArtifactError, match=r"does not exist") as e:
        store.write_artifact(aid, dict(FILES), make_manifest(aid))
    assert_no_secret(e.value)


@pytest.mark.parametrize("userinfo", ["", "user:hunter2@"])
def test_s3_unreachable_endpoint_is_retried_then_reported(
    aws_env: None, userinfo: str, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = f"http://{userinfo}127.0.0.1:{free_port()}"  # nothing listens there
    store = open_store("s3://flux-bucket/p", s3_endpoint_url=endpoint, retry=FAST)
    with (
        caplog.at_level("WARNING", logger="pipelines.io.artifact_s3"),
        pytest.raises(ArtifactError, match=r"^s3://flux-bucket/p: .*gave up after 3 attempt") as e,
    ):
        store.read_manifest(store.new_id())
    assert_no_secret(e.value)
    assert "list-type" not in str(e.value)  # URL queries are dropped
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all("hunter2" not in m for m in retries)


def _client_error(code: str, status: int, operation: str = "Op") -> ClientError:
    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


def test_s3_throttling_is_retried(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store = s3_store
    written = write(store)
    real = store._client.get_object
    calls = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(kwargs["Key"])
        if len(calls) <= 2:
            raise _client_error("SlowDown", 503, "GetObject")
        return real(**kwargs)

    monkeypatch.setattr(store._client, "get_object", flaky)
    assert store.read_manifest(written.artifact_id) == written
    assert len(calls) == 3


def test_s3_retries_give_up_with_a_clear_error(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = s3_store

    def down(**kwargs: Any) -> Any:
        raise _client_error("InternalError", 500, "PutObject")

    monkeypatch.setattr(store._client, "put_object", down)
    with pytest.raises(ArtifactError, match=r"gave up after 3 attempt\(s\): InternalError") as e:
        store.put_bytes("published/x.json", b"{}")
    assert_no_secret(e.value)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_client_error("SlowDown", 503), True),
        (_client_error("Throttling", 400), True),
        (_client_error("RequestTimeout", 400), True),
        (_client_error("InternalError", 500), True),
        (_client_error("Whatever", 429), True),
        (_client_error("NoSuchBucket", 404), False),
        (_client_error("AccessDenied", 403), False),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (SSLError(endpoint_url="https://x", error=OSError("bad cert")), False),
        (ValueError("x"), False),
    ],
)
def test_which_errors_are_transient(exc: BaseException, expected: bool) -> None:
    assert is_transient(exc) is expected


def test_s3_store_at_bucket_root(bucket: str, moto_endpoint: str, moto_client: Any) -> None:
    store = open_store(f"s3://{bucket}", s3_endpoint_url=moto_endpoint, retry=FAST)
    written = write(store)
    keys = sorted(o["Key"] for o in moto_client.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted(f"artefacts/{written.artifact_id}/{k}" for k in [*FILES, "manifest.json"])
    assert store.list_artifacts() == [written]


def test_local_layout(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    written = write(store)
    store.set_alias("production", written.artifact_id)
    root = tmp_path / "store"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "aliases/production.json",
        *sorted(f"artefacts/{written.artifact_id}/{k}" for k in [*FILES, "manifest.json"]),
    ]
    alias = json.loads((root / "aliases" / "production.json").read_text())
    assert alias["artifact_id"] == written.artifact_id and "updated_at" in alias
