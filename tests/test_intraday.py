"""Intraday split: exact daily sums, profile fallbacks, business days past midnight, DST days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models.frames import interval_columns
from models.intervals import with_quantiles
from models.intraday import (
    IntradayShape,
    business_day_slots,
    intraday_profile,
    mean_share_profile,
    split_daily,
)

LUNCH, DINNER = 12, 19


def _history(
    restaurants: dict[str, float],
    days: int = 56,
    *,
    skip_weekday: int | None = None,
    start: str = "2024-01-01",
    cutoff_hour: int = 0,
) -> pd.DataFrame:
    """15-minute history: lunch-heavy days, dinner-heavy Saturdays."""
    rng = np.random.default_rng(0)
    rows = []
    for rid, level in restaurants.items():
        for day in pd.date_range(start, periods=days):
            if skip_weekday is not None and day.day_of_week == skip_weekday:
                continue
            slots = pd.date_range(day + pd.Timedelta(hours=cutoff_hour), periods=96, freq="15min")
            hour = slots.hour + slots.minute / 60
            lunch, dinner = (1.0, 3.0) if day.day_of_week == 5 else (2.0, 1.0)
            shape = lunch * np.exp(-((hour - LUNCH) ** 2)) + dinner * np.exp(
                -((hour - DINNER) ** 2)
            )
            y = rng.poisson(level * shape)
            rows.append(pd.DataFrame({c.RESTAURANT_ID: rid, c.DS: slots, c.Y: y.astype(float)}))
    return pd.concat(rows, ignore_index=True)


def _daily(rids: list[str], dates: list[str]) -> pd.DataFrame:
    lo80, hi80 = interval_columns(80)
    frame = pd.DataFrame(
        [(r, pd.Timestamp(d)) for r in rids for d in dates], columns=[c.RESTAURANT_ID, c.DS]
    )
    yhat = np.linspace(50.3, 150.7, len(frame))
    frame[c.MODEL] = "ensemble"
    frame[c.YHAT], frame[lo80], frame[hi80] = yhat, 0.7 * yhat, 1.4 * yhat
    return frame


def _sums(out: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    sums = out.groupby([c.RESTAURANT_ID, c.BUSINESS_DATE])[[c.YHAT, *interval_columns(80)]].sum()
    expected = daily.rename(columns={c.DS: c.BUSINESS_DATE}).set_index(
        [c.RESTAURANT_ID, c.BUSINESS_DATE]
    )
    return sums.join(expected.add_suffix("_daily"))


def test_split_sums_exactly_and_scales_intervals() -> None:
    history = _history({"a": 10.0, "b": 4.0})
    daily = _daily(["a", "b"], ["2024-02-26", "2024-03-02"])
    out = split_daily(daily, business_day_slots(daily), history)
    assert len(out) == 4 * 96
    sums = _sums(out, daily)
    np.testing.assert_allclose(sums[c.YHAT], sums[f"{c.YHAT}_daily"], rtol=1e-13)
    lo, hi = interval_columns(80)
    np.testing.assert_allclose(sums[lo], sums[f"{lo}_daily"], rtol=1e-12)
    np.testing.assert_allclose(sums[hi], sums[f"{hi}_daily"], rtol=1e-12)
    assert (out[lo] <= out[c.YHAT] + 1e-9).all()
    assert (out[hi] >= out[c.YHAT] - 1e-9).all()


def test_weekday_profiles_differ_and_peaks_are_where_the_history_has_them() -> None:
    history = _history({"a": 10.0})
    daily = _daily(["a"], ["2024-02-26", "2024-03-02"])  # a Monday and a Saturday
    out = split_daily(daily, business_day_slots(daily), history)
    peaks = out.loc[out.groupby(c.BUSINESS_DATE)[c.YHAT].idxmax(), c.DS].dt.hour.tolist()
    assert peaks == [LUNCH, DINNER]


def test_weekday_without_history_falls_back_to_all_weekdays() -> None:
    history = _history({"a": 10.0}, skip_weekday=0)  # never open on Mondays before
    profile = intraday_profile(history)
    daily = _daily(["a"], ["2024-02-26"])
    out = split_daily(daily, business_day_slots(daily), profile)
    shares = (
        out.set_index(out[c.DS].dt.hour * 60 + out[c.DS].dt.minute)[c.YHAT] / daily[c.YHAT].item()
    )
    expected = profile.by_restaurant.loc["a"]
    np.testing.assert_allclose(shares.loc[expected.index], expected, rtol=1e-9)


def test_unknown_restaurant_uses_other_restaurants_then_uniform() -> None:
    history = _history({"a": 10.0}, days=14)
    daily = _daily(["new"], ["2024-01-15"])
    out = split_daily(daily, business_day_slots(daily, "h"), history)
    assert len(out) == 24
    assert out[c.DS].dt.hour.iloc[int(out[c.YHAT].argmax())] in (LUNCH, DINNER)
    empty = history.iloc[:0]
    uniform = split_daily(daily, business_day_slots(daily, "h"), empty)
    np.testing.assert_allclose(uniform[c.YHAT], daily[c.YHAT].item() / 24)


def test_business_day_past_midnight() -> None:
    history = _history({"a": 10.0}, cutoff_hour=4)
    daily = _daily(["a"], ["2024-02-26"])
    slots = business_day_slots(daily, cutoff_hour=4)
    assert slots[c.DS].min() == pd.Timestamp("2024-02-26 04:00")
    assert slots[c.DS].max() == pd.Timestamp("2024-02-27 03:45")
    out = split_daily(daily, slots, history, cutoff_hour=4)
    assert out[c.YHAT].sum() == pytest.approx(daily[c.YHAT].item(), rel=1e-13)


@pytest.mark.parametrize(("day", "n_slots"), [("2024-03-31", 92), ("2024-10-27", 96)])
def test_dst_days_split_exactly(day: str, n_slots: int) -> None:
    # Europe/Berlin: 02:00-03:00 does not exist on 31 March; 02:00-03:00 repeats on 27 October
    # (one naive slot each, as in naive local history).
    start = (pd.Timestamp(day) - pd.Timedelta(days=56)).strftime("%Y-%m-%d")
    history = _history({"a": 10.0}, days=56, start=start)
    daily = _daily(["a"], [day])
    slots = business_day_slots(daily, tz="Europe/Berlin")
    assert len(slots) == n_slots
    out = split_daily(daily, slots, history)
    assert len(out) == n_slots
    assert out[c.YHAT].sum() == pytest.approx(daily[c.YHAT].item(), rel=1e-13)
    assert (out[c.YHAT] >= 0).all()


def test_slot_quantiles_stay_the_slot_intervals() -> None:
    history = _history({"a": 10.0})
    daily = with_quantiles(_daily(["a"], ["2024-02-26", "2024-02-27"]), (0.1, 0.3, 0.5, 0.9))
    out = split_daily(daily, business_day_slots(daily), history)
    lo, hi = interval_columns(80)
    # The same share scales the daily bound and the daily quantile: equal to the last bit.
    assert (out["yhat_q10"] == out[lo]).all()
    assert (out["yhat_q90"] == out[hi]).all()
    assert (out["yhat_q10"] <= out["yhat_q30"]).all()
    assert (out["yhat_q30"] <= out["yhat_q50"] + 1e-9).all()
    sums = out.groupby(c.BUSINESS_DATE)["yhat_q90"].sum().to_numpy()
    np.testing.assert_allclose(sums, daily[hi].to_numpy(), rtol=1e-12)


# --- the learned shape and the baseline -----------------------------------------------------------


def _level_history(days: int = 84) -> pd.DataFrame:
    """Two slots a day (12:00 and 19:00) on every day; a busy day (every third, 40 orders) is
    dinner-heavy (10 lunch, 30 dinner), an ordinary day (20 orders) lunch-heavy (15 and 5)."""
    rows = []
    for i, day in enumerate(pd.date_range("2024-01-01", periods=days)):
        lunch, dinner = (10.0, 30.0) if i % 3 == 0 else (15.0, 5.0)
        rows.append((day + pd.Timedelta(hours=LUNCH), lunch))
        rows.append((day + pd.Timedelta(hours=DINNER), dinner))
    return pd.DataFrame(rows, columns=[c.DS, c.Y]).assign(**{c.RESTAURANT_ID: "a"})


def test_mean_share_baseline_averages_the_days_shares() -> None:
    # Two Mondays: 1 and 3 orders (shares 0.25, 0.75), then 6 and 2 (0.75, 0.25). The baseline's
    # mean shares are 0.5 and 0.5; the ratio of sums would be 7/12 and 5/12.
    history = pd.DataFrame(
        {
            c.RESTAURANT_ID: "a",
            c.DS: pd.to_datetime(
                ["2024-01-01 12:00", "2024-01-01 19:00", "2024-01-08 12:00", "2024-01-08 19:00"]
            ),
            c.Y: [1.0, 3.0, 6.0, 2.0],
        }
    )
    baseline = mean_share_profile(history).by_weekday.loc[("a", 0)]
    np.testing.assert_allclose(baseline.loc[[12 * 60, 19 * 60]], [0.5, 0.5])
    ratio = intraday_profile(history).by_weekday.loc[("a", 0)]
    np.testing.assert_allclose(ratio.loc[[12 * 60, 19 * 60]], [7 / 12, 5 / 12])


def test_shape_learns_that_a_busy_day_is_not_a_scaled_quiet_day() -> None:
    shape = IntradayShape().fit(_level_history())
    assert shape.use_band_  # the held-out weeks are better split with the level bands
    daily = pd.DataFrame(
        {c.RESTAURANT_ID: "a", c.DS: pd.to_datetime(["2024-03-25", "2024-04-01"])}
    ).assign(**{c.MODEL: "ensemble", c.YHAT: [40.0, 20.0]})  # a busy and an ordinary Monday
    out = split_daily(daily, business_day_slots(daily), shape)
    at = out[c.DS] - out[c.BUSINESS_DATE]
    dinner = out[at == pd.Timedelta(hours=DINNER)].set_index(c.BUSINESS_DATE)[c.YHAT]
    lunch = out[at == pd.Timedelta(hours=LUNCH)].set_index(c.BUSINESS_DATE)[c.YHAT]
    busy, quiet = pd.Timestamp("2024-03-25"), pd.Timestamp("2024-04-01")
    assert dinner[busy] > lunch[busy]  # the busy day's dinner dominates
    assert lunch[quiet] > dinner[quiet]  # the ordinary day stays lunch-heavy
    baseline = split_daily(daily, business_day_slots(daily), mean_share_profile(_level_history()))
    at = baseline[c.DS] - baseline[c.BUSINESS_DATE]
    plain = baseline[at == pd.Timedelta(hours=DINNER)].set_index(c.BUSINESS_DATE)[c.YHAT]
    # The baseline scales one shape: dinner is the same share of both days.
    assert plain[busy] / 40.0 == pytest.approx(plain[quiet] / 20.0)


def test_shape_learns_holidays_when_they_help() -> None:
    history = _history({"a": 10.0}, days=84)
    holidays = pd.date_range("2024-01-03", periods=16, freq="5D")  # every fifth day, any weekday
    evening = history[c.DS].dt.hour >= 17
    on_holiday = history[c.DS].dt.normalize().isin(holidays)
    history.loc[on_holiday & ~evening, c.Y] = 0.0  # holidays: evening trade only
    history.loc[on_holiday & evening, c.Y] += 5.0
    shape = IntradayShape(holidays={"a": frozenset(holidays)}).fit(history)
    assert shape.use_holiday_


@pytest.mark.parametrize("days", [84, 30])
def test_shape_slots_sum_exactly_to_the_daily_forecast(days: int) -> None:
    history = _history({"a": 10.0, "b": 4.0}, days=days)
    shape = IntradayShape().fit(history)
    daily = _daily(["a", "b", "new"], ["2024-03-25", "2024-03-30", "2024-03-31"])
    out = split_daily(daily, business_day_slots(daily), shape)
    assert len(out) == 9 * 96  # "new" has no history: the fallback levels serve it
    sums = _sums(out, daily)
    np.testing.assert_array_equal(sums[c.YHAT].to_numpy(), sums[f"{c.YHAT}_daily"].to_numpy())
    lo, hi = interval_columns(80)
    np.testing.assert_allclose(sums[lo], sums[f"{lo}_daily"], rtol=1e-12)
    np.testing.assert_allclose(sums[hi], sums[f"{hi}_daily"], rtol=1e-12)
    assert (out[c.YHAT] >= 0).all()


def test_shape_before_fit_raises() -> None:
    from sklearn.exceptions import NotFittedError

    daily = _daily(["a"], ["2024-03-25"])
    with pytest.raises(NotFittedError):
        split_daily(daily, business_day_slots(daily), IntradayShape())
