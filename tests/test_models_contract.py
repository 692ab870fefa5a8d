"""One contract, every registered forecaster (scikit-learn conventions plus Flux's own).

A name is skipped only while its module does not exist yet; any other import error fails.
Heavy models get fast settings (only the ones their class accepts).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models import columns as c
from models import registry
from models.base import Forecaster, NotFittedError
from models.frames import ForecastFrame, SeriesFrame
from tests.synthetic_series import horizon, synthetic_series

FAST_PARAMS: dict[str, dict[str, object]] = {
    "prophet": {"holidays": False, "yearly_seasonality": False, "n_jobs": 1},
    "xgboost": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
    "ensemble": {"members": ("seasonal_naive", "weekday_median")},
}


def build(name: str) -> Forecaster:
    """A fast, unfitted forecaster ``name`` (skips while its module does not exist)."""
    module = registry.FORECASTERS[name].partition(":")[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} does not exist yet")
    accepted = registry.forecaster_class(name)().get_params(deep=False)
    params = {k: v for k, v in FAST_PARAMS.get(name, {}).items() if k in accepted}
    return registry.make(name, **params)


@pytest.fixture(scope="module")
def series() -> SeriesFrame:
    return synthetic_series(3, 120, seed=1)


@pytest.fixture(params=registry.available())
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_get_params_and_clone_round_trip(name: str) -> None:
    model = build(name)
    params = model.get_params(deep=False)
    twin = clone(model)
    assert twin is not model
    assert twin.get_params(deep=False) == params
    assert model.set_params(**params) is model


def test_init_stores_only_settings(name: str) -> None:
    model = build(name)
    assert set(vars(model)) == set(model.get_params(deep=False))
    assert not [attr for attr in vars(model) if attr.endswith("_")]


def test_predict_before_fit_raises(name: str, series: SeriesFrame) -> None:
    with pytest.raises(NotFittedError):
        build(name).predict(horizon(series))


def test_fit_returns_self(name: str, series: SeriesFrame) -> None:
    model = build(name)
    assert model.fit(series) is model


def test_forecasts_are_finite_nonnegative_one_row_per_key(name: str, series: SeriesFrame) -> None:
    model = build(name).fit(series)
    future = horizon(series, 14)
    unseen = future.iloc[:14].assign(**{c.RESTAURANT_ID: "never-seen"})
    out = model.predict(pd.concat([future, unseen], ignore_index=True))
    assert isinstance(out, ForecastFrame)
    fitted = set(series.restaurants) - set(model.failed_)
    assert fitted, "the model fitted no restaurant on easy data"
    expected = future[future[c.RESTAURANT_ID].isin(fitted)]
    got = out.data
    assert len(got) == len(expected)
    assert set(zip(got[c.RESTAURANT_ID], got[c.DS], strict=True)) == set(
        zip(expected[c.RESTAURANT_ID], expected[c.DS], strict=True)
    )
    assert (got[c.MODEL] == model.name).all()
    yhat = got[c.YHAT].to_numpy(dtype=float)
    assert np.isfinite(yhat).all()
    assert (yhat >= 0).all()


def test_deterministic_for_a_seed(name: str, series: SeriesFrame) -> None:
    future = horizon(series, 14)
    first = build(name).fit(series).predict(future).data
    second = build(name).fit(series).predict(future).data
    pd.testing.assert_frame_equal(first, second)


def test_learned_attributes_end_with_underscore(name: str, series: SeriesFrame) -> None:
    model = build(name)
    settings = set(model.get_params(deep=False))
    model.fit(series)
    learned = set(vars(model)) - settings
    assert learned, "fit() stored no learned state"
    assert not [attr for attr in learned if not attr.endswith("_")]
    assert model.cutoff_ == series.data[c.DS].max()


def test_registry_names_and_unknown_name() -> None:
    assert {"seasonal_naive", "weekday_median", "prophet", "xgboost", "ensemble"} <= set(
        registry.available()
    )
    with pytest.raises(ValueError, match=r"valid names: .*seasonal_naive"):
        registry.make("nope")
    assert registry.make("weekday_median", weeks=4).get_params() == {"weeks": 4}
