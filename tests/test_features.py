"""Features for global models: no leakage past the origin, and correct calendar knowledge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models.base import Calendar
from models.calendar_features import (
    DAYS_SINCE_EVENT,
    DAYS_SINCE_HOLIDAY,
    DAYS_TO_EVENT,
    DAYS_TO_HOLIDAY,
    IN_EVENT,
    IS_CLOSED,
    IS_HOLIDAY,
    PROPHET_HOLIDAY,
    calendar_features,
    prophet_holidays,
    prophet_holidays_of,
    public_holidays,
)
from models.features import (
    HISTORY_COUNT,
    OriginState,
    feature_names,
    features_at,
    features_from_state,
    make_prediction_frame,
    make_training_frame,
    origin_state,
    origins_before,
)
from models.frames import STEP, SeriesFrame

WEEKLY = np.array([0.7, 0.8, 0.9, 1.0, 1.3, 1.6, 1.1])
HORIZON = 21


def _series(n: int = 4, days: int = 200, seed: int = 3) -> SeriesFrame:
    """Weekly pattern, noise, random closed days; r3 opens late (a ramp-up)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=days, freq="D")
    parts = []
    for i in range(n):
        y = np.round(rng.uniform(10, 60) * WEEKLY[ds.day_of_week] * rng.lognormal(0, 0.2, days))
        keep = rng.uniform(size=days) > 0.05
        if i == 3:
            keep &= np.arange(days) >= 150
        parts.append(pd.DataFrame({c.RESTAURANT_ID: f"r{i}", c.DS: ds[keep], c.Y: y[keep]}))
    return SeriesFrame.from_frame(pd.concat(parts, ignore_index=True))


def _calendar() -> Calendar:
    restaurants = pd.DataFrame(
        {
            c.RESTAURANT_ID: ["r0", "r1", "r2", "r3"],
            c.COUNTRY: ["US", "JP", "US", "DE"],
            c.SUBDIVISION: ["NY", None, None, "BE"],
            "genre": ["bar", "cafe", "bar", None],
            "seats": [40.0, 20.0, 80.0, 35.0],
        }
    )
    events = pd.DataFrame(
        [
            ("r0", c.EVENT_LOCAL, "Street fair", "2024-05-10", "2024-05-11", -1, 1),
            (None, c.EVENT_HOLIDAY, "Valentine's Day", "2024-02-14", "2024-02-14", 0, 0),
            ("r1", c.EVENT_CLOSURE, "Renovation", "2024-04-01", "2024-04-03", 0, 0),
        ],
        columns=list(c.EVENT_COLUMNS),
    )
    return Calendar(restaurants=restaurants, events=events)


@pytest.fixture(scope="module")
def series() -> SeriesFrame:
    return _series()


@pytest.fixture(scope="module")
def calendar() -> Calendar:
    return _calendar()


