"""``flux monitor``: published forecasts against the actuals that arrived after them.

One small database is built once: three restaurants imported, an artefact trained only on data
up to a past cutoff (as if trained that day), a forecast predicted and published as of that
cutoff, so the actuals of the forecast days are already in the database. Each test works on a
copy of it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from flux_cli import logs
from models.ensemble import EnsembleForecaster
from models.metrics import rmsle
from models.spec import ModelSpec
from pipelines import monitor, train
from pipelines.errors import EXIT_PARTIAL, EXIT_USAGE
from pipelines.fitting import validation_metrics
from pipelines.io import artifacts, schema, series
from pipelines.io.db import Database
from pipelines.settings import Settings, load_settings
from tests.conftest import load_generator
from tests.helpers import run_cli
from tests.synthetic_series import synthetic_series

RESTAURANTS = ("r01", "r05", "r07")
START = dt.date(2025, 4, 1)
DAYS = 150
CUTOFF = START + dt.timedelta(days=121)  # trained and forecast as of this day
HORIZON = 28
FAST = {"xgboost": {"n_estimators": 40, "origins_span": 84}}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A home folder with a publication as of CUTOFF and actuals after it; the artefact id."""
    root = tmp_path_factory.mktemp("monitor")
    sample = load_generator().generate(
        root / "sample", start=START, days=DAYS, seed=8, restaurants=list(RESTAURANTS), scale=0.4
    )
    settings = load_settings(home=root / "home")
    assert run_cli(settings, ["import", str(sample)]).exit_code == 0
    logs.configure(0)  # the CLI run bound logging to its own, now closed, stderr
    real = series.read_series

    def until_cutoff(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **{**kwargs, "end": CUTOFF})

    with pytest.MonkeyPatch.context() as mp:  # the model sees nothing after the cutoff
        mp.setattr(series, "read_series", until_cutoff)
        trained = train.run(
            train.TrainRequest(spec=ModelSpec(horizon=HORIZON, seed=1, params=FAST)), settings
        )
    assert trained.manifest.training_end.date() == CUTOFF
    artifact = trained.artifact_id
    predicted = run_cli(settings, ["predict", "--artifact", artifact, "--as-of", str(CUTOFF)])
    assert predicted.exit_code == 0, predicted.stderr
    published = run_cli(settings, ["publish", "--force", "monitor test data"])
    assert published.exit_code == 0, published.stderr
    return root / "home", artifact


@pytest.fixture
def settings(built: tuple[Path, str], tmp_path: Path) -> Settings:
    """Settings on a private copy of the built home folder."""
    home = shutil.copytree(built[0], tmp_path / "home")
    return load_settings(home=home)


