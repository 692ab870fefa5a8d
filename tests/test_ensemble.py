"""The ensemble: sensible weights, fallbacks per row, every member's forecast from one fit."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models import registry
from models.base import Calendar
from models.baselines import WeekdayMedian
from models.ensemble import WEIGHTINGS, Combination, EnsembleForecaster
from models.frames import SERVED_BY, STEP, SeriesFrame, interval_columns
from models.metrics import rmsle
from tests.synthetic_series import horizon, synthetic_series

FAST = ("seasonal_naive", "weekday_median")


class FailingForecaster(WeekdayMedian):
    """Always fails to fit."""

    name = "failing"

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        raise RuntimeError("this member is broken")


class PredictFails(WeekdayMedian):
    """Fits, then fails every prediction."""

    name = "predict_fails"

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("cannot predict")


class BrokenForR1(WeekdayMedian):
    """A local model that cannot fit restaurant r1 (and uses 4 weeks for the others)."""

    name = "broken_for_r1"

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        super()._fit(series, calendar)
        self.failed_["r1"] = "not enough data"


class Constant(WeekdayMedian):
    """A poor member: each restaurant's mean, no weekly pattern."""

    name = "constant"

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        means = (
            pd.Series(super()._predict(future)).groupby(future[c.RESTAURANT_ID]).transform("mean")
        )
        return means.to_numpy(dtype=float)


