"""The in-process Prophet MAP solver (models/prophet_map.py) against cmdstan, Prophet's own.

The objective here is written out again from Prophet's Stan program (prophet/stan_model/
prophet.stan, prophet 1.1): the trend built as ``linear_trend`` builds it (the changepoint
indicator matrix ``A``, ``(k + A delta) t + (m + A(-t_change delta))``), the priors term by term,
so it does not share a line with the code under test. Each fit is checked three ways: its
objective is cmdstan's or lower, it satisfies the optimality (KKT) conditions of that objective,
and its forecasts agree with cmdstan's within the stated tolerance.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models import prophet_map
from models.prophet_model import _fit_prophet, prophet_yhat, silence_prophet

pytestmark = pytest.mark.filterwarnings("ignore")  # Prophet's own deprecation warnings

# Forecasts (log1p scale, where Flux fits) agree with cmdstan's within this: cmdstan's L-BFGS
# stops at a relative tolerance, so its optimum is a little off the exact one.
FORECAST_ATOL = 0.02


def stan_objective(data: dict[str, Any], params: dict[str, Any]) -> float:
    """-log posterior of prophet.stan (linear trend, additive terms), constants dropped."""
    t = np.asarray(data["t"], dtype=float)
    y = np.asarray(data["y"], dtype=float)
    t_change = np.asarray(data["t_change"], dtype=float)
    x = np.asarray(data["X"], dtype=float)
    k = float(np.ravel(params["k"])[0])
    m = float(np.ravel(params["m"])[0])
    sigma = float(np.ravel(params["sigma_obs"])[0])
    delta = np.ravel(params["delta"]).astype(float)
    beta = np.ravel(params["beta"]).astype(float)
    a = np.zeros((len(t), len(t_change)))
    for i, ti in enumerate(t):  # get_changepoint_matrix
        for j, tc in enumerate(t_change):
            a[i, j] = 1.0 if ti >= tc else 0.0
    trend = (k + a @ delta) * t + (m + a @ (-t_change * delta))
    mu = trend + (x * np.asarray(data["s_a"], dtype=float)) @ beta
    sigmas = np.asarray(data["sigmas"], dtype=float)
    minus_log = (
        0.5 * (k / 5) ** 2
        + 0.5 * (m / 5) ** 2
        + np.sum(np.abs(delta)) / float(data["tau"])
        + 0.5 * (sigma / 0.5) ** 2
        + np.sum(0.5 * (beta / sigmas) ** 2)
        + len(y) * np.log(sigma)
        + np.sum((y - mu) ** 2) / (2 * sigma**2)
    )
    return float(minus_log)


def _series(n: int, seed: int) -> pd.DataFrame:
    """A restaurant-like day series: weekend lift, a slow drift, noise, a few closed days."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2016-01-04", periods=n, freq="D")
    dow = np.asarray(ds.day_of_week)
    y = 40 + 12 * (dow >= 4) + 0.03 * np.arange(n) + 4 * np.sin(np.arange(n) / 40)
    y = np.maximum(y + rng.normal(0, 4, n), 0)
    y[rng.random(n) < 0.02] = 0
    return pd.DataFrame({"ds": ds, "y": np.log1p(y)})


