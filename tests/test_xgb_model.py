"""The global XGBoost model: deterministic, UBJSON round trip, better than seasonal naive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models.base import Calendar, NotFittedError
from models.calendar_features import public_holidays
from models.frames import SeriesFrame
from models.xgb_model import XGBoostForecaster

WEEKLY = np.array([0.7, 0.8, 0.9, 1.0, 1.3, 1.6, 1.1])
START = pd.Timestamp("2023-03-01")
CUTOFF = pd.Timestamp("2024-04-20")  # the test window holds Golden Week
HORIZON = 39
FAST = {"n_estimators": 60, "max_depth": 5, "origins_span": 182, "horizon": HORIZON, "n_jobs": 1}


def _panel(n: int = 12, seed: int = 11) -> SeriesFrame:
    """Restaurants with their own level and weekly shape; 1.8x demand on Japanese public
    holidays; closed days (absent rows) at random and, for some, every Tuesday."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range(START, CUTOFF + pd.Timedelta(days=HORIZON), freq="D")
    day = ds.to_numpy().astype("datetime64[D]").astype(np.int64)
    holiday = np.isin(day, public_holidays("JP", None, 2023, 2024)[0])
    parts = []
    for i in range(n):
        weekly = WEEKLY * rng.lognormal(0, 0.15, 7)
        mean = rng.uniform(8, 80) * weekly[ds.day_of_week] * np.where(holiday, 1.8, 1.0)
        y = rng.poisson(mean * rng.lognormal(0, 0.1, len(ds)))
        keep = rng.uniform(size=len(ds)) > 0.03
        if i % 4 == 0:
            keep &= ds.day_of_week != 1
        parts.append(pd.DataFrame({c.RESTAURANT_ID: f"r{i:02d}", c.DS: ds[keep], c.Y: y[keep]}))
    return SeriesFrame.from_frame(pd.concat(parts, ignore_index=True))


@pytest.fixture(scope="module")
def panel() -> SeriesFrame:
    return _panel()


@pytest.fixture(scope="module")
def calendar(panel: SeriesFrame) -> Calendar:
    ids = panel.restaurants
    restaurants = pd.DataFrame(
        {c.RESTAURANT_ID: ids, c.COUNTRY: "JP", c.SUBDIVISION: None,
         "genre": ["izakaya" if i % 2 else "cafe" for i in range(len(ids))]}
    )  # fmt: skip
    return Calendar(restaurants=restaurants)


@pytest.fixture(scope="module")
def train(panel: SeriesFrame) -> SeriesFrame:
    return panel.until(CUTOFF)


@pytest.fixture(scope="module")
def test_rows(panel: SeriesFrame) -> pd.DataFrame:
    return panel.between(CUTOFF, CUTOFF + pd.Timedelta(days=HORIZON)).data


@pytest.fixture(scope="module")
def fitted(train: SeriesFrame, calendar: Calendar) -> XGBoostForecaster:
    return XGBoostForecaster(**FAST).fit(train, calendar)


def _rmsle(y: np.ndarray, yhat: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.log1p(np.maximum(yhat, 0)) - np.log1p(y)) ** 2)))


def _seasonal_naive(train: SeriesFrame, rows: pd.DataFrame) -> np.ndarray:
    """The last observed value on the same weekday (on or before the cutoff)."""
    hist = train.data.assign(weekday=train.data[c.DS].dt.day_of_week)
    last = hist.groupby([c.RESTAURANT_ID, "weekday"])[c.Y].last()
    keys = pd.MultiIndex.from_arrays([rows[c.RESTAURANT_ID], rows[c.DS].dt.day_of_week])
    return last.reindex(keys).to_numpy(dtype=float)


def test_beats_seasonal_naive(
    fitted: XGBoostForecaster, train: SeriesFrame, test_rows: pd.DataFrame
) -> None:
    out = fitted.predict(test_rows[[c.RESTAURANT_ID, c.DS]]).data
    merged = test_rows.merge(out, on=[c.RESTAURANT_ID, c.DS], how="left")
    assert merged[c.YHAT].notna().all()
    y = merged[c.Y].to_numpy()
    model = _rmsle(y, merged[c.YHAT].to_numpy())
    naive = _rmsle(y, _seasonal_naive(train, merged))
    assert model < 0.8 * naive, (model, naive)
    holidays = merged[c.DS].isin(pd.to_datetime(["2024-04-29", "2024-05-03", "2024-05-06"]))
    ratio = merged[holidays][c.YHAT].sum() / merged[holidays][c.Y].sum()
    assert 0.75 < ratio < 1.25  # the holiday lift is learned, not missed


def test_deterministic_for_a_seed(
    fitted: XGBoostForecaster, train: SeriesFrame, calendar: Calendar, test_rows: pd.DataFrame
) -> None:
    again = XGBoostForecaster(**FAST).fit(train, calendar)
    keys = test_rows[[c.RESTAURANT_ID, c.DS]]
    pd.testing.assert_frame_equal(fitted.predict(keys).data, again.predict(keys).data)


