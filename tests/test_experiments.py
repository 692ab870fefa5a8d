"""Experiments (issue 11): one model spec for backtest and train, configured from flux.toml and
``--set``, recorded in run records and manifests.

One small database is built once (three restaurants, 150 days); a backtest scores one spec, and
``train --like`` trains that run's spec on the data up to the backtest's last cutoff.
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

from flux_cli import logs
from models import columns as c
from models.spec import ModelSpec
from pipelines import backtest, comparison, evaluation, experiments, predict, train
from pipelines.errors import EXIT_USAGE, ConfigError, UsageError
from pipelines.io import runs, series
from pipelines.io.db import Database
from pipelines.settings import Settings, load_settings
from tests.conftest import load_generator
from tests.helpers import run_cli
from tests.plugin_site import install_example_plugin

RESTAURANTS = ("r01", "r05", "r07")
START = dt.date(2025, 4, 1)
DAYS = 150
FAST = ("--set", "models.xgboost.n_estimators=40", "--set", "models.xgboost.origins_span=84")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder with three restaurants imported."""
    root = tmp_path_factory.mktemp("experiments")
    sample = load_generator().generate(
        root / "sample", start=START, days=DAYS, seed=8, restaurants=list(RESTAURANTS), scale=0.4
    )
    settings = load_settings(home=root / "home")
    assert run_cli(settings, ["import", str(sample)]).exit_code == 0
    logs.configure(0)
    return root / "home"


@pytest.fixture
def settings(home: Path, tmp_path: Path) -> Settings:
    """Settings on a private copy of the imported home folder."""
    return load_settings(home=shutil.copytree(home, tmp_path / "home"))


def _record(settings: Settings, run_id: str) -> runs.BacktestRecord:
    db = Database(settings)
    with db.connect() as conn:
        record = runs.read_backtest(conn, run_id)
    db.dispose()
    return record


def test_backtest_and_train_of_one_spec_forecast_the_last_cutoff_identically(
    settings: Settings,
) -> None:
    spec = experiments.model_spec(
        settings,
        ["models.xgboost.n_estimators=40", "models.xgboost.origins_span=84"],
        horizon=14,
        seed=1,
    )
    scored = backtest.run(
        backtest.BacktestRequest(
            spec=evaluation.BacktestSpec(models=("ensemble",), model=spec, folds=2)
        ),
        settings,
    )
    last = max(scored.cutoffs)
    record = _record(settings, scored.run_id[:8])  # a prefix is enough
    assert record.spec == spec
    assert record.params["spec"]["params"]["xgboost"] == {"n_estimators": 40, "origins_span": 84}

    real = series.read_series

    def until_last_cutoff(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **{**kwargs, "end": last.date()})

    with pytest.MonkeyPatch.context() as mp:  # train sees what the last fold was fitted on
        mp.setattr(series, "read_series", until_last_cutoff)
        trained = train.run(train.TrainRequest(like=scored.run_id), settings)
    manifest = trained.manifest
    assert manifest.spec == record.params["spec"]
    assert manifest.horizon == 14
    assert manifest.extra["seed"] == 1
    assert {m.name: m.params["n_estimators"] for m in manifest.members if m.name == "xgboost"} == {
        "xgboost": 40
    }

    forecast = predict.run(
        predict.PredictRequest(artifact=trained.artifact_id, as_of=last.date()), settings
    ).forecasts
    fold = scored.frame[(scored.frame[c.CUTOFF] == last) & (scored.frame[c.MODEL] == "ensemble")]
    keys = [c.RESTAURANT_ID, c.DS]
    forecast = forecast.assign(**{c.DS: pd.to_datetime(forecast[c.DS])})
    both = fold[[*keys, c.YHAT]].merge(
        forecast[[*keys, c.YHAT]], on=keys, suffixes=("_backtest", "_train")
    )
    assert len(both) == len(fold) > 0
    pd.testing.assert_series_equal(
        both["yhat_backtest"], both["yhat_train"], check_names=False, rtol=1e-9
    )