def _monitor(settings: Settings, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(settings, ["monitor", "--json", *args])
    payload = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, payload, result.stderr


def _execute(settings: Settings, sql: str) -> None:
    db = Database(settings)
    with db.begin() as conn:
        conn.execute(sa.text(sql))
    db.dispose()


def _observed_by_hand(settings: Settings, restaurant: str) -> float:
    """RMSLE of the published forecast against demand_daily, read straight from the tables."""
    db = Database(settings)
    with db.connect() as conn:
        pub = pd.read_sql(
            sa.select(schema.published_forecasts).where(
                schema.published_forecasts.c.restaurant_id == restaurant
            ),
            conn,
        )
        actual = pd.read_sql(
            sa.select(schema.demand_daily).where(schema.demand_daily.c.restaurant_id == restaurant),
            conn,
        )
    db.dispose()
    pub["day"] = pd.to_datetime(pub["ds"]).dt.normalize()
    actual["day"] = pd.to_datetime(actual["business_date"])
    both = pub.merge(actual.dropna(subset=["covers"]), on="day")
    return rmsle(both["covers"], both["yhat"])


def test_normal_accuracy_reports_every_restaurant_and_exits_0(
    settings: Settings, built: tuple[Path, str]
) -> None:
    code, out, err = _monitor(settings)
    assert code == 0, err
    assert out["flagged"] == []
    assert out["window"]["start"] > str(CUTOFF)
    assert out["window"]["end"] <= str(CUTOFF + dt.timedelta(days=HORIZON))
    rows = {r["restaurant_id"]: r for r in out["restaurants"]}
    assert set(rows) == set(RESTAURANTS)
    manifest = artifacts.open_artifacts(settings).read_manifest(built[1])
    by_restaurant: dict[str, Any] = json.loads(json.dumps(manifest.backtest_metrics))[
        "by_restaurant"
    ]
    for rid, row in rows.items():
        assert row["status"] == "ok" and not row["flagged"]
        assert 7 <= row["days"] <= HORIZON
        assert row["observed_rmsle"] == pytest.approx(_observed_by_hand(settings, rid))
        # The restaurant's own validation figure from the artefact, not an overall one.
        assert row["expected_from"] == "restaurant"
        assert row["expected_rmsle"] == pytest.approx(by_restaurant[rid]["rmsle"])
        assert row["ratio"] == pytest.approx(row["observed_rmsle"] / row["expected_rmsle"])
        assert 0 < row["observed_wape"] < 1
    table = run_cli(settings, ["monitor"])
    assert table.exit_code == 0
    assert all(rid in table.stdout for rid in RESTAURANTS)


def test_a_restaurant_far_worse_than_expected_alone_is_flagged_and_exits_3(
    settings: Settings,
) -> None:
    _execute(settings, "UPDATE published_forecasts SET yhat = yhat * 5 WHERE restaurant_id = 'r05'")
    code, out, _ = _monitor(settings)
    assert code == EXIT_PARTIAL
    assert out["flagged"] == ["r05"]  # the JSON is printed before the exit
    rows = {r["restaurant_id"]: r for r in out["restaurants"]}
    assert rows["r05"]["flagged"] and rows["r05"]["status"] == "flagged"
    assert rows["r05"]["ratio"] > 1.5
    assert not rows["r01"]["flagged"] and not rows["r07"]["flagged"]
    table = run_cli(settings, ["monitor"])
    assert table.exit_code == EXIT_PARTIAL
    assert "r05" in table.stdout and "yes" in table.stdout
    assert "r05" in table.stderr
    # Scoped to the other restaurants, nothing is flagged.
    assert _monitor(settings, "-r", "r01", "-r", "r07")[0] == 0
    # Five days are too few for a verdict, however bad they look.
    code, out, _ = _monitor(settings, "--days", "5")
    assert code == 0
    assert out["window"]["days"] == 5
    assert {r["status"] for r in out["restaurants"]} == {"too few days"}


def test_plot_writes_a_png(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "plots" / "monitor.png"
    code, out, err = _monitor(settings, "--plot", str(path))
    assert code == 0, err
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 1000
    assert out["plot"] == str(path)
    assert [p.name for p in path.parent.iterdir()] == ["monitor.png"]  # no temporary left


def test_nothing_published_is_a_usage_error(sqlite_settings: Settings) -> None:
    result = run_cli(sqlite_settings, ["monitor"])
    assert result.exit_code == EXIT_USAGE
    assert "nothing published yet for target 'covers'" in result.stderr
    assert "flux publish" in result.stderr


def test_no_actuals_for_the_published_days_is_a_usage_error(
    settings: Settings, built: tuple[Path, str]
) -> None:
    _execute(settings, "DELETE FROM published_forecasts")
    # A forecast from the latest data: every published day is still in the future.
    assert run_cli(settings, ["predict", "--artifact", built[1]]).exit_code == 0
    assert run_cli(settings, ["publish", "--force", "future only"]).exit_code == 0
    result = run_cli(settings, ["monitor"])
    assert result.exit_code == EXIT_USAGE
    assert "no actuals yet" in result.stderr
    # Another target has nothing published at all.
    other = run_cli(settings, ["monitor", "--target", "orders"])
    assert other.exit_code == EXIT_USAGE
    assert "nothing published yet for target 'orders'" in other.stderr


def test_an_old_artefact_without_restaurant_figures_falls_back_to_overall(
    settings: Settings, built: tuple[Path, str]
) -> None:
    (path,) = Path(settings.resolved_artifacts_uri).rglob(f"{built[1]}/manifest.json")
    manifest = json.loads(path.read_text())
    metrics = manifest["backtest_metrics"]
    del metrics["by_restaurant"], metrics["ensemble_rmsle"]  # as written before they existed
    path.write_text(json.dumps(manifest))
    code, out, err = _monitor(settings)
    assert code == 0, err
    chosen = manifest["weights"]["chosen"]
    for row in out["restaurants"]:
        assert row["expected_from"] == "overall"
        assert row["expected_rmsle"] == pytest.approx(metrics["heldout_rmsle"][chosen])


# --- the rule, on hand-made frames --------------------------------------------------------------


def _frame(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["restaurant_id", monitor.DAYS, monitor.OBSERVED_RMSLE, monitor.EXPECTED_RMSLE],
    )


def test_flagging_rule_threshold_and_too_few_days() -> None:
    frame = _frame(
        [
            ("at_threshold", 14, 0.375, 0.25),  # exactly 1.5 x (exact in binary): not flagged
            ("above", 14, 0.31, 0.20),
            ("better", 14, 0.10, 0.20),
            ("short", 6, 2.00, 0.20),  # far worse, but 6 days say too little
            ("just_enough", 7, 0.50, 0.20),
            ("no_expected", 14, 0.90, math.nan),
        ]
    )
    out = monitor.assess(frame, multiple=1.5, min_days=7).set_index("restaurant_id")
    assert list(out.index[out[monitor.FLAGGED]]) == ["above", "just_enough"]
    assert out.loc["at_threshold", monitor.STATUS] == "ok"
    assert out.loc["better", monitor.STATUS] == "ok"
    assert out.loc["short", monitor.STATUS] == "too few days"
    assert out.loc["no_expected", monitor.STATUS] == "no expected error"
    assert out.loc["above", monitor.RATIO] == pytest.approx(1.55)
    assert out[monitor.RATIO].isna().tolist() == [False] * 5 + [True]  # only no_expected
    # A larger multiple tolerates more.
    loose = monitor.assess(frame, multiple=3.0, min_days=7)
    assert not loose[monitor.FLAGGED].any()


def test_expected_error_prefers_the_restaurant_then_the_overall_figure() -> None:
    weights = {"chosen": "stacking"}
    new = {
        "member_rmsle": {"prophet": 0.4, "xgboost": 0.35, "seasonal_naive": 0.5},
        "heldout_rmsle": {"stacking": 0.33, "best": 0.31},
        "by_restaurant": {"r1": {"rmsle": 0.2, "wape": 0.15, "n": 14.0}},
        "ensemble_rmsle": 0.3,
    }
    assert monitor.expected_error(new, weights, "r1") == monitor.Expected(0.2, 0.15, "restaurant")
    fallback = monitor.expected_error(new, weights, "r2")  # no figure of its own
    assert (fallback.rmsle, fallback.source) == (0.3, "overall")
    old = {k: v for k, v in new.items() if k in ("member_rmsle", "heldout_rmsle")}
    assert monitor.expected_error(old, weights, "r1").rmsle == 0.33  # the chosen weighting
    equal = {"member_rmsle": new["member_rmsle"], "heldout_rmsle": {}}
    members = {"chosen": "equal", "weights": {"prophet": 0.5, "xgboost": 0.5}}
    assert monitor.expected_error(equal, members, "r1").rmsle == 0.35  # best weighted member
    assert monitor.expected_error({}, {}, "r1").source == "none"
    hosts = {"algo-1": new, "algo-2": old}  # a SageMaker artefact: one section per host
    host_weights = {"algo-1": weights, "algo-2": weights}
    assert monitor.expected_error(hosts, host_weights, "r1", "algo-1").rmsle == 0.2
    assert monitor.expected_error(hosts, host_weights, "r9", "algo-2").rmsle == 0.33
    own, overall = monitor.Expected(0.2, 0.1, "restaurant"), monitor.Expected(0.4, 0.3, "overall")
    pooled = monitor.pooled_expected([(10, own), (30, overall)])
    assert pooled.rmsle == pytest.approx(math.sqrt((10 * 0.04 + 30 * 0.16) / 40))
    assert pooled.source == "overall"


def test_training_records_each_restaurants_validation_error() -> None:
    data = synthetic_series(6, 150, seed=3, noise=0.2)
    model = EnsembleForecaster(("seasonal_naive", "weekday_median")).fit(data)
    recorded = validation_metrics(model)
    by_restaurant = recorded["by_restaurant"]
    assert set(by_restaurant) == set(data.restaurants)
    assert sum(s["n"] for s in by_restaurant.values()) == model.weights_report_["validation_rows"]
    for scores in by_restaurant.values():
        assert 0 < scores["rmsle"] < 1 and 0 < scores["wape"] < 1
    pooled = math.sqrt(
        sum(s["n"] * s["rmsle"] ** 2 for s in by_restaurant.values())
        / sum(s["n"] for s in by_restaurant.values())
    )
    assert recorded["ensemble_rmsle"] == pytest.approx(pooled)
    json.dumps(recorded, allow_nan=False)  # JSON-ready for the manifest
