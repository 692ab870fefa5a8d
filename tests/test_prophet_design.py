"""models.prophet_design: Prophet's design-matrix bookkeeping on arrays gives Prophet's frames.

Each case builds the same Prophet twice, once as ``prophet.Prophet`` and once as
:func:`models.prophet_design.fast_prophet_class`, and compares what
``make_all_seasonality_features`` returns (features, prior scales, component columns, modes) at
fit time and again at predict time; the tolerance is none (frames equal, dtypes included).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.prophet_design import _plain_frame, fast_prophet_class, holiday_features

pytestmark = pytest.mark.filterwarnings("ignore")  # Prophet's own deprecation warnings


def _history(days: int = 200, *, regressor: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    ds = pd.date_range("2024-01-01", periods=days, freq="D")
    keep = rng.uniform(size=days) > 0.1  # closed days are absent rows
    frame = pd.DataFrame({"ds": ds, "y": rng.poisson(30.0, days).astype(float)})[keep]
    if regressor:
        frame["promo"] = rng.uniform(size=len(frame))
    return frame.reset_index(drop=True)


HOLIDAYS = pd.DataFrame(
    {
        "holiday": ["new_year", "festival", "festival", "closure", "late_only"],
        "ds": pd.to_datetime(
            ["2024-01-01", "2024-03-10", "2024-05-05", "2024-02-14", "2025-01-01"]
        ),
        "lower_window": [0, -1, -1, 0, 0],
        "upper_window": [1, 2, 2, 0, 0],
    }
)


def _build(cls: type[Any], case: str) -> Any:
    if case == "holidays":
        return cls(holidays=HOLIDAYS, uncertainty_samples=0)
    if case == "prior_scales":  # per-holiday prior scales, one of them blank (Prophet's default)
        holidays = HOLIDAYS.assign(prior_scale=[5.0, 2.0, 2.0, np.nan, 1.0])
        return cls(holidays=holidays, uncertainty_samples=0)
    if case == "regressors":  # an extra regressor and multiplicative seasonality
        model = cls(holidays=HOLIDAYS, seasonality_mode="multiplicative", uncertainty_samples=0)
        model.add_regressor("promo", mode="additive")
        return model
    if case == "nothing":  # no seasonality and no holidays: Prophet's "zeros" placeholder
        return cls(
            weekly_seasonality=False,
            yearly_seasonality=False,
            daily_seasonality=False,
            uncertainty_samples=0,
        )
    raise AssertionError(case)


def _features(model: Any, history: pd.DataFrame, future: pd.DataFrame) -> list[Any]:
    """What fit and predict build: Prophet's own steps, without the Stan fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.history = model.setup_dataframe(history.copy(), initialize_scales=True)
        model.set_auto_seasonalities()
        fitted = model.make_all_seasonality_features(model.history)
        model.train_component_cols = fitted[2]
        predicted = model.make_all_seasonality_features(model.setup_dataframe(future.copy()))
    return [*fitted, *predicted]


@pytest.mark.parametrize("case", ["holidays", "prior_scales", "regressors", "nothing"])
def test_design_frames_equal_prophets(case: str) -> None:
    from prophet import Prophet

    regressor = case == "regressors"
    history = _history(regressor=regressor)
    # Predict-time dates: one a day at noon (Prophet strips the time to find holidays), past
    # the history, so "new_year" and "festival" are absent and come back as all-zero columns.
    future = pd.DataFrame({"ds": pd.date_range("2024-07-20 12:00", periods=200, freq="D")})
    if regressor:
        future["promo"] = 0.5
    plain = _features(_build(Prophet, case), history, future)
    fast = _features(_build(fast_prophet_class(), case), history, future)
    for mine, theirs in zip(fast, plain, strict=True):
        if isinstance(theirs, pd.DataFrame):
            pd.testing.assert_frame_equal(mine, theirs)
        else:
            assert mine == theirs


def test_holiday_features_raise_as_prophet_does() -> None:
    from prophet import Prophet

    dates = pd.Series(pd.date_range("2024-01-01", periods=30, freq="D"))
    mixed = HOLIDAYS.assign(prior_scale=[1.0, 2.0, 3.0, 1.0, 1.0])  # "festival": 2 and 3
    negative = HOLIDAYS.assign(prior_scale=[1.0, 2.0, 2.0, -1.0, 1.0])
    for holidays, message in ((mixed, "consistent prior scale"), (negative, "must be > 0")):
        with pytest.raises(ValueError, match=message):
            Prophet().make_holiday_features(dates, holidays)
        with pytest.raises(ValueError, match=message):
            holiday_features(Prophet(), dates, holidays)


