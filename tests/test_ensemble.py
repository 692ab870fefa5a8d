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
from models.ensemble import WEIGHTINGS, Combination, EnsembleForecaster, _select, _Validation, learn
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
    lowest = min(scores, key=scores.__getitem__)
    assert report["chosen"] == model.weighting_
    if report["chosen"] != lowest:  # the lowest was not ahead of the hedge beyond noise
        assert report["chosen"] == "min_variance"
        assert "not better than min_variance beyond noise" in str(report["reason"])
    assert report["validation_origins"] == 3  # 30 restaurants x 28 days: fewer than 1,000 rows
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


def _noisy_validation(restaurants: int, seed: int, *, nested: bool) -> _Validation:
    """Three back-to-back 28-day windows per restaurant, log1p errors of two members.

    ``nested``: "a" errs by ``e`` (sd 0.3) and "b" by ``e + u`` (``u`` independent, sd 0.3):
    inverse-error weights (1/0.09 : 1/0.18, i.e. 2/3 and 1/3) err by ``e + u/3``, an expected
    squared error of 0.09 + 0.01 = 0.10 against a's 0.09, so "a" alone is better. Otherwise both
    err independently with sd 0.3: equal weights (what inverse-error weights estimate) halve the
    squared error, and any other candidate only looks better by chance.
    """
    rng = np.random.default_rng(seed)
    n = restaurants * 3 * 28
    rids = np.repeat([f"r{i}" for i in range(restaurants)], 3 * 28)
    block = np.tile(np.repeat([1, 2, 3], 28), restaurants)
    step = np.tile(np.arange(1, 29), restaurants * 3)
    target = np.log1p(rng.uniform(20, 60, n))
    e = rng.normal(0, 0.3, n)
    other = e + rng.normal(0, 0.3, n) if nested else rng.normal(0, 0.3, n)
    logs = np.column_stack([target + e, target + other])
    keys = pd.DataFrame({c.RESTAURANT_ID: rids, c.DS: pd.Timestamp("2024-01-01")})
    return _Validation(keys, logs, target, step, block)


def test_a_short_noisy_window_keeps_the_hedge() -> None:
    # One restaurant, two equally good independent members: whenever stacking, per-restaurant
    # weights or one member look better on the 56 scored rows, it is luck within noise, and the
    # inverse-error hedge serves.
    looked_better = 0
    for seed in range(10):
        val = _noisy_validation(1, seed, nested=False)
        chosen, scores, reason = _select(val, ("a", "b"), "auto")
        assert chosen == "min_variance", (seed, scores, reason)
        looked_better += min(scores, key=scores.__getitem__) != "min_variance"
    assert looked_better > 0  # the guard, not the scores alone, made some of these choices


def test_min_variance_counts_correlated_errors() -> None:
    # Member b's error is a's plus an orthogonal extra: e = 0.3 * (1, -1, 1, -1) and
    # d = 0.3 * (1, 1, -1, -1) (e . d = 0), so the error second moments are
    # M = [[0.09, 0.09], [0.09, 0.18]]. w'Mw = 0.09 + 0.09 w_b^2 is least at w_b = 0: the
    # error-minimising mix is (1, 0); inverse-error weights are (1/0.09, 1/0.18) normalised,
    # (2/3, 1/3); min_variance averages the two: (5/6, 1/6).
    target = np.log1p(np.array([10.0, 20.0, 30.0, 40.0]))
    e = 0.3 * np.array([1.0, -1.0, 1.0, -1.0])
    d = 0.3 * np.array([1.0, 1.0, -1.0, -1.0])
    logs = np.column_stack([target + e, target + e + d])
    rids = np.array(["r"] * 4)
    combined = learn("min_variance", ("a", "b"), logs, target, rids)
    np.testing.assert_allclose(combined.weights, [5 / 6, 1 / 6], atol=1e-6)
    inverse = learn("inverse_error", ("a", "b"), logs, target, rids)
    np.testing.assert_allclose(inverse.weights, [2 / 3, 1 / 3], atol=1e-12)
    # Two equally good members with uncorrelated errors: both rules give (1/2, 1/2).
    logs = np.column_stack([target + e, target + d])
    combined = learn("min_variance", ("a", "b"), logs, target, rids)
    np.testing.assert_allclose(combined.weights, [0.5, 0.5], atol=1e-6)


