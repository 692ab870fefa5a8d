"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import columns as c
from models import metrics as m

Y = np.array([1.0, 2.0, 3.0, 4.0])
F = np.array([2.0, 2.0, 2.0, 2.0])
LOWER = np.array([0.0, 2.0, 3.0, 5.0])
UPPER = np.array([2.0, 3.0, 4.0, 6.0])
RMSLE = math.sqrt((math.log(3 / 2) ** 2 + 0.0 + math.log(3 / 4) ** 2 + math.log(3 / 5) ** 2) / 4)


def test_point_metrics_by_hand() -> None:
    assert m.mae(Y, F) == pytest.approx(1.0)
    assert m.rmse(Y, F) == pytest.approx(math.sqrt(1.5))
    assert m.rmsle(Y, F) == pytest.approx(RMSLE)
    assert m.wape(Y, F) == pytest.approx(0.4)
    assert m.bias(Y, F) == pytest.approx(-0.2)
    assert m.smape(Y, F) == pytest.approx((2 / 3 + 0 + 2 / 5 + 4 / 6) / 4)


def test_rmsle_clips_negative_forecasts_and_smape_zero_over_zero() -> None:
    assert m.rmsle([0.0, 1.0], [-5.0, 1.0]) == pytest.approx(0.0)
    assert m.smape([0.0], [0.0]) == 0.0
    assert math.isnan(m.wape([0.0], [1.0]))


def test_interval_metrics_by_hand() -> None:
    assert m.coverage(Y, LOWER, UPPER) == pytest.approx(0.75)
    assert m.mean_width(LOWER, UPPER) == pytest.approx(1.25)
    # y - lower = 1, 0, 0, -1: 0.1*1 + 0 + 0 + 0.9*1 = 1.0 over 4 rows.
    assert m.pinball(Y, LOWER, 0.1) == pytest.approx(0.25)
    # y - upper = -1, -1, -1, -2: 0.1 * (1 + 1 + 1 + 2) = 0.5 over 4 rows.
    assert m.pinball(Y, UPPER, 0.9) == pytest.approx(0.125)
    # y - f = -1, 0, 1, 2: half the absolute error, 0.5 * 4 / 4.
    assert m.pinball(Y, F, 0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        m.pinball(Y, F, 1.0)


def test_seasonal_scale_skips_closed_days() -> None:
    # y = day number: every lag-7 difference is 7. Day 10 is closed: its pairs simply vanish.
    ds = pd.date_range("2024-01-01", periods=21)
    frame = pd.DataFrame({c.RESTAURANT_ID: "a", c.DS: ds, c.Y: np.arange(1.0, 22.0)})
    frame = frame[frame[c.DS] != ds[9]]
    constant = pd.DataFrame({c.RESTAURANT_ID: "b", c.DS: ds[:5], c.Y: 3.0})
    scale = m.seasonal_scale(pd.concat([frame, constant]))
    assert scale["a"] == pytest.approx(7.0)
    assert math.isnan(scale["b"])
    assert m.mase(Y, F, np.full(4, 7.0)) == pytest.approx(1 / 7)


def _frame() -> pd.DataFrame:
    lo, hi = "yhat_lower_80", "yhat_upper_80"
    one = pd.DataFrame({c.Y: Y, c.YHAT: F, lo: LOWER, hi: UPPER})
    two = pd.DataFrame({c.Y: Y, c.YHAT: Y, lo: Y, hi: Y})
    a = one.assign(**{c.MODEL: "a", c.CUTOFF: ["f1", "f1", "f2", "f2"], c.RESTAURANT_ID: "r"})
    b = two.assign(**{c.MODEL: "b", c.CUTOFF: ["f1", "f1", "f2", "f2"], c.RESTAURANT_ID: "r"})
    return pd.concat([a, b], ignore_index=True)


def test_score_by_model() -> None:
    table = m.score(_frame(), by=[c.MODEL], scale=pd.Series({"r": 7.0})).set_index(c.MODEL)
    assert table.loc["a", "n"] == 4
    assert table.loc["a", "mae"] == pytest.approx(1.0)
    assert table.loc["a", "rmsle"] == pytest.approx(RMSLE)
    assert table.loc["a", "wape"] == pytest.approx(0.4)
    assert table.loc["a", "bias"] == pytest.approx(-0.2)
    assert table.loc["a", "mase"] == pytest.approx(1 / 7)
    assert table.loc["a", "coverage_80"] == pytest.approx(0.75)
    assert table.loc["a", "width_80"] == pytest.approx(1.25)
    # The 80% bounds are the 10% and 90% quantiles (see test_interval_metrics_by_hand).
    assert table.loc["a", "pinball_10"] == pytest.approx(0.25)
    assert table.loc["a", "pinball_50"] == pytest.approx(0.5)
    assert table.loc["a", "pinball_90"] == pytest.approx(0.125)
    assert table.loc["b", "pinball_10"] == table.loc["b", "pinball_90"] == 0.0
    assert table.loc["b", "mae"] == 0.0
    assert table.loc["b", "coverage_80"] == 1.0
    assert "coverage_95" not in table.columns  # no 95% columns in the frame


def test_score_by_model_and_fold_adds_overall_rows() -> None:
    table = m.score(_frame(), by=[c.MODEL, c.CUTOFF])
    assert len(table) == 6
    fold = table[(table[c.MODEL] == "a") & (table[c.CUTOFF] == "f1")].iloc[0]
    assert fold["mae"] == pytest.approx(0.5)  # |1-2|, |2-2|
    assert fold["wape"] == pytest.approx(1 / 3)
    overall = table[(table[c.MODEL] == "a") & (table[c.CUTOFF] == m.OVERALL)].iloc[0]
    assert overall["n"] == 4
    assert overall["mae"] == pytest.approx(1.0)
    assert math.isnan(overall["mase"])


def test_score_without_groups_is_one_overall_row() -> None:
    table = m.score(_frame(), by=[])
    assert len(table) == 1
    assert table["group"].item() == m.OVERALL
    assert table["n"].item() == 8
    assert table["mae"].item() == pytest.approx(0.5)
