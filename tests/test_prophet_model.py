"""Prophet per restaurant: silent, never negative, failures recorded, JSON round trip, stable.

A handful of tiny fits (about 0.2 s each); the fitted model is shared by the module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models.base import Calendar, NotFittedError, future_frame
from models.frames import SeriesFrame
from models.prophet_model import LoadedModels, ProphetForecaster, prophet_yhat

WEEKLY = np.array([0.7, 0.8, 0.9, 1.0, 1.3, 1.6, 1.1])
START = pd.Timestamp("2024-03-01")
DAYS = 120
HORIZON = 21


def _series() -> SeriesFrame:
    """``big``: steady with a weekly pattern; ``tiny``: a few visitors and a falling trend;
    ``short``: only 10 rows (below ``min_rows``)."""
    rng = np.random.default_rng(7)
    ds = pd.date_range(START, periods=DAYS, freq="D")
    weekly = WEEKLY[ds.day_of_week]
    big = np.round(60 * weekly * rng.lognormal(0, 0.1, DAYS))
    tiny = np.round(
        np.maximum(4 - 3.5 * np.arange(DAYS) / DAYS, 0) * weekly + rng.poisson(0.3, DAYS)
    )
    frames = [
        pd.DataFrame({c.RESTAURANT_ID: "big", c.DS: ds, c.Y: big}),
        pd.DataFrame({c.RESTAURANT_ID: "tiny", c.DS: ds, c.Y: tiny}),
        pd.DataFrame({c.RESTAURANT_ID: "short", c.DS: ds[-10:], c.Y: 5.0}),
    ]
    return SeriesFrame.from_frame(pd.concat(frames, ignore_index=True))


CALENDAR = Calendar(
    restaurants=pd.DataFrame(
        {c.RESTAURANT_ID: ["big", "tiny", "short"], c.COUNTRY: "US", c.SUBDIVISION: None}
    )
)


@pytest.fixture(scope="module")
def series() -> SeriesFrame:
    return _series()


@pytest.fixture(scope="module")
def fitted(series: SeriesFrame) -> ProphetForecaster:
    return ProphetForecaster(n_jobs=1).fit(
        series.for_restaurants(["big", "tiny", "short"]), CALENDAR
    )


@pytest.fixture(scope="module")
def future(series: SeriesFrame) -> pd.DataFrame:
    start = pd.Timestamp(series.data[c.DS].max()) + pd.Timedelta(days=1)
    return future_frame(["big", "tiny", "short"], start, HORIZON)


def test_too_few_rows_fail_alone(fitted: ProphetForecaster, future: pd.DataFrame) -> None:
    assert set(fitted.failed_) == {"short"}
    assert "10 rows" in fitted.failed_["short"]
    out = fitted.predict(future).data
    assert set(out[c.RESTAURANT_ID]) == {"big", "tiny"}
    assert len(out) == 2 * HORIZON


def test_log1p_forecasts_are_finite_and_never_negative(
    fitted: ProphetForecaster, future: pd.DataFrame
) -> None:
    out = fitted.predict(future).data
    yhat = out[c.YHAT].to_numpy()
    assert np.isfinite(yhat).all() and (yhat >= 0).all()
    big = out[out[c.RESTAURANT_ID] == "big"].set_index(c.DS)[c.YHAT]
    saturday = big[big.index.day_of_week == 5].mean()
    monday = big[big.index.day_of_week == 0].mean()
    assert saturday > 1.8 * monday  # the weekly pattern is learned (1.6 / 0.7)


def test_fit_and_predict_are_silent(
    series: SeriesFrame, future: pd.DataFrame, capfd: pytest.CaptureFixture[str]
) -> None:
    model = ProphetForecaster(n_jobs=1).fit(series.for_restaurants(["big"]), CALENDAR)
    model.predict(future)
    model.to_json_dict()
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_json_round_trip_gives_identical_forecasts(
    fitted: ProphetForecaster, future: pd.DataFrame
) -> None:
    blobs = fitted.to_json_dict()
    assert set(blobs) == {"big", "tiny"}
    loaded = ProphetForecaster.from_json_dict(blobs, failed=fitted.failed_, **fitted.get_params())
    assert loaded.cutoff_ == fitted.cutoff_
    pd.testing.assert_frame_equal(fitted.predict(future).data, loaded.predict(future).data)


def test_loaded_models_are_read_where_they_forecast(
    fitted: ProphetForecaster, future: pd.DataFrame
) -> None:
    """A loaded forecaster keeps the JSON (``LoadedModels``) and reads a model on first use:
    with two workers each model is read and forecast in a worker (none in this process), with
    one here; both forecasts equal the fitted model's, and the JSON goes back out unchanged."""
    blobs = fitted.to_json_dict()
    params = {**fitted.get_params(), "n_jobs": 2}
    loaded = ProphetForecaster.from_json_dict(
        blobs, failed=fitted.failed_, cutoff=fitted.cutoff_, **params
    )
    assert isinstance(loaded.models_, LoadedModels)
    assert all(loaded.models_.unread(rid) == blobs[rid] for rid in blobs)
    shuffled = future.sample(frac=1.0, random_state=3).reset_index(drop=True)
    expected = fitted.predict(shuffled).data
    pd.testing.assert_frame_equal(loaded.predict(shuffled).data, expected)
    assert all(loaded.models_.unread(rid) is not None for rid in blobs)  # read in the workers
    assert loaded.to_json_dict() == blobs
    loaded.set_params(n_jobs=1)
    pd.testing.assert_frame_equal(loaded.predict(shuffled).data, expected)
    assert all(loaded.models_.unread(rid) is None for rid in blobs)  # read here, once
    assert loaded.models_["big"] is loaded.models_["big"]
    assert loaded.to_json_dict() == blobs  # a read model is written as Prophet writes it
    with pytest.raises(KeyError):
        loaded.models_["short"]