def _prophet(n: int, **kwargs: Any) -> Any:
    from prophet import Prophet

    silence_prophet()
    options: dict[str, Any] = {
        "growth": "linear",
        "n_changepoints": min(25, n // 10),
        "yearly_seasonality": n >= 730,
        "weekly_seasonality": True,
        "daily_seasonality": False,
        "uncertainty_samples": 0,
    }
    return Prophet(**(options | kwargs))


HOLIDAYS = pd.DataFrame(
    {"holiday": "closed", "ds": pd.to_datetime(["2016-12-25", "2017-12-25", "2016-01-01"])}
)

CASES = [  # (rows, seed, extra Prophet options): Newton's path (< 100 rows) and L-BFGS's
    (30, 1, {}),
    (120, 2, {}),
    (400, 3, {"holidays": HOLIDAYS}),
    (800, 4, {"holidays": HOLIDAYS, "changepoint_prior_scale": 0.5}),
]


def _fit_both(n: int, seed: int, options: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    history = _series(n, seed)
    reference, ours = _prophet(n, **options), _prophet(n, **options)
    _fit_prophet(reference, history, 0, "cmdstan")
    _fit_prophet(ours, history, 0, "map")
    data = dataclasses.asdict(_prophet(n, **options).preprocess(history))
    return reference, ours, data


@pytest.mark.parametrize(("n", "seed", "options"), CASES)
def test_the_optimum_is_cmdstans_or_lower_and_forecasts_agree(
    n: int, seed: int, options: dict[str, Any]
) -> None:
    reference, ours, data = _fit_both(n, seed, options)
    f_reference = stan_objective(data, reference.params)
    f_ours = stan_objective(data, ours.params)
    assert f_ours <= f_reference + 1e-9 * abs(f_reference)
    # lp__ is cmdstan's log density at the optimum, and the solver reports its own the same way
    assert float(np.ravel(ours.params["lp__"])[0]) == pytest.approx(-f_ours, rel=1e-12)
    future = pd.Series(pd.date_range(history_end(ours), periods=28, freq="D"))
    for flat in (True, False):
        np.testing.assert_allclose(
            prophet_yhat(ours, future, flat_trend=flat),
            prophet_yhat(reference, future, flat_trend=flat),
            rtol=0,
            atol=FORECAST_ATOL,
        )


def history_end(model: Any) -> pd.Timestamp:
    return pd.Timestamp(model.history["ds"].max()) + pd.Timedelta(days=1)


@pytest.mark.parametrize(("n", "seed", "options"), CASES)
def test_the_solution_meets_the_optimality_conditions(
    n: int, seed: int, options: dict[str, Any]
) -> None:
    """Zero gradient in k, m, beta and sigma; for each changepoint delta, the subgradient of
    |delta| / tau balances the smooth part (|g| <= 1/tau at zero, g = -sign/tau elsewhere).
    Gradients by central differences of the hand-written objective."""
    _, ours, data = _fit_both(n, seed, options)
    params = {name: np.ravel(value).astype(float) for name, value in ours.params.items()}
    tau = float(data["tau"])

    def smooth_part(p: dict[str, np.ndarray]) -> float:
        return stan_objective(data, p) - float(np.sum(np.abs(p["delta"]))) / tau

    def gradient(name: str, index: int) -> float:
        step = 1e-6 * max(1.0, abs(params[name][index]))
        up = {k: v.copy() for k, v in params.items()}
        down = {k: v.copy() for k, v in params.items()}
        up[name][index] += step
        down[name][index] -= step
        return (smooth_part(up) - smooth_part(down)) / (2 * step)

    scale = len(data["y"])  # gradients of a sum over T rows: compare relative to T
    for name in ("k", "m", "sigma_obs", "beta"):
        for i in range(len(params[name])):
            assert abs(gradient(name, i)) <= 1e-4 * scale, (name, i)
    for i, value in enumerate(params["delta"]):
        g = gradient("delta", i)
        if value == 0.0:
            assert abs(g) <= 1 / tau * (1 + 1e-4) + 1e-4 * scale, (i, g)
        else:
            assert g == pytest.approx(-np.sign(value) / tau, abs=1e-4 * scale), (i, g)
    # the L1 prior puts some changepoints at exactly zero, which cmdstan's L-BFGS only nears
    assert np.any(params["delta"] == 0.0)


def test_models_it_does_not_take_go_to_cmdstan_unchanged() -> None:
    """Multiplicative terms and logistic growth are not its problem: the backend runs cmdstan
    for them, with the same parameters as a plain Prophet fit."""
    history = _series(120, 5)
    plain = _prophet(120, seasonality_mode="multiplicative")
    plain.fit(history, seed=0)
    routed = _prophet(120, seasonality_mode="multiplicative")
    _fit_prophet(routed, history, 0, "map")
    for name, value in plain.params.items():
        np.testing.assert_array_equal(value, routed.params[name])
    data = dataclasses.asdict(_prophet(120).preprocess(history))
    assert prophet_map.supports(data)
    assert not prophet_map.supports(data | {"trend_indicator": 1})
    assert not prophet_map.supports(data | {"s_m": np.ones_like(data["s_m"])})
    with pytest.raises(ValueError, match="only linear growth"):
        prophet_map.solve(data | {"trend_indicator": 2}, {"sigma_obs": 1.0})


@pytest.mark.parametrize(
    "failure",
    [
        np.linalg.LinAlgError("not positive definite"),
        RuntimeError("nnls: too many iterations"),
        None,  # a non-finite result
    ],
)
def test_a_solve_that_fails_falls_back_to_cmdstan(
    monkeypatch: pytest.MonkeyPatch, failure: Exception | None
) -> None:
    history = _series(120, 7)
    plain = _prophet(120)
    _fit_prophet(plain, history, 0, "cmdstan")

    real_solve = prophet_map.solve

    def broken(data: Any, init: Any) -> Any:
        if failure is not None:
            raise failure
        params = real_solve(data, init)
        params["k"] = np.full_like(params["k"], np.nan)
        return params

    monkeypatch.setattr(prophet_map, "solve", broken)
    routed = _prophet(120)
    _fit_prophet(routed, history, 0, "map")
    for name, value in plain.params.items():
        np.testing.assert_array_equal(value, routed.params[name])


def test_a_fit_serialises_and_reloads_as_prophet_json() -> None:
    """The artefact stays Prophet's own JSON: a map fit round-trips through model_to_json."""
    from prophet.serialize import model_from_json, model_to_json

    history = _series(120, 6)
    ours = _prophet(120)
    _fit_prophet(ours, history, 0, "map")
    again = model_from_json(model_to_json(ours))
    future = pd.Series(pd.date_range(history_end(ours), periods=14, freq="D"))
    np.testing.assert_array_equal(prophet_yhat(again, future), prophet_yhat(ours, future))