def _future(series: SeriesFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    ds = pd.date_range(cutoff + pd.Timedelta(days=1), periods=HORIZON, freq="D")
    ids = series.restaurants
    return pd.DataFrame({c.RESTAURANT_ID: np.repeat(ids, len(ds)), c.DS: np.tile(ds, len(ids))})


# --- leakage ------------------------------------------------------------------------------------


def test_features_ignore_everything_after_the_cutoff(
    series: SeriesFrame, calendar: Calendar
) -> None:
    cutoff = pd.Timestamp("2024-05-15")
    future = _future(series, cutoff)
    full = features_at(series, cutoff, future, calendar)
    truncated = features_at(series.until(cutoff), cutoff, future, calendar)
    pd.testing.assert_frame_equal(full, truncated)

    after = series.data[c.DS] > cutoff
    rng = np.random.default_rng(0)
    data = series.data.copy()
    data.loc[after, c.Y] = rng.uniform(0, 1000, after.sum())
    data = data[~after | (rng.uniform(size=len(data)) > 0.3)]  # and some later days vanish
    perturbed = SeriesFrame.from_frame(data)
    pd.testing.assert_frame_equal(full, features_at(perturbed, cutoff, future, calendar))


def test_training_rows_equal_features_on_the_truncated_series(
    series: SeriesFrame, calendar: Calendar
) -> None:
    origins = origins_before(pd.Timestamp(series.data[c.DS].max()), 14, 140)
    frame = make_training_frame(series, calendar, HORIZON, origins)
    assert set(frame[c.CUTOFF]) == set(origins)
    for origin in origins:
        rows = frame[frame[c.CUTOFF] == origin].reset_index(drop=True)
        assert (rows[c.DS] > origin).all()
        assert (rows[c.DS] <= origin + pd.Timedelta(days=HORIZON)).all()
        again = features_at(
            series.until(origin), origin, rows[[c.RESTAURANT_ID, c.DS, c.Y]], calendar
        )
        pd.testing.assert_frame_equal(rows, again)


def test_perturbing_the_future_changes_no_training_row_of_an_earlier_origin(
    series: SeriesFrame, calendar: Calendar
) -> None:
    origin = pd.Timestamp("2024-04-30")
    before = make_training_frame(series, calendar, HORIZON, [origin])
    data = series.data.copy()
    later = data[c.DS] > origin
    data.loc[later, c.Y] = data.loc[later, c.Y] * 3 + 7  # targets change, features must not
    after = make_training_frame(SeriesFrame.from_frame(data), calendar, HORIZON, [origin])
    names = feature_names(before)
    pd.testing.assert_frame_equal(before[names], after[names])
    assert not np.allclose(before[c.Y], after[c.Y])


def test_training_rows_need_history_at_their_origin(
    series: SeriesFrame, calendar: Calendar
) -> None:
    frame = make_training_frame(series, calendar, HORIZON, [pd.Timestamp("2024-05-01")])
    assert "r3" not in set(frame[c.RESTAURANT_ID])  # r3 opens on day 150 (2024-05-30)
    assert (frame[HISTORY_COUNT] > 0).all()
    assert frame[STEP].between(1, HORIZON).all()


# --- history features ---------------------------------------------------------------------------


def test_history_features_by_hand() -> None:
    ds = pd.date_range("2024-01-01", periods=28, freq="D")  # Monday .. Sunday, four weeks
    y = np.arange(1.0, 29.0)
    keep = np.ones(28, dtype=bool)
    keep[[21, 26]] = False  # Monday 2024-01-22 and Saturday 2024-01-27 closed
    data = pd.DataFrame({c.RESTAURANT_ID: "a", c.DS: ds[keep], c.Y: y[keep]})
    series = SeriesFrame.from_frame(data)
    cutoff = pd.Timestamp("2024-01-28")
    future = pd.DataFrame(
        {c.RESTAURANT_ID: "a", c.DS: pd.to_datetime(["2024-01-29", "2024-02-03", "2024-02-09"])}
    )
    got = features_at(series, cutoff, future)
    log = np.log1p
    assert got[STEP].tolist() == [1, 6, 12]
    assert got["weekday"].tolist() == [0, 5, 4]
    # Monday: last observed Monday is 2024-01-15 (y=15); Mondays 1, 8, 15 (22 closed).
    assert got.loc[0, "sw_last"] == pytest.approx(log(15.0))
    assert got.loc[0, "sw_mean_4"] == pytest.approx(np.mean(log([1.0, 8.0, 15.0])))
    assert got.loc[0, "sw_count_8"] == 3
    # Saturday: 6, 13, 20 (27 closed).
    assert got.loc[1, "sw_last"] == pytest.approx(log(20.0))
    assert got.loc[1, "sw_median_8"] == pytest.approx(log(13.0))
    last7 = [23.0, 24.0, 25.0, 26.0, 28.0]  # 2024-01-22..28 without the closed days
    assert got.loc[0, "mean_7"] == pytest.approx(np.mean(log(last7)))
    assert got.loc[0, "median_7"] == pytest.approx(np.median(log(last7)))
    assert got.loc[0, "count_28"] == 26
    assert got.loc[0, "last_value"] == pytest.approx(log(28.0))
    assert got.loc[0, "days_since_last"] == 0
    assert got.loc[0, "history_days"] == 28
    assert got.loc[0, HISTORY_COUNT] == 26


def test_stale_and_unknown_restaurants() -> None:
    ds = pd.date_range("2024-01-01", periods=30, freq="D")
    series = SeriesFrame.from_frame(pd.DataFrame({c.RESTAURANT_ID: "old", c.DS: ds, c.Y: 5.0}))
    cutoff = pd.Timestamp("2024-03-30")
    future = pd.DataFrame(
        {c.RESTAURANT_ID: ["old", "new"], c.DS: [cutoff + pd.Timedelta(days=1)] * 2}
    )
    got = features_at(series, cutoff, future)
    assert got.loc[0, "days_since_last"] == (cutoff - ds[-1]).days
    assert np.isnan(got.loc[0, "mean_28"])  # nothing observed in the last 28 days
    assert got.loc[0, "sw_last"] == pytest.approx(np.log1p(5.0))
    assert got.loc[1, HISTORY_COUNT] == 0
    assert np.isnan(got.loc[1, "mean_91"])


def test_prediction_frame_uses_the_series_cutoff(series: SeriesFrame, calendar: Calendar) -> None:
    cutoff = pd.Timestamp(series.data[c.DS].max())
    future = _future(series, cutoff)
    frame = make_prediction_frame(series, calendar, future)
    assert (frame[c.CUTOFF] == cutoff).all()
    assert frame[STEP].tolist() == list(range(1, HORIZON + 1)) * len(series.restaurants)
    pd.testing.assert_frame_equal(frame, features_at(series, cutoff, future, calendar))


def test_origin_state_round_trips_through_a_dict(series: SeriesFrame, calendar: Calendar) -> None:
    cutoff = pd.Timestamp("2024-06-01")
    state = origin_state(series, cutoff)
    again = OriginState.from_dict(state.to_dict())
    future = _future(series, cutoff)
    pd.testing.assert_frame_equal(
        features_from_state(state, future, calendar), features_from_state(again, future, calendar)
    )


def test_static_features_are_codes_and_numbers(series: SeriesFrame, calendar: Calendar) -> None:
    cutoff = pd.Timestamp("2024-06-01")
    frame = features_at(series, cutoff, _future(series, cutoff), calendar)
    by_id = frame.groupby(c.RESTAURANT_ID).first()
    assert by_id["static_genre"][["r0", "r1", "r2"]].tolist() == [0, 1, 0]  # bar, cafe, bar
    assert np.isnan(by_id["static_genre"]["r3"])
    assert by_id["static_seats"]["r2"] == 80
    assert "static_subdivision" not in frame.columns


# --- calendar features --------------------------------------------------------------------------


def _keys(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {c.RESTAURANT_ID: [r for r, _ in rows], c.DS: pd.to_datetime([d for _, d in rows])}
    )


def test_us_independence_day(calendar: Calendar) -> None:
    keys = _keys([("r0", "2025-07-03"), ("r0", "2025-07-04"), ("r0", "2025-07-06")])
    got = calendar_features(keys, calendar)
    assert got[IS_HOLIDAY].tolist() == [0, 1, 0]
    assert got[DAYS_TO_HOLIDAY].tolist() == [1, 0, 14]  # next: Labor Day, far away (capped)
    assert got[DAYS_SINCE_HOLIDAY].tolist()[1:] == [0, 2]


def test_japanese_holidays(calendar: Calendar) -> None:
    keys = _keys([("r1", "2025-05-05"), ("r1", "2025-05-06"), ("r1", "2025-05-07"),
                  ("r1", "2016-03-21"), ("r0", "2025-05-05")])  # fmt: skip
    got = calendar_features(keys, calendar)
    # Children's Day, its substitute holiday, a working day; 2016-03-21 substitute (Vernal
    # Equinox on a Sunday); the same date in New York is no holiday.
    assert got[IS_HOLIDAY].tolist() == [1, 1, 0, 1, 0]
    assert got.loc[2, DAYS_SINCE_HOLIDAY] == 1


def test_calendar_holidays_events_and_closures(calendar: Calendar) -> None:
    keys = _keys([
        ("r0", "2024-02-14"), ("r2", "2024-02-14"),  # global calendar holiday
        ("r0", "2024-05-08"), ("r0", "2024-05-09"), ("r0", "2024-05-10"), ("r0", "2024-05-12"),
        ("r0", "2024-05-13"), ("r2", "2024-05-10"),  # r0's event, window -1/+1
        ("r1", "2024-03-31"), ("r1", "2024-04-02"), ("r1", "2024-04-04"), ("r0", "2024-04-02"),
    ])  # fmt: skip
    got = calendar_features(keys, calendar)
    assert got.loc[:1, IS_HOLIDAY].tolist() == [1, 1]
    assert got.loc[2:7, IN_EVENT].tolist() == [0, 1, 1, 1, 0, 0]
    assert got.loc[2:7, DAYS_TO_EVENT].tolist() == [2, 1, 0, 14, 14, 14]
    assert got.loc[2:7, DAYS_SINCE_EVENT].tolist() == [14, 14, 14, 1, 2, 14]
    assert got.loc[8:, IS_CLOSED].tolist() == [0, 1, 0, 0]


def test_prophet_holidays_of_many_restaurants(calendar: Calendar) -> None:
    """One call for several restaurants (shared groups) gives each its own frame from its own
    start: expected rows by hand from the fixture calendar and the US holidays of 2024."""
    end = pd.Timestamp("2024-12-31")
    frames = prophet_holidays_of(
        calendar,
        {
            "r0": pd.Timestamp("2024-05-11"),
            "r2": pd.Timestamp("2024-01-01"),
            "zz": pd.Timestamp("2024-02-01"),
        },
        end,
    )
    r0 = frames["r0"].set_index(c.DS)
    assert r0.index.min() == pd.Timestamp("2024-05-11")  # nothing before its start
    fair = frames["r0"][frames["r0"][PROPHET_HOLIDAY] == "Street fair"]
    assert fair[c.DS].tolist() == [pd.Timestamp("2024-05-11")]  # 05-10 is before the start
    assert r0.loc["2024-07-04", PROPHET_HOLIDAY] == "Independence Day"
    assert "Valentine's Day" not in set(r0[PROPHET_HOLIDAY])
    r2 = frames["r2"].set_index(c.DS)
    assert r2.loc["2024-01-01", PROPHET_HOLIDAY] == "New Year's Day"
    assert r2.loc["2024-02-14", PROPHET_HOLIDAY] == "Valentine's Day"
    assert "Street fair" not in set(r2[PROPHET_HOLIDAY])  # r0's own event only
    # not in the calendar: no public holidays, only the global event
    assert frames["zz"][PROPHET_HOLIDAY].tolist() == ["Valentine's Day"]


def test_unknown_country_and_subdivision() -> None:
    days, names = public_holidays("ZZ", None, 2024, 2025)
    assert len(days) == 0 and names == ()
    fallback, _ = public_holidays("US", "XX", 2025, 2025)
    assert np.array_equal(fallback, public_holidays("US", None, 2025, 2025)[0])
    assert len(fallback) > 5


def test_prophet_holidays_frame(calendar: Calendar) -> None:
    frame = prophet_holidays(calendar, "r0", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))
    assert list(frame.columns) == [PROPHET_HOLIDAY, c.DS, c.LOWER_WINDOW, c.UPPER_WINDOW]
    by_day = frame.set_index(c.DS)
    assert by_day.loc["2024-07-04", PROPHET_HOLIDAY] == "Independence Day"
    assert by_day.loc["2024-02-14", PROPHET_HOLIDAY] == "Valentine's Day"
    fair = frame[frame[PROPHET_HOLIDAY] == "Street fair"]
    assert fair[c.DS].tolist() == list(pd.to_datetime(["2024-05-10", "2024-05-11"]))
    assert fair[c.LOWER_WINDOW].tolist() == [-1, -1] and fair[c.UPPER_WINDOW].tolist() == [1, 1]
    assert (frame[c.DS].between("2024-01-01", "2024-12-31")).all()
    closed = prophet_holidays(
        calendar, "r1", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")
    )
    assert "Renovation" not in set(closed[PROPHET_HOLIDAY])  # closures are not holidays
    assert "Street fair" not in set(closed[PROPHET_HOLIDAY])  # r0's event only