def test_ubj_round_trip_is_identical(fitted: XGBoostForecaster, test_rows: pd.DataFrame) -> None:
    blob = fitted.to_ubj()
    assert isinstance(blob, bytes) and blob[:1] == b"{"  # UBJSON object
    loaded = XGBoostForecaster.from_ubj(blob)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.cutoff_ == fitted.cutoff_
    keys = test_rows[[c.RESTAURANT_ID, c.DS]]
    pd.testing.assert_frame_equal(fitted.predict(keys).data, loaded.predict(keys).data)
    assert loaded.to_ubj() == blob


def test_unknown_restaurants_get_no_forecast(fitted: XGBoostForecaster) -> None:
    keys = pd.DataFrame(
        {c.RESTAURANT_ID: ["r00", "nobody"], c.DS: [CUTOFF + pd.Timedelta(days=1)] * 2}
    )
    out = fitted.predict(keys).data
    assert out[c.RESTAURANT_ID].tolist() == ["r00"]
    assert out[c.YHAT].to_numpy()[0] > 0


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        XGBoostForecaster().to_ubj()


def test_a_file_without_flux_state_is_refused(fitted: XGBoostForecaster) -> None:
    raw = bytes(fitted.booster_.save_raw(raw_format="ubj"))
    with pytest.raises(ValueError, match="flux_meta"):
        XGBoostForecaster.from_ubj(raw)


def test_a_refit_continues_the_earlier_fits_trees(
    fitted: XGBoostForecaster, train: SeriesFrame, calendar: Calendar, test_rows: pd.DataFrame
) -> None:
    """``fit(..., earlier=)`` keeps the earlier fit's trees and adds ``refit_rounds`` rounds
    learned on the later history; a full refit wherever it can't continue."""
    # weekly rows over the budget: a "large" fleet here (origins weekly, as FAST's default)
    settings = {**FAST, "refit_rounds": 10, "row_budget": 1_000, "origins_every": 7}
    earlier_cut = train.until(CUTOFF - pd.Timedelta(days=28))
    earlier = XGBoostForecaster(**settings).fit(earlier_cut, calendar)
    earlier_trees = earlier.booster_.get_dump()
    refit = XGBoostForecaster(**settings).fit(train, calendar, earlier=earlier)

    assert refit.booster_.num_boosted_rounds() == 60 + 10
    assert refit.booster_.get_dump()[:60] == earlier_trees  # continued, not refitted
    assert earlier.booster_.get_dump() == earlier_trees  # and the earlier fit is untouched
    assert refit.cutoff_ == CUTOFF and refit.state_.origin == CUTOFF  # forecasts from now
    keys = test_rows[[c.RESTAURANT_ID, c.DS]]
    merged = test_rows.merge(refit.predict(keys).data, on=[c.RESTAURANT_ID, c.DS])
    assert len(merged) == len(test_rows)
    y = merged[c.Y].to_numpy()
    assert _rmsle(y, merged[c.YHAT].to_numpy()) < 0.8 * _rmsle(y, _seasonal_naive(train, merged))

    # where it cannot continue, the refit is the plain fit (`fitted`: FAST on `train`)
    def plain(model: XGBoostForecaster) -> None:
        assert model.booster_.num_boosted_rounds() == 60
        pd.testing.assert_frame_equal(model.predict(keys).data, fitted.predict(keys).data)

    plain(XGBoostForecaster(**FAST, refit_rounds=None).fit(train, calendar, earlier=earlier))
    few_rows = {**settings, "row_budget": 12 * (182 // 7) * HORIZON}  # weekly rows: all of it
    small = XGBoostForecaster(**few_rows)
    small.fit(train, calendar, earlier=XGBoostForecaster(**few_rows).fit(earlier_cut, calendar))
    assert small.booster_.num_boosted_rounds() == 60
    later = XGBoostForecaster(**settings).fit(train.until(CUTOFF), calendar)
    shorter = train.until(CUTOFF - pd.Timedelta(days=7))
    after = XGBoostForecaster(**settings).fit(shorter, calendar, earlier=later)
    assert after.booster_.num_boosted_rounds() == 60  # the earlier fit saw later days
    other = XGBoostForecaster(**{**settings, "max_depth": 4}).fit(train, calendar, earlier=earlier)
    assert other.booster_.num_boosted_rounds() == 60  # other settings
    with pytest.raises(ValueError, match="refit_rounds must be 0 or more"):
        XGBoostForecaster(**{**settings, "refit_rounds": -1}).fit(train, earlier=earlier)
    no_genre = XGBoostForecaster(**settings).fit(earlier_cut)  # no calendar: other features
    plain(XGBoostForecaster(**settings).fit(train, calendar, earlier=no_genre))
