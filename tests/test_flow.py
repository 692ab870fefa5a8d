"""The whole flow: import -> train -> predict -> publish, on SQLite with a local store and on
PostgreSQL with S3 (moto's server); idempotent reruns; kills leave no half-written state;
restaurant-scoped steps touch only that restaurant."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from models.spec import ModelSpec
from pipelines import fitting, publish, train
from pipelines.io import artifacts, forecasts, schema
from pipelines.io.db import Database
from pipelines.settings import Settings, load_settings
from tests.conftest import load_generator
from tests.helpers import run_cli

FAST = {"xgboost": {"n_estimators": 40, "origins_span": 84}}
START = dt.date(2025, 4, 1)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flow_sample")
    load_generator().generate(
        out, start=START, days=150, seed=8, restaurants=["r01", "r05", "r07"], scale=0.4
    )
    return out


def _train(settings: Settings, restaurants: frozenset[str] | None = None) -> train.TrainResult:
    return train.run(
        train.TrainRequest(
            spec=ModelSpec(horizon=14, seed=1, params=FAST), restaurants=restaurants
        ),
        settings,
    )


def _flow(settings: Settings, sample: Path) -> str:
    assert run_cli(settings, ["import", str(sample)]).exit_code == 0
    artifact = _train(settings).artifact_id
    result = run_cli(settings, ["predict", "--artifact", artifact, "--json"])
    assert result.exit_code == 0, result.stderr
    published = run_cli(settings, ["publish", "--force", "test data", "--json"])
    assert published.exit_code == 0, published.stderr
    return artifact


def _published(settings: Settings) -> pd.DataFrame:
    db = Database(settings)
    with db.connect() as conn:
        frame = pd.read_sql(
            sa.select(schema.published_forecasts).order_by("restaurant_id", "ds"), conn
        )
    db.dispose()
    return frame


def test_flow_on_sqlite_with_local_store(sqlite_settings: Settings, sample: Path) -> None:
    artifact = _flow(sqlite_settings, sample)
    table = _published(sqlite_settings)
    assert set(table["restaurant_id"]) == {"r01", "r05", "r07"}
    assert (table["yhat"] >= 0).all()
    store = artifacts.open_artifacts(sqlite_settings)
    assert store.get_alias("production") == artifact
    assert any(
        k.endswith(".parquet")
        for k in (
            p.relative_to(Path(sqlite_settings.resolved_artifacts_uri)).as_posix()
            for p in Path(sqlite_settings.resolved_artifacts_uri).rglob("*")
        )
    )


@pytest.mark.postgres
def test_flow_on_postgres_with_s3(
    pg_url: str, sample: Path, tmp_path: Path, moto_endpoint: str, aws_env: None
) -> None:
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket="flux-flow")
    settings = load_settings(
        home=tmp_path / "home",
        database_url=pg_url,
        artifacts_uri="s3://flux-flow/team",
        s3_endpoint_url=moto_endpoint,
    )
    artifact = _flow(settings, sample)
    assert len(_published(settings)) > 0
    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=moto_endpoint).list_objects_v2(Bucket="flux-flow")[
            "Contents"
        ]
    ]
    assert any(k.startswith(f"team/artefacts/{artifact}/") for k in keys)
    assert any(k.startswith("team/published/") for k in keys)


def test_reruns_are_idempotent(sqlite_settings: Settings, sample: Path) -> None:
    first = _flow(sqlite_settings, sample)
    published = _published(sqlite_settings)
    db = Database(sqlite_settings)
    with db.connect() as conn:
        counts = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (schema.forecast_runs, schema.forecasts, schema.published_forecasts)
        }
    second = _train(sqlite_settings).artifact_id
    for artifact in (first, first, second):
        assert run_cli(sqlite_settings, ["predict", "--artifact", artifact]).exit_code == 0
    with db.connect() as conn:
        forecasts = pd.read_sql(sa.select(schema.forecasts), conn)
    runs = forecasts.groupby("forecast_run_id")
    assert runs.ngroups == 2  # one per artefact: reruns replaced, never duplicated
    a, b = (g.sort_values(["restaurant_id", "ds"])["yhat"].to_numpy() for _, g in runs)
    assert (a == b).all(), "same inputs and seed must give identical forecasts"
    assert run_cli(sqlite_settings, ["publish", "--force", "rerun"]).exit_code == 0
    again = _published(sqlite_settings)
    pd.testing.assert_series_equal(published["yhat"], again["yhat"])
    with db.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(schema.published_forecasts)
            ).scalar_one()
            == counts["published_forecasts"]
        )
    db.dispose()


def test_killed_train_leaves_no_artefact(
    sqlite_settings: Settings, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(sqlite_settings, ["import", str(sample)]).exit_code == 0
    store = artifacts.open_artifacts(sqlite_settings)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fitting, "fit_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _train(sqlite_settings)
    assert store.list_artifacts() == []
    db = Database(sqlite_settings)
    with db.connect() as conn:
        status = conn.execute(sa.select(schema.train_runs.c.status)).scalars().all()
    db.dispose()
    assert status == ["failed"]


def test_killed_publish_keeps_previous_publication(
    sqlite_settings: Settings, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _flow(sqlite_settings, sample)
    before = _published(sqlite_settings)
    assert run_cli(sqlite_settings, ["predict", "--as-of", "2025-08-10"]).exit_code == 0
    real = forecasts.publish

    def dies_midway(conn: sa.Connection, frame: pd.DataFrame) -> None:
        real(conn, frame.iloc[: len(frame) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(forecasts, "publish", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        publish.run(publish.PublishRequest(force_reason="test"), sqlite_settings)
    pd.testing.assert_frame_equal(_published(sqlite_settings), before)


def test_restaurant_scope_touches_only_that_restaurant(
    sqlite_settings: Settings, sample: Path
) -> None:
    _flow(sqlite_settings, sample)
    from tests.helpers import checksums

    def others() -> dict[str, str]:
        sums = checksums(sqlite_settings, exclude="r05")
        db = Database(sqlite_settings)
        with db.connect() as conn:
            for table in (schema.forecasts, schema.published_forecasts):
                rows = conn.execute(sa.select(table).where(table.c.restaurant_id != "r05"))
                sums[table.name] = repr(sorted(repr(tuple(r)) for r in rows))
        db.dispose()
        return sums

    before = others()
    scoped = _train(sqlite_settings, frozenset({"r05"}))
    assert scoped.manifest.restaurants == ["r05"]
    result = run_cli(
        sqlite_settings,
        ["predict", "--artifact", scoped.artifact_id, "--restaurant", "r05", "--json"],
    )
    assert result.exit_code == 0, result.stderr
    assert (
        run_cli(sqlite_settings, ["publish", "--restaurant", "r05", "--force", "support"]).exit_code
        == 0
    )
    assert others() == before
    assert json.loads(result.stdout)["rows"] > 0


def test_gate_refuses_without_force(sqlite_settings: Settings, sample: Path) -> None:
    assert run_cli(sqlite_settings, ["import", str(sample)]).exit_code == 0
    _train(sqlite_settings)
    assert run_cli(sqlite_settings, ["predict"]).exit_code == 0
    result = run_cli(sqlite_settings, ["publish", "--margin", "0.99"])
    assert result.exit_code == 2
    assert "publish refused" in result.stderr and "--force" in result.stderr
    assert _published(sqlite_settings).empty


def test_gates_read_per_host_metrics_of_a_sagemaker_artefact() -> None:
    good = {"member_rmsle": {"seasonal_naive": 0.6}, "heldout_rmsle": {"auto": 0.5}}
    bad = {"member_rmsle": {"seasonal_naive": 0.6}, "heldout_rmsle": {"auto": 0.7}}
    rids = {"r01"}
    assert publish.check_gates(good, rids, rids, 0.0) == {}
    assert publish.check_gates({"algo-1": good, "algo-2": good}, rids, rids, 0.0) == {}
    failed = publish.check_gates({"algo-1": good, "algo-2": bad}, rids, rids, 0.0)
    assert list(failed) == ["beats_seasonal_naive"]
    assert failed["beats_seasonal_naive"].startswith("algo-2: ensemble RMSLE 0.7000")
    assert (
        "no validation metrics" in publish.check_gates({}, rids, rids, 0.0)["beats_seasonal_naive"]
    )
    assert publish.check_gates(good, {"r01", "r02"}, rids, 0.0) == {
        "no_restaurant_missing": "no forecast for r02"
    }


def test_quantiles_in_predict_output_and_publish_export(
    sqlite_settings: Settings, sample: Path, tmp_path: Path
) -> None:
    assert run_cli(sqlite_settings, ["import", str(sample)]).exit_code == 0
    artifact = _train(sqlite_settings).artifact_id
    bad = run_cli(sqlite_settings, ["predict", "--artifact", artifact, "--quantiles", "0.1,1.5"])
    assert bad.exit_code == 2
    assert "--quantiles" in bad.stderr
    outside = run_cli(sqlite_settings, ["predict", "--artifact", artifact, "--quantiles", "0.01"])
    assert outside.exit_code == 2
    assert "0.025..0.975" in outside.stderr
    for freq in ("15min", "D"):  # the daily run last: publish takes the newest run
        path = tmp_path / f"q_{freq}.csv"
        args = ["--freq", freq, "--quantiles", "0.9,0.1,0.5", "--output", str(path)]
        result = run_cli(sqlite_settings, ["predict", "--artifact", artifact, *args])
        assert result.exit_code == 0, result.stderr
        out = pd.read_csv(path)
        assert len(out) > 0
        assert (out["yhat_q10"] == out["yhat_lower_80"]).all()
        assert (out["yhat_q90"] == out["yhat_upper_80"]).all()
        # Slots keep the day's exact sum by moving the float remainder onto yhat's largest slot.
        np.testing.assert_allclose(out["yhat_q50"], out["yhat"], rtol=1e-9, atol=1e-9)
        assert (out["yhat_q10"] <= out["yhat_q50"]).all()
        assert (out["yhat_q50"] <= out["yhat_q90"]).all()
    published = run_cli(sqlite_settings, ["publish", "--force", "test data", "--json"])
    assert published.exit_code == 0, published.stderr
    keys = json.loads(published.stdout)["exports"]
    store = artifacts.open_artifacts(sqlite_settings)
    exported = pd.read_json(
        io.BytesIO(store.get_bytes(next(k for k in keys if k.endswith(".json"))))
    )
    assert (exported["yhat_q10"] == exported["lower"]).all()
    assert (exported["yhat_q90"] == exported["upper"]).all()
    assert (exported["yhat_q50"] == exported["yhat"]).all()