def test_a_bad_setting_is_one_line_and_exit_2_before_reading_data(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "empty")  # no data: anything slow would fail later
    for args, expected in [
        (
            ["backtest", "--set", "models.xgboost.n_estimatorz=500"],
            "models.xgboost: unknown setting(s) n_estimatorz; valid: colsample_bytree,",
        ),
        (
            ["train", "--set", "models.xgboost.n_estimators=many"],
            "models.xgboost.n_estimators: 'many' is not valid",
        ),
        (["train", "--set", "ensemble.weighting=loudest"], "ensemble.weighting"),
        (["backtest", "--set", "modelz.x=1"], "unknown key 'modelz.x'"),
        (["backtest", "--set", "ensemble.members=prophet,nope"], "unknown model(s) nope"),
        (["train", "--like", "3f2a", "--set", "models.xgboost.n_estimators=5"], "drop --set"),
    ]:
        result = run_cli(settings, args)
        assert result.exit_code == EXIT_USAGE, (args, result.stdout, result.stderr)
        lines = [  # the JSON log lines are for machines; the person reads one line
            line for line in result.stderr.splitlines() if line.strip() and line[0] != "{"
        ]
        assert len(lines) == 1, result.stderr
        assert expected in lines[0], lines[0]
    assert not (tmp_path / "empty" / "artefacts").exists()


