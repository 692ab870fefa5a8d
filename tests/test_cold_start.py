"""Cold start: restaurants with fewer than 14 days of history are forecast from the global model
and their peers (same country, POS provider, size band), marked, and scored as their own group."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import cold_start
from models import columns as c
from models.base import Calendar
from models.frames import SERVED_BY, SeriesFrame
from models.spec import ModelSpec
from pipelines import evaluation, predict, train
from pipelines.errors import UsageError
from pipelines.settings import Settings
from tests.conftest import load_generator
from tests.helpers import run_cli

WEEK = np.array([1.0, 1, 1, 1, 1, 2, 2])  # Mon..Sun: the weekend sells twice a weekday
START = pd.Timestamp("2025-01-06")  # a Monday


def _rows(rid: str, level: float, days: int, start: pd.Timestamp = START) -> pd.DataFrame:
    ds = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame({c.RESTAURANT_ID: rid, c.DS: ds, c.Y: level * WEEK[ds.day_of_week]})


def _fleet() -> tuple[SeriesFrame, Calendar]:
    """Five established restaurants (28 days, weekday levels 10, 20, 40, 80, 160) and ``new``
    (7 days, weekday level 35); ``c`` uses another POS provider."""
    levels = {"a": 10.0, "b": 20.0, "c": 40.0, "d": 80.0, "e": 160.0}
    parts = [_rows(rid, level, 28) for rid, level in levels.items()]
    parts.append(_rows("new", 35.0, 7, START + pd.Timedelta(days=21)))
    meta = pd.DataFrame(
        {
            c.RESTAURANT_ID: [*levels, "new"],
            c.COUNTRY: "US",
            c.SUBDIVISION: None,
            c.POS_PROVIDER: ["toast", "toast", "square", "toast", "toast", "toast"],
        }
    )
    return SeriesFrame.from_frame(pd.concat(parts)), Calendar(restaurants=meta)


def test_cold_restaurants_are_those_under_14_days() -> None:
    series, _ = _fleet()
    assert cold_start.cold_restaurants(series) == ["new"]
    assert cold_start.cold_restaurants(series, min_days=29) == ["a", "b", "c", "d", "e", "new"]


def test_peers_share_the_size_band_and_relax_provider_then_everything() -> None:
    series, calendar = _fleet()
    # Means over a week are level * 9/7: a 12.9, b 25.7, c 51.4, d 102.9, e 205.7; new 45.0.
    # Band edges: log1p quantiles at 1/3 (position 4/3: between b and c, log1p = 3.285 +
    # 0.674/3 = 3.510, i.e. 32.4) and 2/3 (between c and d): bands a, b | c | d, e; new (45.0)
    # is in c's band. c uses square, new toast: no peer shares all three, so the provider is
    # dropped and c is the one peer on (country, band).
    found = cold_start.peers(series, calendar, ["new"], min_peers=1)
    assert found.members == {"new": ["c"]}
    assert found.matched_on == {"new": (c.COUNTRY, "band")}
    # With 3 peers needed, one band is too few: the whole established fleet serves.
    wide = cold_start.peers(series, calendar, ["new"])
    assert wide.members == {"new": ["a", "b", "c", "d", "e"]}
    assert wide.matched_on == {"new": ()}


def test_peer_forecast_is_own_level_times_peer_shape_and_baseline_is_peer_mean() -> None:
    series, calendar = _fleet()
    found = cold_start.peers(series, calendar, ["new"], min_peers=1)
    keys = pd.DataFrame(
        {c.RESTAURANT_ID: "new", c.DS: pd.to_datetime(["2025-02-03", "2025-02-08"])}
    )  # a Monday and a Saturday
    # c's shape: weekday 40 / (40 * 9/7) = 7/9, weekend 14/9. new's level: 35 / (7/9) = 45 on
    # weekdays and 70 / (14/9) = 45 at the weekend, so Monday 45 * 7/9 = 35, Saturday 70.
    np.testing.assert_allclose(cold_start.peer_forecast(series, found, keys), [35.0, 70.0])
    # The baseline ignores new's own days: c's Monday mean 40, Saturday mean 80.
    np.testing.assert_allclose(cold_start.peer_median(found, keys), [40.0, 80.0])


def test_blend_is_the_log1p_mean_or_the_peer_forecast_alone() -> None:
    # expm1((log 4 + log 16) / 2) = expm1(log 8) = 7; no global forecast: the peer's 30.
    out = cold_start.blend(np.array([3.0, np.nan]), np.array([15.0, 30.0]))
    np.testing.assert_allclose(out, [7.0, 30.0])


def test_no_established_restaurant_is_an_error() -> None:
    series = SeriesFrame.from_frame(_rows("new", 35.0, 7))
    with pytest.raises(ValueError, match="no restaurant has 14 days"):
        cold_start.peers(series, Calendar(), ["new"])


# --- through train/predict and backtest -----------------------------------------------------------

FAST = {"xgboost": {"n_estimators": 40, "origins_span": 84}}
GEN_START = dt.date(2025, 5, 1)
GEN_DAYS = 120


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four months of three restaurants, plus ``r98`` (toast, the last 7 days only) and ``r99``
    (toast, the last 21 days) imported as a pre-aggregated covers series."""
    out = tmp_path_factory.mktemp("cold_sample")
    load_generator().generate(
        out, start=GEN_START, days=GEN_DAYS, seed=5, restaurants=["r01", "r05", "r07"], scale=0.5
    )
    last = pd.Timestamp(GEN_START) + pd.Timedelta(days=GEN_DAYS - 1)
    extra = out / "extra"
    extra.mkdir()
    pd.DataFrame(
        {
            c.RESTAURANT_ID: ["r98", "r99"],
            c.NAME: ["New One", "New Two"],
            c.TIMEZONE: "America/New_York",
            c.COUNTRY: "US",
            c.CUTOFF_HOUR: 4,
            c.POS_PROVIDER: "toast",
            c.CURRENCY: "USD",
        }
    ).to_csv(extra / "restaurants.csv", index=False)
    days = {"r98": 7, "r99": 21}
    rows = [
        _rows(rid, 30.0, n, last - pd.Timedelta(days=n - 1)).assign(target=c.COVERS)
        for rid, n in days.items()
    ]
    frame = pd.concat(rows).rename(columns={c.DS: c.DATE, c.Y: c.VALUE})
    frame[c.DATE] = frame[c.DATE].dt.date
    frame.to_csv(extra / "series.csv", index=False)
    return out