def test_holiday_features_mark_every_row_of_a_repeated_date() -> None:
    from prophet import Prophet

    # 2024-01-02 appears twice: Prophet's get_loc returns both rows and marks both.
    dates = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-05"]))
    mine, _, _ = holiday_features(Prophet(), dates, HOLIDAYS)
    theirs, _, _ = Prophet().make_holiday_features(dates, HOLIDAYS)
    pd.testing.assert_frame_equal(mine, theirs)
    # new_year on 01-01 with upper window 1: +0 marks row 0, +1 marks rows 1 and 2
    assert mine["new_year_delim_+0"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert mine["new_year_delim_+1"].tolist() == [0.0, 1.0, 1.0, 0.0]


def test_fast_prophet_fits_and_forecasts_exactly_as_prophet() -> None:
    """One Stan fit each: the same Stan data, so the same optimum, to the last bit."""
    from prophet import Prophet

    history = _history()
    history["y"] = np.log1p(history["y"])
    plain = Prophet(holidays=HOLIDAYS, uncertainty_samples=0)
    fast = fast_prophet_class()(holidays=HOLIDAYS, uncertainty_samples=0)
    plain.fit(history, seed=0)
    fast.fit(history, seed=0)
    assert plain.params.keys() == fast.params.keys()
    for name, value in plain.params.items():
        np.testing.assert_array_equal(fast.params[name], value)
    future = pd.DataFrame({"ds": pd.date_range("2024-07-01", periods=45, freq="D")})
    pd.testing.assert_frame_equal(fast.predict(future), plain.predict(future))


@pytest.mark.parametrize("case", ["holidays", "nothing"])
def test_stan_json_is_the_text_prophet_would_send(case: str) -> None:
    """The data file's text is ``json.dumps`` of Prophet's own ``prepare_data`` lists."""
    import dataclasses
    import json

    from prophet import Prophet
    from prophet.models import CmdStanPyBackend

    from models.prophet_design import stan_json

    history = _history(300)
    history["y"] = np.log1p(history["y"])
    model = _build(Prophet, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = model.preprocess(history)
    data = dataclasses.asdict(inputs)
    init = dataclasses.asdict(model.calculate_initial_params(inputs.K))
    expected = json.dumps(CmdStanPyBackend.prepare_data(init, data)[1])
    assert stan_json(data) == expected
    assert data["X"].shape[1] > (1 if case == "holidays" else 0)  # a real feature matrix


def _same(mine: Any, theirs: Any, where: str) -> None:
    if isinstance(theirs, pd.DataFrame):
        pd.testing.assert_frame_equal(mine, theirs, obj=where)
    elif isinstance(theirs, pd.Series):
        pd.testing.assert_series_equal(mine, theirs, obj=where)
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(mine, theirs, err_msg=where)
        assert mine.dtype == theirs.dtype, where
    elif isinstance(theirs, dict) and any(isinstance(v, np.ndarray) for v in theirs.values()):
        assert mine.keys() == theirs.keys(), where
        for key in theirs:
            _same(mine[key], theirs[key], f"{where}[{key}]")
    else:
        assert type(mine) is type(theirs) and mine == theirs, where


@pytest.mark.parametrize("case", ["holidays", "prior_scales", "regressors", "nothing", "yearly"])
def test_model_from_json_reads_what_prophets_reader_reads(case: str) -> None:
    """Every attribute of a fitted model read back from Prophet's JSON by
    :func:`models.prophet_design.model_from_json` equals Prophet's own reading of it (frames
    and series with their dtypes, index and names; timestamps; arrays; parameters), and so do
    its forecasts."""
    from prophet import serialize

    from models.prophet_design import model_from_json
    from models.prophet_model import _fit_prophet

    if case == "yearly":  # two years and a half, yearly seasonality on, no holidays
        history = _history(900)
        model = fast_prophet_class()(yearly_seasonality=True, uncertainty_samples=0)
    else:
        history = _history(regressor=case == "regressors")
        model = _build(fast_prophet_class(), case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit_prophet(model, history, seed=0)
        text = serialize.model_to_json(model)
        theirs = serialize.model_from_json(text)
    mine = model_from_json(text)
    assert type(mine) is type(theirs)
    assert vars(mine).keys() == vars(theirs).keys()
    for name, value in vars(theirs).items():
        _same(getattr(mine, name), value, name)
    future = pd.DataFrame({"ds": pd.date_range("2024-07-01", periods=30, freq="D")})
    if case == "regressors":
        future["promo"] = 0.25
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_frame_equal(mine.predict(future), theirs.predict(future))


def _fit_case(case: str) -> pd.DataFrame:
    """Histories that take the other branches of Prophet's set-up."""
    if case == "yearly":  # over two years: yearly seasonality on ("auto")
        return _history(900)
    if case == "short":  # 20 rows: fewer changepoints than asked for
        return _history(22)
    if case == "unsorted":  # shuffled rows, some y missing (dropped), a repeated date
        frame = _history().sample(frac=1.0, random_state=5).reset_index(drop=True)
        frame.loc[[3, 17, 40], "y"] = np.nan
        return pd.concat([frame, frame.iloc[[8]]], ignore_index=True)
    if case == "weekly_rows":  # one row a week: weekly seasonality off ("auto")
        return _history(400).iloc[::7].reset_index(drop=True)
    if case == "constant":  # every y the same: Prophet skips the optimiser
        return _history().assign(y=12.0)
    if case == "zeros":  # every y zero: the scale falls back to 1
        return _history().assign(y=0.0)
    if case == "nanoseconds":  # dates in ns (pandas' date_range gives us)
        return _history().astype({"ds": "datetime64[ns]"})
    return _history()


FIT_CASES = ["holidays", "nothing", "yearly", "short", "unsorted", "weekly_rows", "constant"]
FIT_CASES += ["zeros"]


@pytest.mark.parametrize("case", [*FIT_CASES, "nanoseconds"])
def test_fast_prophet_sets_up_a_fit_as_prophet_does(case: str) -> None:
    """:func:`fast_prophet_class` replaces ``setup_dataframe``, ``set_auto_seasonalities`` and
    the Stan backend's loading: a fit of each history leaves every attribute Prophet's own fit
    leaves (frames with their dtypes and index, timestamps, arrays, the Stan parameters), and
    the same JSON."""
    from prophet import Prophet, serialize

    from models.prophet_model import _fit_prophet

    history = _fit_case(case)
    assert _plain_frame(history)  # the fast set-up is the one tested
    built = [
        _build(cls, "nothing" if case == "nothing" else "holidays")
        for cls in (Prophet, fast_prophet_class())
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in built:
            _fit_prophet(model, history.copy(), seed=0)
    theirs, mine = built
    assert vars(mine).keys() == vars(theirs).keys()
    for name, value in vars(theirs).items():
        if name != "stan_backend":
            _same(getattr(mine, name), value, name)
    assert serialize.model_to_json(mine) == serialize.model_to_json(theirs)
    if case == "short":
        assert mine.n_changepoints < 25
    if case == "weekly_rows":
        assert "weekly" not in mine.seasonalities
    if case == "yearly":
        assert "yearly" in mine.seasonalities


def test_fast_prophet_refuses_bad_rows_as_prophet_does() -> None:
    from prophet import Prophet

    bad_y = _history().assign(y=lambda f: f["y"].where(f.index != 5, np.inf))
    for cls in (Prophet, fast_prophet_class()):
        with pytest.raises(ValueError, match="Found infinity in column y"):
            cls().fit(bad_y)
        with pytest.raises(ValueError, match="less than 2 non-NaN rows"):
            cls().fit(_history().iloc[:1])


def test_a_fitted_fast_prophet_pickles_by_the_class_name() -> None:
    """Fitted models come back from joblib's workers pickled: the class is named
    (``models.prophet_design.FastProphet``), not carried as code, and reads back as itself."""
    import pickle

    import cloudpickle

    from models.prophet_model import _fit_prophet

    model = _build(fast_prophet_class(), "holidays")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit_prophet(model, _history(), seed=0)
    future = pd.DataFrame({"ds": pd.date_range("2024-07-01", periods=30, freq="D")})
    for dumps in (pickle.dumps, cloudpickle.dumps):
        blob = dumps(model)
        assert b"models.prophet_design" in blob and b"FastProphet" in blob
        assert b"regressor_column_matrix" not in blob  # no method code inside
        again = pickle.loads(blob)
        assert type(again) is fast_prophet_class()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.testing.assert_frame_equal(again.predict(future), model.predict(future))
