"""A fitted ensemble saved as portable files forecasts identically after loading."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from models import columns as c
from models.base import Calendar, future_frame
from models.ensemble import EnsembleForecaster
from models.frames import SeriesFrame
from models.persistence import ENSEMBLE_FILE, dump_ensemble, load_ensemble
from tests.synthetic_series import synthetic_series


@pytest.fixture(scope="module")
def fitted() -> tuple[EnsembleForecaster, SeriesFrame]:
    series = synthetic_series(3, 200, seed=4)
    model = EnsembleForecaster(
        members=("prophet", "xgboost"),
        validation_horizon=14,
        member_params={"xgboost": {"n_estimators": 40, "horizon": 14, "origins_span": 84}},
    ).fit(series, Calendar())
    return model, series


def test_round_trip_gives_identical_forecasts(
    fitted: tuple[EnsembleForecaster, SeriesFrame],
) -> None:
    model, series = fitted
    files = dump_ensemble(model)
    assert ENSEMBLE_FILE in files and "xgboost.ubj" in files
    assert any(name.startswith("prophet/") for name in files)
    json.loads(files[ENSEMBLE_FILE])  # portable JSON, not a pickle
    start = model.cutoff_ + pd.Timedelta(days=1)
    future = future_frame(series.restaurants, start, 14)
    before = model.predict_all(future).data
    after = load_ensemble(files, series, Calendar()).predict_all(future).data
    key = [c.MODEL, c.RESTAURANT_ID, c.DS]
    pd.testing.assert_frame_equal(
        before.sort_values(key).reset_index(drop=True),
        after.sort_values(key).reset_index(drop=True)[before.columns],
    )