@pytest.fixture(autouse=True)
def _dummies(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (FailingForecaster, PredictFails, BrokenForR1, Constant):
        monkeypatch.setitem(registry.FORECASTERS, cls.name, f"{__name__}:{cls.__name__}")


@pytest.fixture(scope="module")
def series() -> SeriesFrame:
    return synthetic_series(30, 200, seed=11, noise=0.2)


def _served(model: EnsembleForecaster, series: SeriesFrame) -> pd.Series:
    out = model.predict(horizon(series)).data
    return out.groupby(c.RESTAURANT_ID)[SERVED_BY].agg(lambda s: "|".join(sorted(set(s))))


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_weights_favour_the_better_member(series: SeriesFrame, weighting: str) -> None:
    model = EnsembleForecaster(("weekday_median", "constant"), weighting=weighting)  # type: ignore[arg-type]
    model.fit(series)
    weights = model.weights_
    assert weights["weekday_median"] > weights["constant"]
    # Whatever the weights, rows the combination produced are the ensemble's, not fallbacks.
    assert set(_served(model, series)) == {"ensemble"}
    if weighting != "stacking":
        assert sum(weights.values()) == pytest.approx(1.0)
    if weighting == "per_restaurant":
        assert model.combination_ is not None
        table = model.combination_.by_restaurant
        assert (table["weekday_median"] > table["constant"]).mean() > 0.8


def test_auto_picks_the_lowest_held_out_error_and_reports_every_candidate(
    series: SeriesFrame,
) -> None:
    model = EnsembleForecaster(FAST).fit(series)
    report = model.weights_report_
    scores = report["heldout_rmsle"]
    assert isinstance(scores, dict)
    assert set(scores) == set(WEIGHTINGS)
    assert report["chosen"] == min(scores, key=scores.__getitem__) == model.weighting_
    assert report["space"] == "log1p"
    assert set(model.member_scores_) == set(FAST)
    json.dumps(report)  # JSON-ready, for the artefact manifest


def test_ensemble_is_about_as_good_as_its_best_member() -> None:
    full = synthetic_series(40, 230, seed=12, noise=0.25)
    cutoff = pd.Timestamp(full.data[c.DS].max()) - pd.Timedelta(days=28)
    test = full.between(cutoff, cutoff + pd.Timedelta(days=28)).data
    model = EnsembleForecaster(FAST).fit(full.until(cutoff))
    out = model.predict_all(test[[c.RESTAURANT_ID, c.DS]]).data.merge(test)
    errors = {m: rmsle(g[c.Y], g[c.YHAT]) for m, g in out.groupby(c.MODEL)}
    assert errors["ensemble"] <= min(errors[m] for m in FAST) + 0.01


def test_a_member_failing_to_fit_never_fails_the_run(series: SeriesFrame) -> None:
    model = EnsembleForecaster(("weekday_median", "failing")).fit(series)
    assert "failing" in model.member_errors_
    assert set(model.members_) == {"weekday_median"}
    # The one member left carries all the weight, so it is named as the server.
    assert set(_served(model, series)) == {"weekday_median"}


def test_a_restaurant_that_breaks_a_member_is_served_by_the_next_model(
    series: SeriesFrame,
) -> None:
    model = EnsembleForecaster(("broken_for_r1", "weekday_median"), weighting="inverse_error")
    served = _served(model.fit(series), series)
    assert served["r1"] == "weekday_median"
    assert (served.drop("r1") == "ensemble").all()
    out = model.predict(horizon(series)).data
    assert len(out) == len(horizon(series))


def test_seasonal_naive_serves_when_every_member_fails(series: SeriesFrame) -> None:
    model = EnsembleForecaster(("failing", "predict_fails")).fit(series)
    assert set(model.member_errors_) == {"failing", "predict_fails"}
    out = model.predict(horizon(series)).data
    assert len(out) == len(horizon(series))
    assert (out[SERVED_BY] == "seasonal_naive").all()
    assert np.isfinite(out[c.YHAT]).all()


def test_predict_all_returns_every_member_and_the_ensemble(series: SeriesFrame) -> None:
    model = EnsembleForecaster(FAST).fit(series)
    future = horizon(series)
    everything = model.predict_all(future).data
    assert set(everything[c.MODEL]) == {"ensemble", *FAST}
    assert (everything.groupby(c.MODEL).size() == len(future)).all()
    members = everything[everything[c.MODEL] != "ensemble"]
    assert (members[SERVED_BY] == members[c.MODEL]).all()
    assert everything[STEP].between(1, 28).all()
    for level in (80, 95):
        lo, hi = interval_columns(level)
        assert (everything[lo] <= everything[c.YHAT]).all()
        assert (everything[hi] >= everything[c.YHAT]).all()
    ensemble = everything[everything[c.MODEL] == "ensemble"].reset_index(drop=True)
    pd.testing.assert_frame_equal(model.predict(future).data, ensemble)
    assert {"ensemble", *FAST} <= set(model.residual_table_[c.MODEL])


def test_ensemble_intervals_cover_roughly_nominal() -> None:
    full = synthetic_series(60, 230, seed=13, noise=0.2)
    cutoff = pd.Timestamp(full.data[c.DS].max()) - pd.Timedelta(days=28)
    test = full.between(cutoff, cutoff + pd.Timedelta(days=28)).data
    out = EnsembleForecaster(FAST).fit(full.until(cutoff)).predict(test).data.merge(test)
    lo, hi = interval_columns(80)
    assert ((out[c.Y] >= out[lo]) & (out[c.Y] <= out[hi])).mean() == pytest.approx(0.8, abs=0.08)


def test_a_short_series_shrinks_the_validation_window_or_skips_it() -> None:
    short = synthetic_series(3, 20, seed=15)
    model = EnsembleForecaster(FAST).fit(short)
    assert model.horizon_ == 9  # half the 19-day span
    assert len(model.predict(horizon(short, 7)).data) == 21
    tiny = synthetic_series(3, 2, seed=15)
    model = EnsembleForecaster(FAST).fit(tiny)
    assert model.horizon_ == 0
    assert model.weighting_ == "equal"
    out = model.predict(horizon(tiny, 7)).data
    assert len(out) == 21
    assert (out[SERVED_BY] == "ensemble").all()


def test_combination_round_trips_through_a_dict(series: SeriesFrame) -> None:
    model = EnsembleForecaster(FAST, weighting="per_restaurant").fit(series)
    assert model.combination_ is not None
    again = Combination.from_dict(model.combination_.to_dict())
    ids = np.array([*series.restaurants, "unknown"])
    np.testing.assert_allclose(again.matrix(ids), model.combination_.matrix(ids))


def test_bad_settings_fail_fast(series: SeriesFrame) -> None:
    with pytest.raises(ValueError, match="unknown member"):
        EnsembleForecaster(("weekday_median", "nope")).fit(series)
    with pytest.raises(ValueError, match="unknown weighting"):
        EnsembleForecaster(FAST, weighting="magic").fit(series)  # type: ignore[arg-type]


def test_member_params_reach_the_members(series: SeriesFrame) -> None:
    model = EnsembleForecaster(FAST, member_params={"weekday_median": {"weeks": 3}}).fit(series)
    assert model.members_["weekday_median"].get_params()["weeks"] == 3


@pytest.mark.slow
def test_default_members_prophet_and_xgboost() -> None:
    for module in ("models.prophet_model", "models.xgb_model"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} does not exist yet")
    small = synthetic_series(3, 150, seed=14)
    model = EnsembleForecaster().fit(small)
    out = model.predict_all(horizon(small, 14)).data
    assert {"ensemble", "prophet", "xgboost"} <= set(out[c.MODEL])
    assert not model.member_errors_