def test_a_member_worse_beyond_noise_is_dropped() -> None:
    # "b" only adds error to "a": over 60 restaurants (3,360 scored rows) the hedge's extra
    # squared error (0.10 against 0.09) is beyond noise, and "a" serves (alone, or by stacking
    # putting nearly all weight on it).
    val = _noisy_validation(60, 0, nested=True)
    chosen, scores, reason = _select(val, ("a", "b"), "auto")
    assert chosen in {"best", "stacking"}
    assert scores[chosen] < scores["min_variance"]
    assert "beat min_variance beyond noise" in reason
    weights = val.learn(chosen, ("a", "b")).weights
    assert weights[0] > 0.9 and weights[1] < 0.1


def test_single_restaurants_ensemble_is_as_good_as_its_best_member() -> None:
    # Twelve one-restaurant businesses (noisy days), each with its own ensemble of a good member
    # and a poor one: over them, the ensemble's mean RMSLE is at or below that of the member that
    # was better for each restaurant with hindsight.
    ensemble, best = [], []
    for seed in range(100, 112):
        full = synthetic_series(1, 200, seed=seed, noise=0.3)
        cutoff = pd.Timestamp(full.data[c.DS].max()) - pd.Timedelta(days=28)
        test = full.between(cutoff, cutoff + pd.Timedelta(days=28)).data
        model = EnsembleForecaster(("weekday_median", "constant")).fit(full.until(cutoff))
        assert model.validation_origins_ == 3
        assert set(model.validation_["origin"]) == {1, 2, 3}
        out = model.predict_all(test[[c.RESTAURANT_ID, c.DS]]).data.merge(test)
        errors = {m: rmsle(g[c.Y], g[c.YHAT]) for m, g in out.groupby(c.MODEL)}
        ensemble.append(errors["ensemble"])
        best.append(min(errors["weekday_median"], errors["constant"]))
    assert np.mean(ensemble) <= np.mean(best)


def test_validation_origins_need_history_before_them() -> None:
    # 90 days, H = 28: a second window starts 56 days before the end (33 days of history
    # before it); a third would start on day 5, with less than H days before it.
    model = EnsembleForecaster(FAST, validation_origins=5).fit(synthetic_series(2, 90, seed=3))
    assert model.validation_origins_ == 2
    with pytest.raises(ValueError, match="validation_origins"):
        EnsembleForecaster(FAST, validation_origins=0).fit(synthetic_series(2, 90, seed=3))


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


def test_the_final_xgboost_continues_its_validation_fit(
    series: SeriesFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final fit of a member that can continue (XGBoost) starts from the validation fit
    nearest the cutoff: its trees, then ``refit_rounds`` more."""
    from models.xgb_model import XGBoostForecaster

    continued_from: list[pd.Timestamp] = []
    original = XGBoostForecaster._fit_from

    def spy(self: XGBoostForecaster, earlier: XGBoostForecaster, *args: object) -> None:
        continued_from.append(earlier.cutoff_)
        original(self, earlier, *args)

    monkeypatch.setattr(XGBoostForecaster, "_fit_from", spy)
    small = {"n_estimators": 20, "max_depth": 3, "refit_rounds": 5, "n_jobs": 1, "row_budget": 100}
    model = EnsembleForecaster(
        ("weekday_median", "xgboost"), member_params={"xgboost": small}, validation_origins=2
    ).fit(series)
    assert model.validation_origins_ == 2 and not model.member_errors_
    assert model.members_["xgboost"].booster_.num_boosted_rounds() == 25
    # the latest validation window ends at the cutoff, so its fit was cut H days before it
    h = model.horizon_
    assert continued_from == [series.data[c.DS].max() - pd.Timedelta(days=h)]
    anew = EnsembleForecaster(
        ("weekday_median", "xgboost"),
        member_params={"xgboost": {**small, "refit_rounds": None}},
        validation_origins=2,
    ).fit(series)
    assert anew.members_["xgboost"].booster_.num_boosted_rounds() == 20