def test_refit_is_deterministic(
    series: SeriesFrame, fitted: ProphetForecaster, future: pd.DataFrame
) -> None:
    again = ProphetForecaster(n_jobs=1).fit(series, CALENDAR)
    pd.testing.assert_frame_equal(fitted.predict(future).data, again.predict(future).data)


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside Prophet.predict
def test_fast_yhat_matches_prophet_predict(fitted: ProphetForecaster) -> None:
    model = fitted.models_["big"]
    for start in ("2024-06-29", "2024-07-15"):  # with and without a holiday (July 4th)
        ds = pd.Series(pd.date_range(start, periods=HORIZON, freq="D"))
        expected = model.predict(pd.DataFrame({c.DS: ds}))[c.YHAT].to_numpy()
        np.testing.assert_allclose(prophet_yhat(model, ds), expected, rtol=0, atol=1e-10)
        shuffled = np.random.default_rng(0).permutation(len(ds))  # values stay with their rows
        got = prophet_yhat(model, ds.iloc[shuffled])
        np.testing.assert_allclose(got, expected[shuffled], rtol=0, atol=1e-10)


def test_fast_yhat_needs_no_prophet_frames(
    fitted: ProphetForecaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flux's default model (linear, no regressors) is forecast on arrays alone."""
    model = fitted.models_["big"]
    ds = pd.Series(pd.date_range("2024-06-29", periods=HORIZON, freq="D"))
    expected = prophet_yhat(model, ds)

    def no_frames(*args: object, **kwargs: object) -> None:
        raise AssertionError("Prophet's frame path was taken")

    monkeypatch.setattr(model, "setup_dataframe", no_frames)
    monkeypatch.setattr(model, "make_all_seasonality_features", no_frames)
    np.testing.assert_array_equal(prophet_yhat(model, ds), expected)


def test_flat_trend_holds_the_last_fitted_level(fitted: ProphetForecaster) -> None:
    model = fitted.models_["tiny"]
    ds = pd.Series(pd.date_range(fitted.cutoff_ + pd.Timedelta(days=1), periods=70, freq="D"))
    flat = prophet_yhat(model, ds, flat_trend=True)
    sloped = prophet_yhat(model, ds, flat_trend=False)
    weeks = flat.reshape(10, 7)
    np.testing.assert_allclose(weeks, np.tile(weeks[0], (10, 1)), atol=1e-9)  # repeats weekly
    assert not np.allclose(flat, sloped)


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        ProphetForecaster().to_json_dict()


@pytest.mark.filterwarnings("ignore")  # Prophet's own deprecation warnings on the plain path
def test_fast_json_backend_fits_the_same_parameters(series: SeriesFrame) -> None:
    """Guards the backend shortcut against Prophet upgrades: same data, same optimum."""
    from prophet import Prophet

    from models.prophet_model import _fit_prophet

    history = series.data[series.data[c.RESTAURANT_ID] == "big"][[c.DS, c.Y]]
    plain, fast = Prophet(uncertainty_samples=0), Prophet(uncertainty_samples=0)
    plain.fit(history, seed=0)
    _fit_prophet(fast, history, 0, "cmdstan")
    assert plain.params.keys() == fast.params.keys()
    for name, value in plain.params.items():
        np.testing.assert_array_equal(value, fast.params[name])
