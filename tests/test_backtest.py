"""``flux backtest`` on imported data: outputs, run record, closures, determinism."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from models import columns as c
from models.base import Calendar
from models.spec import ModelSpec
from pipelines import evaluation
from pipelines.io import schema, series
from pipelines.io.db import Database
from pipelines.settings import Settings
from tests.conftest import load_generator
from tests.helpers import run_cli
from tests.synthetic_series import synthetic_series

START = dt.date(2025, 5, 1)
DAYS = 150


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five months of three restaurants (r01 Toast, r05 Revel with covers, r07 closed Mondays)."""
    out = tmp_path_factory.mktemp("bt_sample")
    load_generator().generate(
        out, start=START, days=DAYS, seed=5, restaurants=["r01", "r05", "r07"], scale=0.5
    )
    return out


@pytest.fixture
def imported(sqlite_settings: Settings, sample: Path) -> Settings:
    result = run_cli(sqlite_settings, ["import", str(sample)])
    assert result.exit_code == 0, result.stderr
    return sqlite_settings


def test_backtest_prints_table_writes_outputs_and_records_run(
    imported: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "bt"
    result = run_cli(
        imported,
        [
            "backtest",
            "--models",
            "seasonal_naive,weekday_median",
            "--folds",
            "2",
            "--horizon",
            "14",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "RMSLE" in result.stdout and "★" in result.stdout
    for name in (
        "backtest.parquet",
        "backtest.csv",
        "metrics.json",
        "metrics_overall.csv",
        "metrics_by_fold.csv",
        "metrics_by_restaurant.csv",
        "forecast_vs_actual.png",
        "error_by_step.png",
        "interval_coverage.png",
    ):
        assert (out / name).stat().st_size > 0, name
    frame = pd.read_parquet(out / "backtest.parquet")
    assert set(frame[c.MODEL]) == {"seasonal_naive", "weekday_median"}
    assert frame["fold"].nunique() == 2
    assert (frame[c.YHAT] >= 0).all()
    assert {"yhat_lower_80", "yhat_upper_95"} <= set(frame.columns)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"overall", "by_fold", "by_restaurant", "by_step"} <= set(metrics)
    db = Database(imported)
    with db.connect() as conn:
        runs = conn.execute(sa.select(schema.backtest_runs)).mappings().all()
    db.dispose()
    assert len(runs) == 1 and runs[0]["best_model"] in {"seasonal_naive", "weekday_median"}


def test_closed_days_are_neither_trained_on_nor_scored(imported: Settings, tmp_path: Path) -> None:
    db = Database(imported)
    with db.connect() as conn:
        calendar = series.read_calendar(conn)
        data = series.read_series(conn, c.COVERS, calendar=calendar)
    db.dispose()
    closed = calendar.closed_days("r07")
    assert len(closed) > 0
    r07 = data.data[data.data[c.RESTAURANT_ID] == "r07"]
    assert not r07[c.DS].isin(closed).any(), "closed days must be absent, never zeros"
    assert (data.data[c.Y] > 0).all()
    spec = evaluation.BacktestSpec(models=("weekday_median",), folds=2, model=ModelSpec(horizon=14))
    frame = evaluation.run_backtest(data, calendar, spec)
    scored = frame[frame[c.RESTAURANT_ID] == "r07"]
    assert len(scored) > 0
    assert not scored[c.DS].isin(closed).any()


def test_closure_event_on_a_day_with_sales_removes_it(imported: Settings) -> None:
    db = Database(imported)
    with db.connect() as conn:
        day = conn.execute(
            sa.select(sa.func.max(schema.demand_daily.c.business_date)).where(
                schema.demand_daily.c.restaurant_id == "r01"
            )
        ).scalar_one()
    with db.begin() as conn:
        conn.execute(
            sa.insert(schema.calendar_events).values(
                event_key="r01|closure|test|x",
                restaurant_id="r01",
                kind="closure",
                name="test",
                start_date=day,
                end_date=day,
                lower_window=0,
                upper_window=0,
            )
        )
    with db.connect() as conn:
        data = series.read_series(conn, c.COVERS, calendar=series.read_calendar(conn))
    db.dispose()
    r01 = data.data[data.data[c.RESTAURANT_ID] == "r01"]
    assert pd.Timestamp(day) not in set(r01[c.DS])


def test_backtest_is_deterministic_for_a_seed(imported: Settings) -> None:
    db = Database(imported)
    with db.connect() as conn:
        calendar = series.read_calendar(conn)
        data = series.read_series(conn, c.COVERS, calendar=calendar)
    db.dispose()
    spec = evaluation.BacktestSpec(
        models=("seasonal_naive", "xgboost"),
        folds=1,
        model=ModelSpec(
            horizon=14, seed=3, params={"xgboost": {"n_estimators": 40, "origins_span": 84}}
        ),
    )
    first = evaluation.run_backtest(data, calendar, spec)
    second = evaluation.run_backtest(data, calendar, spec)
    pd.testing.assert_frame_equal(first, second)


def test_bad_options_exit_2(imported: Settings) -> None:
    result = run_cli(imported, ["backtest", "--models", "nope"])
    assert result.exit_code == 2 and "unknown model" in result.stderr
    result = run_cli(imported, ["backtest", "--target", "visitors"])
    assert result.exit_code == 2 and "no 'visitors' data" in result.stderr


def test_bad_dates_are_usage_errors(imported: Settings) -> None:
    result = run_cli(imported, ["backtest", "--cutoff", "yesterday-ish"])
    assert result.exit_code == 2 and "--cutoff" in result.stderr
    result = run_cli(imported, ["predict", "--as-of", "nope"])
    assert result.exit_code == 2 and "--as-of" in result.stderr


def test_backtest_at_15min_scores_the_shape_against_the_slot_share_baseline(
    imported: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "bt15"
    args = ["backtest", "--freq", "15min", "--models", "seasonal_naive,weekday_median"]
    result = run_cli(imported, [*args, "--folds", "1", "--horizon", "7", "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "Intraday (15min)" in result.stdout
    assert "flux_shape" in result.stdout and "slot_share_baseline" in result.stdout
    table = pd.read_csv(out / "metrics_intraday.csv").set_index("method")
    daily = pd.read_parquet(out / "backtest.parquet")
    # Both methods split the same daily rows (the best model's; every model scores the same
    # days): every slot of every scored business day, 96 a day (no DST change in the window).
    days = daily[daily["model"] == "seasonal_naive"]
    assert set(table.index) == {"flux_shape", "slot_share_baseline"}
    assert (table["rows"] == len(days) * 96).all()
    # Summing slots into hours can only cancel errors: |a + b| <= |a| + |b|.
    assert ((table["wape_hourly"] > 0) & (table["wape_hourly"] <= table["wape_slot"])).all()


def test_partial_backtests_of_disjoint_restaurants_finish_as_one_run() -> None:
    """A sharded backtest's hosts stop before the conformal intervals; finishing their parts
    together pools their validation residuals per fit (refits every second fold here), as one
    local fit over all the restaurants does, while each shard's own calibration differs."""
    data = synthetic_series(4, 120, seed=3)
    spec = evaluation.BacktestSpec(
        models=("seasonal_naive", "weekday_median"),
        model=ModelSpec(horizon=14),
        folds=3,
        refit_every=2,
    )
    spec = replace(spec, cutoffs=tuple(evaluation.make_cutoffs(data, spec)))  # as the CLI fixes
    local = evaluation.run_backtest(data, Calendar(), spec)
    shards = [["r0", "r2"], ["r1", "r3"]]
    parts = [
        evaluation.partial_backtest(data.for_restaurants(ids), Calendar(), spec) for ids in shards
    ]
    assert not any(col.startswith("yhat_lower") for col in parts[0].frame)
    assert set(parts[0].validation[c.RESTAURANT_ID]) == {"r0", "r2"}
    pd.testing.assert_frame_equal(evaluation.finish_backtest(parts, spec, "D"), local)

    intervals = [col for col in local if col.startswith(("yhat_lower", "yhat_upper"))]
    assert len(intervals) == 4 and local[intervals].notna().all().all()
    alone = pd.concat(
        [evaluation.run_backtest(data.for_restaurants(ids), Calendar(), spec) for ids in shards]
    )
    alone = alone.sort_values([c.MODEL, "fold", c.RESTAURANT_ID, c.DS]).reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.drop(columns=intervals), local.drop(columns=intervals))
    assert not np.allclose(alone[intervals], local[intervals])


def test_a_shard_validates_on_as_many_windows_as_the_whole_fleet() -> None:
    """The calibrated models' validation windows depend on the rows validated on: 80
    restaurants' latest 14 days hold at least 1,000 rows (one window), 40 restaurants' fewer
    (three). The CLI fixes the fleet's count per origin for every host, so the shards' finished
    parts are the local run, where the shards' own choice would differ."""
    data = synthetic_series(80, 70, seed=5, closed_share=0.0)
    spec = evaluation.BacktestSpec(
        models=("weekday_median",), model=ModelSpec(horizon=14), folds=1, min_train_rows=14
    )
    fixed = evaluation.fix_origins(data, spec)
    # 70 days from 2024-01-01: the last is 2024-03-10; the origin leaves 14 days (2024-02-25)
    assert fixed.cutoffs == (pd.Timestamp("2024-02-25"),)
    assert fixed.validation_origins == (1,)  # 80 x 14 = 1,120 rows (r0 closed on Mondays: 1,118)
    local = evaluation.run_backtest(data, Calendar(), spec)
    shards = [[f"r{i}" for i in range(k, 80, 2)] for k in (0, 1)]
    parts = [
        evaluation.partial_backtest(data.for_restaurants(ids), Calendar(), fixed) for ids in shards
    ]
    pd.testing.assert_frame_equal(evaluation.finish_backtest(parts, fixed, "D"), local)
    own = [
        evaluation.partial_backtest(
            data.for_restaurants(ids), Calendar(), replace(fixed, validation_origins=None)
        )
        for ids in shards
    ]
    # up to three windows, but the 56 training days (2024-01-01 .. 02-25) leave room for two:
    # a third would start on 01-14, with 13 days (under 14) of history before it
    assert own[0].validation["ds"].nunique() == 2 * 14
    assert parts[0].validation["ds"].nunique() == 14
    intervals = ["yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    theirs = evaluation.finish_backtest(own, fixed, "D")
    assert not np.allclose(theirs[intervals], local[intervals])