def test_closures_of_a_fleet_by_hand() -> None:
    """``Calendar.closures``: own closures (inclusive ranges, overlaps once), global ones for
    every restaurant asked for, nothing of other kinds or other restaurants, an inverted range
    closing nothing; the same days as ``closed_days`` per restaurant."""
    ev = [
        ("r1", c.EVENT_CLOSURE, "refit", "2024-01-02", "2024-01-04"),
        ("r1", c.EVENT_CLOSURE, "again", "2024-01-03", "2024-01-03"),  # inside the first
        (None, c.EVENT_CLOSURE, "xmas", "2024-12-25", "2024-12-25"),
        ("r2", c.EVENT_HOLIDAY, "party", "2024-02-01", "2024-02-01"),
        ("r3", c.EVENT_CLOSURE, "other", "2024-03-01", "2024-03-05"),
        ("r2", c.EVENT_CLOSURE, "typo", "2024-05-02", "2024-05-01"),
    ]
    events = pd.DataFrame(
        [
            {
                c.RESTAURANT_ID: rid,
                c.EVENT_KIND: kind,
                c.NAME: name,
                c.START_DATE: pd.Timestamp(start).date(),
                c.END_DATE: pd.Timestamp(end).date(),
                c.LOWER_WINDOW: 0,
                c.UPPER_WINDOW: 0,
            }
            for rid, kind, name, start, end in ev
        ],
        columns=list(c.EVENT_COLUMNS),
    )
    calendar = Calendar(events=events)
    got = calendar.closures(["r1", "r2"]).sort_values([c.RESTAURANT_ID, c.DS])
    expected = [
        ("r1", "2024-01-02"),
        ("r1", "2024-01-03"),
        ("r1", "2024-01-04"),
        ("r1", "2024-12-25"),
        ("r2", "2024-12-25"),
    ]
    assert [(r, str(d.date())) for r, d in got.itertuples(index=False)] == expected
    assert list(calendar.closed_days("r1").strftime("%m-%d")) == [
        "01-02",
        "01-03",
        "01-04",
        "12-25",
    ]
    assert list(calendar.closed_days("r4").strftime("%m-%d")) == ["12-25"]
    assert Calendar().closures(["r1"]).empty
    assert calendar.closures([]).empty
