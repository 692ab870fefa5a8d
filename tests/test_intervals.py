"""Split-conformal intervals: quantiles, pooling, coverage on simulated data, serialisation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models import intervals as iv
from models.baselines import WeekdayMedian
from models.frames import STEP, ForecastFrame, SeriesFrame, interval_columns
from tests.synthetic_series import horizon, synthetic_frame, synthetic_series

SIGMA0, SIGMA_GROWTH = 0.15, 0.01


def _simulate(n_rows: int, seed: int, horizon_steps: int = 28) -> pd.DataFrame:
    """Forecasts with log1p errors whose spread grows with the step (and a slight skew)."""
    rng = np.random.default_rng(seed)
    step = rng.integers(1, horizon_steps + 1, n_rows)
    yhat = rng.uniform(5.0, 200.0, n_rows)
    sigma = SIGMA0 + SIGMA_GROWTH * step
    noise = rng.normal(0.0, sigma) + 0.5 * sigma * (rng.exponential(1.0, n_rows) - 1.0)
    y = np.expm1(np.log1p(yhat) + noise)
    ds = pd.Timestamp("2024-06-01") + pd.to_timedelta(step, unit="D")
    return pd.DataFrame(
        {
            c.RESTAURANT_ID: [f"r{i}" for i in range(n_rows)],
            c.DS: ds,
            c.MODEL: "m",
            c.Y: y,
            c.YHAT: yhat,
            STEP: step,
        }
    )


def test_conformal_bounds_are_finite_sample_order_statistics() -> None:
    res = pd.DataFrame({c.MODEL: "m", STEP: 1, iv.RESIDUAL: np.arange(1.0, 40.0)})  # n = 39
    row = iv.conformal_table(res, levels=(80, 95)).set_index(iv.LEVEL)
    # 95%: ceil(40 * 0.975) = 39th, floor(40 * 0.025) = 1st; 80%: 36th and 4th.
    assert (row.loc[95, iv.LOWER_Q], row.loc[95, iv.UPPER_Q]) == (1.0, 39.0)
    assert (row.loc[80, iv.LOWER_Q], row.loc[80, iv.UPPER_Q]) == (4.0, 36.0)


def test_sparse_steps_borrow_their_neighbours() -> None:
    res = pd.DataFrame(
        {c.MODEL: "m", STEP: np.repeat(np.arange(1, 11), 5), iv.RESIDUAL: np.linspace(-1, 1, 50)}
    )
    table = iv.conformal_table(res, levels=(80, 95), min_count=30)
    assert (table[table[iv.LEVEL] == 80][iv.N] >= 30).all()
    assert (table[table[iv.LEVEL] == 95][iv.N] >= 39).all()
    assert sorted(table[STEP].unique()) == list(range(1, 11))


@pytest.mark.parametrize("level", [80, 95])
def test_coverage_on_simulated_data_is_close_to_nominal(level: int) -> None:
    calibration, test = _simulate(6000, seed=1), _simulate(6000, seed=2)
    table = iv.conformal_table(iv.residuals(calibration), levels=(level,))
    keys = [c.RESTAURANT_ID, c.DS, c.MODEL, c.YHAT, STEP]
    out = iv.apply_intervals(ForecastFrame.from_frame(test[keys]), table, levels=(level,)).data
    lo, hi = interval_columns(level)
    inside = (test[c.Y].to_numpy() >= out[lo].to_numpy()) & (
        test[c.Y].to_numpy() <= out[hi].to_numpy()
    )
    assert inside.mean() == pytest.approx(level / 100, abs=0.025)
    widths = table.set_index(STEP)[iv.UPPER_Q] - table.set_index(STEP)[iv.LOWER_Q]
    assert widths.loc[28] > widths.loc[1]  # the spread grows with the horizon


def test_intervals_contain_yhat_are_nonnegative_and_extend_past_the_table() -> None:
    table = iv.conformal_table(iv.residuals(_simulate(2000, seed=3, horizon_steps=5)))
    forecast = pd.DataFrame(
        {
            c.RESTAURANT_ID: "r",
            c.DS: pd.date_range("2024-06-02", periods=10),
            c.MODEL: ["m"] * 5 + ["unknown"] * 5,
            c.YHAT: [0.0, 0.5, 3.0, 10.0, 100.0] * 2,
        }
    )
    out = iv.apply_intervals(
        ForecastFrame.from_frame(forecast), table, cutoff=pd.Timestamp("2024-06-01")
    ).data
    assert out[STEP].tolist() == list(range(1, 11))
    for level in (80, 95):
        lo, hi = interval_columns(level)
        assert (out[lo] >= 0).all()
        assert (out[lo] <= out[c.YHAT]).all()
        assert (out[hi] >= out[c.YHAT]).all()
    # Steps 6..10 (beyond the table) reuse step 5; an unknown model gets the widest bounds.
    step5 = table[(table[STEP] == 5) & (table[iv.LEVEL] == 80)].iloc[0]
    expected = np.expm1(np.log1p(100.0) + step5[iv.UPPER_Q])
    assert out[interval_columns(80)[1]].iloc[4] == pytest.approx(expected)
    assert out[interval_columns(80)[1]].iloc[9] == pytest.approx(expected)


def test_table_round_trips_through_json_and_csv(tmp_path: pytest.TempPathFactory) -> None:
    table = iv.conformal_table(iv.residuals(_simulate(500, seed=4, horizon_steps=3)))
    again = iv.table_from_records(json.loads(json.dumps(iv.table_to_records(table))))
    pd.testing.assert_frame_equal(again, table)
    path = f"{tmp_path}/table.csv"
    table.to_csv(path, index=False)
    pd.testing.assert_frame_equal(iv.table_from_records(pd.read_csv(path)), table)
    with pytest.raises(ValueError, match="missing"):
        iv.table_from_records([{c.MODEL: "m"}])


def test_calibrated_wraps_any_forecaster() -> None:
    series = synthetic_series(40, 200, seed=5, noise=0.2)
    model = iv.Calibrated(WeekdayMedian(), validation_horizon=28).fit(series)
    assert set(model.table_[c.MODEL]) == {"weekday_median"}
    assert model.validation_[STEP].between(1, 28).all()
    out = model.predict(horizon(series)).data
    assert (out[c.MODEL] == "weekday_median").all()
    assert {"yhat_lower_80", "yhat_upper_95"} <= set(out.columns)


def test_calibrated_coverage_on_a_backtest_window() -> None:
    full = synthetic_series(60, 230, seed=6, noise=0.2)
    cutoff = pd.Timestamp(full.data[c.DS].max()) - pd.Timedelta(days=28)
    model = iv.Calibrated(WeekdayMedian()).fit(full.until(cutoff))
    test = full.between(cutoff, cutoff + pd.Timedelta(days=28)).data
    out = model.predict(test[[c.RESTAURANT_ID, c.DS]]).data.merge(test)
    for level, tolerance in ((80, 0.07), (95, 0.05)):
        lo, hi = interval_columns(level)
        covered = ((out[c.Y] >= out[lo]) & (out[c.Y] <= out[hi])).mean()
        assert covered == pytest.approx(level / 100, abs=tolerance)


def _one_restaurant(seed: int, days: int = 200) -> SeriesFrame:
    """Restaurant r1 alone (open every day): y = level x trend x weekday x lognormal(0, 0.2)."""
    frame = synthetic_frame(2, days, seed=seed, noise=0.2, closed_share=0.0)
    return SeriesFrame.from_frame(frame[frame[c.RESTAURANT_ID] == "r1"])


def test_validation_windows_are_back_to_back_and_need_history() -> None:
    # 100 days from 2024-01-01 (last 2024-04-09), H = 28: origins on day 71 (2024-03-12) and
    # day 43 (2024-02-13); a third on day 15 would have fewer than 28 days before it.
    series = synthetic_series(2, 100, seed=7)
    windows = iv.validation_windows(series, 28, 3)
    assert [origin for _, _, origin in windows] == [
        pd.Timestamp("2024-03-12"),
        pd.Timestamp("2024-02-13"),
    ]
    for train, valid, origin in windows:
        assert train.data[c.DS].max() <= origin < valid.data[c.DS].min()
        assert valid.data[c.DS].max() <= origin + pd.Timedelta(days=28)
    assert iv.validation_windows(series, 0, 3) == []


def test_calibrated_pools_residuals_from_every_origin() -> None:
    series = _one_restaurant(8)
    one = iv.Calibrated(WeekdayMedian(), validation_origins=1).fit(series)
    three = iv.Calibrated(WeekdayMedian(), validation_origins=3).fit(series)
    # One window of one restaurant: 28 residuals, one per step, fewer than the 30 wanted, so
    # every step pools the whole window.
    assert len(one.validation_) == 28
    assert (one.table_[iv.N] == 28).all()
    # Three windows: 3 residuals per step; a step pools its neighbours until it holds >= 30
    # (80%) or >= 39 (95%): 11 steps (33) and 13 steps (39) around it.
    assert len(three.validation_) == 84
    assert (three.validation_.groupby(STEP).size() == 3).all()
    table = three.table_.set_index([iv.LEVEL, STEP])[iv.N]
    assert table.loc[(80, 14)] == 33
    assert table.loc[(95, 14)] == 39


def test_single_restaurants_are_calibrated_with_several_origins() -> None:
    # 24 restaurants, each calibrated alone (3 origins), scored on the 28 days after the cutoff.
    inside: dict[int, list[np.ndarray]] = {80: [], 95: []}
    for seed in range(24):
        full = _one_restaurant(100 + seed, 228)
        cutoff = pd.Timestamp(full.data[c.DS].max()) - pd.Timedelta(days=28)
        test = full.between(cutoff, cutoff + pd.Timedelta(days=28)).data
        model = iv.Calibrated(WeekdayMedian(), validation_origins=3).fit(full.until(cutoff))
        out = model.predict(test[[c.RESTAURANT_ID, c.DS]]).data.merge(test)
        for level, rows in inside.items():
            lo, hi = interval_columns(level)
            rows.append(((out[c.Y] >= out[lo]) & (out[c.Y] <= out[hi])).to_numpy())
    assert 0.75 <= np.concatenate(inside[80]).mean() <= 0.85
    assert 0.92 <= np.concatenate(inside[95]).mean() <= 0.97


def _bounds_frame() -> pd.DataFrame:
    lo80, hi80 = interval_columns(80)
    lo95, hi95 = interval_columns(95)
    return pd.DataFrame(
        {
            c.YHAT: [10.0, 0.0],
            lo80: [5.0, 0.0],
            hi80: [20.0, 0.0],
            lo95: [2.0, 0.0],
            hi95: [30.0, 0.0],
        }
    )


def test_quantiles_are_read_off_the_intervals() -> None:
    frame = _bounds_frame()
    out = iv.with_quantiles(frame, (0.025, 0.1, 0.3, 0.5, 0.9, 0.975))
    assert out["yhat_q2.5"].tolist() == [2.0, 0.0]
    assert out["yhat_q10"].tolist() == [5.0, 0.0]
    assert out["yhat_q50"].tolist() == [10.0, 0.0]
    assert out["yhat_q90"].tolist() == [20.0, 0.0]
    assert out["yhat_q97.5"].tolist() == [30.0, 0.0]
    # 0.3 is halfway from 0.1 to 0.5: exp((log 6 + log 11) / 2) - 1 = sqrt(66) - 1.
    assert out["yhat_q30"].iloc[0] == pytest.approx(66**0.5 - 1.0)
    assert out["yhat_q30"].iloc[1] == 0.0
    with pytest.raises(ValueError, match=r"outside 0.025..0.975"):
        iv.with_quantiles(frame, (0.01,))
    with pytest.raises(ValueError, match="between 0 and 1"):
        iv.with_quantiles(frame, (1.0,))


def test_wider_intervals_always_contain_narrower_ones() -> None:
    # A table whose 95% quantiles are narrower than its 80% ones (too few residuals can do it).
    table = pd.DataFrame(
        {
            c.MODEL: "m",
            STEP: 1,
            iv.LEVEL: [80, 95],
            iv.LOWER_Q: [-0.5, -0.2],
            iv.UPPER_Q: [0.5, 0.2],
            iv.N: 40,
        }
    )
    forecast = pd.DataFrame(
        {c.RESTAURANT_ID: "r", c.DS: pd.Timestamp("2024-06-02"), c.MODEL: "m", c.YHAT: [20.0]}
    )
    out = iv.apply_intervals(
        ForecastFrame.from_frame(forecast),
        iv.table_from_records(table),
        cutoff=pd.Timestamp("2024-06-01"),
    ).data
    lo80, hi80 = interval_columns(80)
    lo95, hi95 = interval_columns(95)
    assert out[lo95].iloc[0] == out[lo80].iloc[0] == pytest.approx(np.expm1(np.log1p(20.0) - 0.5))
    assert out[hi95].iloc[0] == out[hi80].iloc[0] == pytest.approx(np.expm1(np.log1p(20.0) + 0.5))