@pytest.fixture
def imported(sqlite_settings: Settings, sample: Path) -> Settings:
    result = run_cli(sqlite_settings, ["import", str(sample)])
    assert result.exit_code == 0, result.stderr
    for args in (
        ["import", str(sample / "extra" / "restaurants.csv"), "--format", "restaurants"],
        ["import", str(sample / "extra" / "series.csv"), "--format", "series"],
    ):
        result = run_cli(sqlite_settings, args)
        assert result.exit_code == 0, result.stderr
    return sqlite_settings


def test_predict_forecasts_a_restaurant_of_seven_days_marked_cold_start(
    imported: Settings,
) -> None:
    trained = train.run(
        train.TrainRequest(spec=ModelSpec(horizon=14, seed=1, params=FAST)), imported
    )
    assert "r98" in trained.manifest.restaurants
    result = run_cli(imported, ["predict", "--artifact", trained.artifact_id, "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["fallbacks"]["r98"] == cold_start.COLD_START
    rows = predict.run(predict.PredictRequest(artifact=trained.artifact_id), imported).forecasts
    new = rows[rows[c.RESTAURANT_ID] == "r98"]
    assert len(new) == 14
    assert (new[SERVED_BY] == cold_start.COLD_START).all()
    assert np.isfinite(new[c.YHAT]).all() and (new[c.YHAT] > 0).all()
    assert (new["yhat_lower_80"] <= new[c.YHAT]).all()
    assert (new[c.YHAT] <= new["yhat_upper_80"]).all()
    others = rows[rows[c.RESTAURANT_ID] != "r98"]
    assert not (others[SERVED_BY] == cold_start.COLD_START).any()


def test_predict_forecasts_a_new_restaurant_the_artefact_has_no_model_of_from_its_peers(
    imported: Settings,
) -> None:
    # Trained before r98 (7 days) and r99 (21 days) were known: r98 is new and cold, so it is
    # forecast from its peers; r99 has 14 days or more, so it needs a model (not in the artefact).
    trained = train.run(
        train.TrainRequest(
            spec=ModelSpec(horizon=14, seed=1, params=FAST),
            restaurants=frozenset({"r01", "r05", "r07"}),
        ),
        imported,
    )
    assert sorted(trained.manifest.restaurants) == ["r01", "r05", "r07"]
    result = predict.run(predict.PredictRequest(artifact=trained.artifact_id), imported)
    rows = result.forecasts
    new = rows[rows[c.RESTAURANT_ID] == "r98"]
    assert len(new) == 14 and (new[SERVED_BY] == cold_start.COLD_START).all()
    assert np.isfinite(new[c.YHAT]).all() and (new[c.YHAT] > 0).all()
    assert "r99" not in set(rows[c.RESTAURANT_ID])
    assert "r99" in result.left_out and "r98" not in result.left_out
    assert not (rows.loc[rows[c.RESTAURANT_ID] != "r98", SERVED_BY] == cold_start.COLD_START).any()
    # asked for by name with a peer, the new restaurant is forecast; alone, it has no peers
    pair = predict.run(
        predict.PredictRequest(artifact=trained.artifact_id, restaurants=frozenset({"r98", "r05"})),
        imported,
    ).forecasts
    assert set(pair[c.RESTAURANT_ID]) == {"r98", "r05"}
    with pytest.raises(UsageError, match="has no model for r98"):
        predict.run(
            predict.PredictRequest(artifact=trained.artifact_id, restaurants=frozenset({"r98"})),
            imported,
        )


def test_backtest_scores_cold_start_restaurants_as_their_own_group(
    imported: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "bt"
    shown = run_cli(
        imported,
        [
            "backtest",
            "--models",
            "seasonal_naive,ensemble",
            "--folds",
            "1",
            "--horizon",
            "14",
            "--set",
            "ensemble.members=xgboost,weekday_median",
            "--set",
            "models.xgboost.n_estimators=40",
            "--output",
            str(out),
        ],
    )
    assert shown.exit_code == 0, shown.stderr
    assert "By group" in shown.stdout and "cold_start" in shown.stdout
    assert "r98" in shown.stderr  # left out: no day before the cutoff
    frame = pd.read_parquet(out / "backtest.parquet")
    # r99 has 21 days: 7 before the cutoff (14 days before the end), 14 to score.
    r99 = frame[frame[c.RESTAURANT_ID] == "r99"]
    assert r99[cold_start.COLD_START].all()
    assert set(r99[c.MODEL]) == {"seasonal_naive", "ensemble"}
    ens = r99[r99[c.MODEL] == "ensemble"]
    assert len(ens) == 14 and (ens[SERVED_BY] == cold_start.COLD_START).all()
    assert not frame.loc[frame[c.RESTAURANT_ID] != "r99", cold_start.COLD_START].any()
    groups = pd.read_csv(out / "metrics_by_group.csv")
    ens_groups = groups[groups[c.MODEL] == "ensemble"].set_index(evaluation.GROUP)
    assert int(ens_groups.loc[cold_start.COLD_START, "n"]) == 14
    established = (frame[c.MODEL] == "ensemble") & ~frame[cold_start.COLD_START]
    assert int(ens_groups.loc[evaluation.ESTABLISHED, "n"]) == int(established.sum())