def test_flux_toml_tables_make_the_spec_and_set_overrides_them(tmp_path: Path) -> None:
    toml = tmp_path / "flux.toml"
    toml.write_text(
        "[models.xgboost]\nn_estimators = 120\nmax_depth = 4\n"
        "[models.prophet]\nchangepoint_prior_scale = 0.1\n"
        '[ensemble]\nmembers = ["xgboost", "weekday_median"]\nweighting = "best"\n'
        "levels = [50, 90]\n",
        encoding="utf-8",
    )
    settings = load_settings(toml)
    spec = experiments.model_spec(
        settings, ["models.xgboost.n_estimators=500", "models.weekday_median.weeks=4"], seed=2
    )
    assert spec.members == ("xgboost", "weekday_median")
    assert spec.weighting == "best"
    assert spec.levels == (50, 90)
    assert spec.params == {
        "prophet": {"changepoint_prior_scale": 0.1},
        "weekday_median": {"weeks": 4},
        "xgboost": {"max_depth": 4, "n_estimators": 500},
    }
    # what the models get: their settings, plus the spec's seed and horizon where they take them
    assert spec.settings_of("xgboost") == {
        "max_depth": 4,
        "n_estimators": 500,
        "random_state": 2,
        "horizon": 28,
    }
    ensemble = spec.build_ensemble(n_jobs=2)
    assert ensemble.members == ("xgboost", "weekday_median")
    assert ensemble.weighting == "best"
    assert ensemble.validation_horizon == 28
    assert ensemble.n_jobs == 2


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[models.xgboost]\nn_estimatorz = 5\n", "unknown setting(s) n_estimatorz; valid:"),
        ("[models.xgboost]\nmax_depth = 'deep'\n", "models.xgboost.max_depth: 'deep'"),
        ("[models.nosuch]\nx = 1\n", "models.nosuch: unknown model; valid:"),
        ("[ensemble]\nmembers = ['prophet', 'ensemble']\n", "unknown model(s) ensemble"),
        ("[ensemble]\ncolour = 'red'\n", "ensemble.colour"),
    ],
)
def test_flux_toml_model_tables_are_checked_when_loaded(
    tmp_path: Path, table: str, expected: str
) -> None:
    toml = tmp_path / "flux.toml"
    toml.write_text(table, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(toml)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_runtime_and_derived_settings_are_not_part_of_a_spec() -> None:
    for key in ("n_jobs", "random_state", "horizon"):
        with pytest.raises(ValueError, match=f"unknown setting\\(s\\) {key}"):
            ModelSpec(params={"xgboost": {key: 1}})


def test_equal_specs_record_equal_json_and_changes_name_the_keys() -> None:
    a = ModelSpec(params={"xgboost": {"n_estimators": 40, "max_depth": 3}})
    b = ModelSpec(params={"xgboost": {"max_depth": 3, "n_estimators": "40"}})
    assert json.dumps(a.record()) == json.dumps(b.record())
    assert a.spec_id == b.spec_id
    c_ = ModelSpec(params={"xgboost": {"n_estimators": 500}}, weighting="best")
    assert a.changes(c_) == {
        "params.xgboost.max_depth": (3, None),
        "params.xgboost.n_estimators": (40, 500),
        "weighting": ("auto", "best"),
    }


def test_train_like_an_unknown_or_old_run_is_a_usage_error(settings: Settings) -> None:
    with pytest.raises(UsageError, match="no backtest run 'nosuch'"):
        train.run(train.TrainRequest(like="nosuch"), settings)
    db = Database(settings)
    with db.begin() as conn:
        runs.insert(
            conn,
            runs.BACKTEST,
            "old-run",
            target="covers",
            freq="D",
            horizon=28,
            folds=3,
            models="prophet",
            restaurants=3,
            best_model="prophet",
            params_json=json.dumps({"models": ["prophet"]}),
            metrics_json="[]",
            flux_version="0.1",
        )
    db.dispose()
    with pytest.raises(UsageError, match="no recorded model spec"):
        train.run(train.TrainRequest(like="old-run"), settings)


# --- comparing runs ---------------------------------------------------------------------------

E = math.e


def _fake(
    run_id: str, rows: dict[str, list[Any]], *, restaurants: list[str]
) -> runs.BacktestRecord:
    """A recorded run of model ``ensemble`` with the given rows (and per-restaurant RMSLEs
    worked out from them by hand in each test)."""
    return runs.BacktestRecord(
        run_id=run_id,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        target="covers",
        freq="D",
        horizon=2,
        folds=1,
        models=("ensemble",),
        restaurants=len(restaurants),
        best_model="ensemble",
        params={
            "spec": ModelSpec().record(),
            "data": {
                "start": "2025-01-01",
                "end": "2025-03-01",
                "restaurants": restaurants,
                "fingerprint": "f",
            },
            "cutoffs_scored": ["2025-02-27"],
        },
        metrics={
            "overall": [{"model": "ensemble", "rmsle": None}],
            "by_restaurant": [],
            "rows": {"ensemble": rows},
        },
        output_path=None,
        flux_version="test",
    )


def _rows(yhat: list[float], restaurants: list[str]) -> dict[str, list[Any]]:
    n = len(yhat)
    return {
        "restaurant_id": restaurants,
        "cutoff": ["2025-02-27"] * n,
        "ds": ["2025-02-28" if i % 2 == 0 else "2025-03-01" for i in range(n)],
        "y": [0.0] * n,
        "yhat": yhat,
    }


def test_a_uniformly_better_run_is_better_beyond_noise() -> None:
    # y = 0 everywhere; A forecasts e-1 (log error 1), B forecasts sqrt(e)-1 (log error 0.5):
    # RMSLE A = 1, B = 0.5, difference -0.5 on every resample
    ids = ["r1", "r1", "r2", "r2", "r3", "r3"]
    a = _fake("a" * 36, _rows([E - 1] * 6, ids), restaurants=["r1", "r2", "r3"])
    b = _fake("b" * 36, _rows([math.sqrt(E) - 1] * 6, ids), restaurants=["r1", "r2", "r3"])
    result = comparison.compare(a, b, reps=200)
    assert result.paired_rows == 6
    assert result.diff == pytest.approx(-0.5)
    assert result.interval == pytest.approx((-0.5, -0.5))
    assert result.verdict == "b better"
    assert result.same_data
    assert comparison.compare(b, a, reps=200).verdict == "a better"


def test_a_mixed_difference_is_within_noise_and_different_data_says_so() -> None:
    # B better by the same amount at r1 as it is worse at r2: the pooled difference is 0 and the
    # restaurant resampling straddles it
    ids = ["r1", "r1", "r2", "r2"]
    a = _fake("a" * 36, _rows([E - 1, E - 1, E - 1, E - 1], ids), restaurants=["r1", "r2"])
    b_yhat = [math.sqrt(E) - 1] * 2 + [math.exp(math.sqrt(1.75)) - 1] * 2  # sq errors .25, 1.75
    b = _fake("b" * 36, _rows(b_yhat, ids), restaurants=["r1", "r2", "r9"])
    result = comparison.compare(a, b, reps=500)
    assert result.diff == pytest.approx(0.0, abs=1e-12)  # sqrt((.25+.25+1.75+1.75)/4) = 1
    lo, hi = result.interval or (0.0, 0.0)
    assert lo < 0 < hi
    assert result.verdict == "within noise"
    assert not result.same_data
    assert any("restaurants differ" in note and "r9" in note for note in result.data_notes)


def test_backtest_list_show_compare_on_two_runs(settings: Settings, tmp_path: Path) -> None:
    base = ["backtest", "--models", "seasonal_naive,weekday_median", "--folds", "2"]
    base += ["--horizon", "14"]
    first = run_cli(settings, [*base, "--json"])
    assert first.exit_code == 0, first.stderr
    second = run_cli(settings, [*base, "--set", "models.weekday_median.weeks=3", "--json"])
    assert second.exit_code == 0, second.stderr
    run_a, run_b = json.loads(first.stdout)["run_id"], json.loads(second.stdout)["run_id"]

    listed = run_cli(settings, ["backtest", "list", "--json"])
    assert listed.exit_code == 0, listed.stderr
    payload = json.loads(listed.stdout)["runs"]
    assert [r["run_id"] for r in payload] == [run_b, run_a]  # newest first
    assert payload[0]["spec"]["params"] == {"weekday_median": {"weeks": 3}}
    assert payload[0]["data"]["restaurants"] == list(RESTAURANTS)
    assert {r["model"] for r in payload[0]["overall"]} == {"seasonal_naive", "weekday_median"}
    table = run_cli(settings, ["backtest", "list"])
    assert table.exit_code == 0 and run_b[:8] in table.stdout

    shown = run_cli(settings, ["backtest", "show", run_a[:8], "--json"])
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["run_id"] == run_a

    plot = tmp_path / "compare.png"
    compared = run_cli(
        settings,
        [
            "backtest",
            "compare",
            run_a[:8],
            run_b[:8],
            "--model",
            "weekday_median",
            "--plot",
            str(plot),
            "--json",
        ],
    )
    assert compared.exit_code == 0, compared.stderr
    out = json.loads(compared.stdout)
    assert out["same_data"] is True
    assert out["spec_changes"] == {"params.weekday_median.weeks": [None, 3]}
    assert out["paired_rows"] > 0
    assert out["verdict"] in ("a better", "b better", "within noise")
    assert out["wins"]["a"] + out["wins"]["b"] + out["wins"]["tie"] == len(RESTAURANTS)
    rmsle = out["metrics"]["rmsle"]
    assert rmsle["diff"] == pytest.approx(rmsle["b"] - rmsle["a"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    human = run_cli(settings, ["backtest", "compare", run_a, run_b, "--model", "weekday_median"])
    assert human.exit_code == 0, human.stderr
    assert "95% bootstrap interval" in human.stdout

    missing = run_cli(settings, ["backtest", "compare", run_a, "nosuch"])
    assert missing.exit_code == EXIT_USAGE
    assert "no backtest run 'nosuch'" in missing.stderr


def test_a_plugin_goes_through_backtest_train_and_predict(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_example_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    scored = run_cli(
        settings,
        [
            "backtest",
            "--models",
            "drift_mean,weekday_median,ensemble",
            "--set",
            "ensemble.members=drift_mean,weekday_median",
            "--set",
            "models.drift_mean.weeks=3",
            "--folds",
            "1",
            "--horizon",
            "14",
            "--json",
        ],
    )
    assert scored.exit_code == 0, scored.stderr
    run = json.loads(scored.stdout)
    assert {r["model"] for r in run["overall"]} == {"drift_mean", "weekday_median", "ensemble"}

    trained = run_cli(settings, ["train", "--like", run["run_id"], "--json"])
    assert trained.exit_code == 0, trained.stderr
    manifest = json.loads(trained.stdout)["manifest"]
    members = {m["name"]: m for m in manifest["members"]}
    assert set(members) == {"drift_mean", "weekday_median"}
    assert members["drift_mean"]["params"]["weeks"] == 3
    assert members["drift_mean"]["files"] == ["shards/local/drift_mean.json"]  # its own file
    assert manifest["spec"]["members"] == ["drift_mean", "weekday_median"]

    predicted = run_cli(settings, ["predict", "--json"])
    assert predicted.exit_code == 0, predicted.stderr
    rows = json.loads(predicted.stdout)
    assert rows["artifact_id"] == json.loads(trained.stdout)["artifact_id"]
    assert rows["rows"] == 14 * len(RESTAURANTS)  # 14 days of the horizon, every restaurant


def test_the_sagemaker_hyperparameters_carry_the_whole_spec() -> None:
    from pipelines.fitting import TrainConfig

    spec = ModelSpec(
        members=("xgboost", "weekday_median"),
        params={"xgboost": {"max_depth": 4}},
        weighting="best",
        levels=(50, 90),
        seed=7,
        horizon=21,
    )
    config = TrainConfig(target="orders", spec=spec, jobs=2)
    hps = config.hyperparameters()
    assert set(hps) == {"target", "freq", "jobs", "spec"}
    assert all(isinstance(v, str) for v in hps.values())
    assert TrainConfig.from_hyperparameters(hps) == config
    assert TrainConfig.from_hyperparameters({**hps, "sagemaker_region": '"eu-west-1"'}) == config
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        TrainConfig.from_hyperparameters({**hps, "member_params": "{}"})
    with pytest.raises(ValueError, match="max_depth"):
        TrainConfig.from_hyperparameters(
            {**hps, "spec": json.dumps({"params": {"xgboost": {"max_depth": "deep"}}})}
        )
