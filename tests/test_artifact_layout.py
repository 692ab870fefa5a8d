"""What a trained artefact holds, from one owner (pipelines.io.artifacts): the shards' files, the
shard map, and a manifest whose members name the files each model declared, for a local run
(one shard) and a SageMaker run (one shard per host) alike. Pure: no model is fitted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from models.spec import ModelSpec
from pipelines.errors import ArtifactIntegrityError
from pipelines.fitting import TrainConfig, Trained
from pipelines.io import artifacts
from pipelines.io.artifacts import open_store

ARTIFACT_ID = "20261129T143000Z-1a2b3c4d"
# ``oddball`` is a member no registry knows: the layout must not care (no validation here)
CONFIG = TrainConfig(
    spec=ModelSpec.model_construct(
        **(ModelSpec(horizon=14).__dict__ | {"members": ("prophet", "oddball", "seasonal_naive")})
    )
)


def trained(*restaurants: str, start: str = "2026-01-01", end: str = "2026-06-30") -> Trained:
    """A shard's fit: its ensemble files, with each member's own files as the member named them
    (``oddball`` keeps its file where no naming rule would guess it)."""
    own = {f"prophet/{r}.json": b"{}" for r in restaurants}
    return Trained(
        files={"ensemble.json": b"{}", "residuals.json": b"[]", "odd/place.bin": b"x", **own},
        member_files={"prophet": sorted(own), "oddball": ["odd/place.bin"], "seasonal_naive": []},
        restaurants=list(restaurants),
        failed={},
        weights={"chosen": "inverse_rmsle"},
        validation_metrics={"member_rmsle": {"prophet": 0.3, "seasonal_naive": 0.4}},
        training_start=start,
        training_end=end,
        fingerprint="f" * 32,
        member_params={"prophet": {"log1p": True}},
    )


def test_a_local_artefact_lists_the_files_each_member_declared(tmp_path: Path) -> None:
    shards = {artifacts.LOCAL_SHARD: replace(trained("r1", "r2"), failed={"r3": "too short"})}
    manifest = artifacts.build_manifest(
        ARTIFACT_ID, CONFIG, shards, trained_on="local", fingerprint="abc", extra={"seed": 1}
    )
    assert {m.name: m.files for m in manifest.members} == {
        "prophet": ["shards/local/prophet/r1.json", "shards/local/prophet/r2.json"],
        "oddball": ["shards/local/odd/place.bin"],
        "seasonal_naive": [],
    }
    assert manifest.members[0].params == {"log1p": True}
    assert manifest.weights == {"chosen": "inverse_rmsle"}  # one shard: as it is
    assert manifest.extra == {"failed": {"r3": "too short"}, "seed": 1}
    assert manifest.data_fingerprint == "abc" and manifest.restaurants == ["r1", "r2"]

    files = artifacts.artifact_files(shards)
    assert json.loads(files[artifacts.SHARDS_FILE]) == {"r1": "local", "r2": "local"}
    record = json.loads(files["shards/local/trained.json"])
    assert record["host"] == "local" and record["member_files"]["oddball"] == ["odd/place.bin"]

    store = open_store(str(tmp_path / "store"))
    store.write_artifact(ARTIFACT_ID, files, manifest)
    stored = store.read_manifest(ARTIFACT_ID)
    assert artifacts.read_shard_map(store, ARTIFACT_ID) == {"r1": "local", "r2": "local"}
    reads: list[str] = []
    real = store.read_manifest
    store.read_manifest = lambda artifact_id: reads.append(artifact_id) or real(artifact_id)  # type: ignore[method-assign]
    shard = artifacts.read_shard_files(store, stored, artifacts.LOCAL_SHARD)
    assert set(shard) == {*shards["local"].files, artifacts.TRAINED_FILE}
    assert reads == []  # each file checked against the manifest given, not one read per file


def test_hosts_shards_merge_into_the_same_layout_with_per_host_facts() -> None:
    one, two = trained("r1", "r3", start="2026-01-05"), trained("r2", end="2026-07-01")
    written = {
        "algo-1": artifacts.shard_files(one, "algo-1"),
        "algo-2": artifacts.shard_files(two, "algo-2"),
    }
    shards = artifacts.merge_shards(written)  # what the CLI reads back from the hosts
    assert shards == {"algo-1": one, "algo-2": two}
    manifest = artifacts.build_manifest(
        ARTIFACT_ID, CONFIG, shards, trained_on="sagemaker", fingerprint="all", extra={}
    )
    assert manifest.weights == {"algo-1": one.weights, "algo-2": two.weights}
    assert set(manifest.backtest_metrics) == {"algo-1", "algo-2"}
    assert (
        manifest.training_start.date().isoformat(),
        manifest.training_end.date().isoformat(),
    ) == (
        "2026-01-01",
        "2026-07-01",
    )
    assert manifest.members[1].files == [
        "shards/algo-1/odd/place.bin",
        "shards/algo-2/odd/place.bin",
    ]
    files = artifacts.artifact_files(shards)
    assert json.loads(files["shards.json"]) == {"r1": "algo-1", "r2": "algo-2", "r3": "algo-1"}


def test_a_restaurant_in_two_shards_or_an_incomplete_record_is_refused() -> None:
    with pytest.raises(ValueError, match="restaurant r1 was trained by both local and other"):
        artifacts.artifact_files({"local": trained("r1"), "other": trained("r1", "r2")})
    written = artifacts.shard_files(trained("r1"), "algo-1")
    record = json.loads(written["trained.json"])
    del record["member_files"]
    old = {**written, "trained.json": json.dumps(record).encode()}
    with pytest.raises(ValueError, match=r"trained\.json lacks member_files"):
        artifacts.merge_shards({"algo-1": old})


def test_a_corrupt_shard_map_is_an_integrity_error(tmp_path: Path) -> None:
    shards = {"local": trained("r1")}
    manifest = artifacts.build_manifest(
        ARTIFACT_ID, CONFIG, shards, trained_on="local", fingerprint="f", extra={}
    )
    files = {**artifacts.artifact_files(shards), artifacts.SHARDS_FILE: b"[1, 2]"}
    store = open_store(str(tmp_path))
    store.write_artifact(ARTIFACT_ID, files, manifest)
    with pytest.raises(ArtifactIntegrityError, match=r"shards\.json is not a JSON object"):
        artifacts.read_shard_map(store, ARTIFACT_ID)
