"""A fitted ensemble saved as portable files forecasts identically after loading."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models import registry
from models.base import Calendar, Forecaster, future_frame
from models.ensemble import EnsembleForecaster
from models.frames import SeriesFrame
from models.persistence import ENSEMBLE_FILE, dump_ensemble, ensemble_files, load_ensemble
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


class StoredMean(Forecaster):
    """A forecaster models.persistence has never heard of: its level per restaurant, saved in a
    file it names itself, and loaded back without refitting."""

    name = "stored_mean"
    FILE = "stored_mean/levels.json"

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        self.level_ = series.data.groupby(c.RESTAURANT_ID)[c.Y].mean().to_dict()

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        levels = future[c.RESTAURANT_ID].map(self.level_).to_numpy(dtype=float)
        return np.asarray(levels * self.scale, dtype=float)

    def to_files(self) -> dict[str, bytes]:
        return {self.FILE: json.dumps(self.level_).encode()}

    def files_state(self) -> dict[str, Any]:
        return {"restaurants": list(self.restaurants_)}

    @classmethod
    def from_files(
        cls,
        files: Mapping[str, bytes],
        *,
        params: Mapping[str, Any],
        state: Mapping[str, Any],
        history: SeriesFrame,
        calendar: Calendar,
    ) -> Self:
        model = cls(**params)
        model.level_ = json.loads(files[cls.FILE])
        model.restaurants_ = list(state["restaurants"])
        model.failed_ = {}
        model.freq_ = "D"
        model.cutoff_ = pd.Timestamp(history.data[c.DS].max())
        return model


class SameFile(StoredMean):
    """Another member that names the same file."""

    name = "same_file"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.FORECASTERS, "stored_mean", "tests.test_persistence:StoredMean")
    monkeypatch.setitem(registry.FORECASTERS, "same_file", "tests.test_persistence:SameFile")


def test_each_member_saves_and_loads_its_own_files(
    registered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = synthetic_series(3, 120, seed=5)
    model = EnsembleForecaster(
        members=("stored_mean", "weekday_median"), validation_horizon=14, member_params={}
    ).fit(series, Calendar())
    saved = ensemble_files(model)
    assert saved.members == {"stored_mean": [StoredMean.FILE], "weekday_median": []}
    members = json.loads(saved.files[ENSEMBLE_FILE])["members"]
    assert members["stored_mean"] == {"params": {"scale": 1.0}, "restaurants": series.restaurants}
    assert members["weekday_median"]["refit"] is True  # no files: refitted from the history

    def no_refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member with files is loaded, not refitted")

    monkeypatch.setattr(StoredMean, "_fit", no_refit)
    loaded = load_ensemble(saved.files, series, Calendar())
    assert loaded.members_["stored_mean"].level_ == model.members_["stored_mean"].level_
    future = future_frame(series.restaurants, model.cutoff_ + pd.Timedelta(days=1), 7)
    pd.testing.assert_frame_equal(model.predict(future).data, loaded.predict(future).data)


def test_two_members_naming_one_file_are_refused(registered: None) -> None:
    series = synthetic_series(2, 90, seed=6)
    model = EnsembleForecaster(
        members=("stored_mean", "same_file"), validation_horizon=14, member_params={}
    ).fit(series, Calendar())
    with pytest.raises(ValueError, match=r"member same_file names files already taken"):
        ensemble_files(model)
